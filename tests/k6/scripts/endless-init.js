// Never finishes its init code: k6 inspect would run forever without import-k6's time limit.
export const options = { vus: 1, iterations: 1 };
while (true) { /* e.g. a busy wait for a service that never answers */ }
export default function () {}
