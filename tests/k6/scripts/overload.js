// Stepped overload in the shape of the team's stress-test: past 100 VUs, so its profile is guarded.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Rate } from 'k6/metrics';

const errorRate = new Rate('errors');

export const options = {
  stages: [
    { duration: '2m', target: 40 },
    { duration: '2m', target: 40 },
    { duration: '1m', target: 150 },
    { duration: '4m', target: 150 },
    { duration: '1m', target: 0 },
  ],
  thresholds: {
    http_req_duration: ['p(95)<1200'],
    http_req_failed: ['rate<0.12'],
    errors: ['rate<0.2'],
  },
};

export default function () {
  errorRate.add(!check(http.get('http://localhost:8080/api/products'), { ok: (r) => r.status === 200 }));
  sleep(0.5);
}
