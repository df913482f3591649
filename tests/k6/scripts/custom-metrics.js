// Custom metrics, __ENV, setup()/teardown() and other options the suite has no counterpart for,
// in the shape of the team's production-load-test, extreme-spike-test and volume-test.
import http from 'k6/http';
import { check } from 'k6';
import { Rate, Trend } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://localhost:8080';
const TOTAL_VUS = parseInt(__ENV.TOTAL_VUS || '12');

const responseTime = new Trend('response_time');
const surge = new Rate('surge_seen');
const errors = new Rate('errors');

export const options = {
  vus: TOTAL_VUS,
  iterations: parseInt(__ENV.TOTAL_ITERATIONS || '240'),
  userAgent: 'catalogue-volume/2.0',
  hosts: { 'bss.internal': '10.1.2.3' },
  summaryTrendStats: ['avg', 'p(95)', 'p(99.9)', 'count'],
  thresholds: {
    http_req_duration: ['p(95)<2200'],
    http_req_waiting: ['p(95)<1500'],
    response_time: ['p(99)<4000'],
    surge_seen: ['rate<0.5'],
    errors: ['rate<0.04'],
  },
};

export function setup() {
  return { token: http.post(`${BASE_URL}/token`).json('access_token') };
}

export default function (data) {
  const res = http.get(`${BASE_URL}/api/products`, { headers: { Authorization: `Bearer ${data.token}` } });
  responseTime.add(res.timings.duration);
  surge.add(res.timings.duration > 1000);
  errors.add(!check(res, { ok: (r) => r.status === 200 }));
}

export function teardown(data) {
  console.log(`done with ${data.token.length}`);
}
