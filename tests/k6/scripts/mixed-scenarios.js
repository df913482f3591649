// Several scenarios side by side: every k6 executor, start times, an exec function, env and tags.
import http from 'k6/http';

export const options = {
  scenarios: {
    browse: {
      executor: 'constant-arrival-rate', rate: 30, timeUnit: '1s', duration: '2m',
      preAllocatedVUs: 10, maxVUs: 40, exec: 'browse', tags: { journey: 'browse' },
    },
    surge: {
      executor: 'ramping-arrival-rate', startRate: 2, timeUnit: '1s', preAllocatedVUs: 5, maxVUs: 25,
      stages: [{ duration: '30s', target: 20 }, { duration: '1m', target: 20 }, { duration: '30s', target: 0 }],
      startTime: '30s', gracefulStop: '10s',
    },
    steady: { executor: 'constant-vus', vus: 12, duration: '150s', startTime: '15s' },
    climb: {
      executor: 'ramping-vus', startVUs: 0, gracefulRampDown: '5s',
      stages: [{ duration: '1m', target: 15 }, { duration: '1m', target: 0 }],
      env: { MODE: 'climb' },
    },
    each: { executor: 'per-vu-iterations', vus: 10, iterations: 5, maxDuration: '90s', startTime: '1m' },
    volume: { executor: 'shared-iterations', vus: 10, iterations: 300, maxDuration: '3m' },
  },
  thresholds: {
    'http_req_duration{scenario:browse}': ['p(95)<300'],
    'http_req_duration{expected_response:true}': ['p(99)<800'],
    checks: [{ threshold: 'rate>0.95', abortOnFail: true, delayAbortEval: '20s' }],
    iterations: ['count>100'],
    dropped_iterations: ['count<10'],
  },
};

export function browse() {
  http.get('http://localhost:8080/api/products');
}

export default function () {
  http.get('http://localhost:8080/api/services');
}
