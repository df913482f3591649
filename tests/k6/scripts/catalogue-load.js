// A ramping-VU load test in the shape of the backend team's api-load-test: stages and thresholds,
// a custom Rate of failed checks. Only its options matter to import-k6; the requests are an example.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Rate } from 'k6/metrics';

const failedChecks = new Rate('errors');

export const options = {
  stages: [
    { duration: '1m', target: 8 },
    { duration: '3m', target: 8 },
    { duration: '90s', target: 16 },
    { duration: '3m', target: 16 },
    { duration: '30s', target: 0 },
  ],
  thresholds: {
    http_req_duration: ['p(95)<450', 'p(99)<900'],
    'http_req_duration{name:GET /api/v1/customers}': ['p(90)<400'],
    http_req_failed: ['rate<0.04', { threshold: 'rate<0.3', abortOnFail: true, delayAbortEval: '45s' }],
    errors: ['rate<0.08'],
  },
};

export default function () {
  const res = http.get('http://localhost:8080/api/v1/customers', { tags: { name: 'GET /api/v1/customers' } });
  failedChecks.add(!check(res, { 'status is 200': (r) => r.status === 200 }));
  sleep(1);
}
