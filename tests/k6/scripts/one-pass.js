// A smoke check in the shape of the team's smoke-test: one VU, one iteration.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  vus: 1,
  iterations: 1,
  thresholds: {
    http_req_duration: ['p(95)<250'],
    http_req_failed: ['rate<0.02'],
  },
};

export default function () {
  check(http.get('http://localhost:8080/actuator/health'), { up: (r) => r.json('status') === 'UP' });
}
