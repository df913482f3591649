// The k6 side of the --summary-export parity test: two VUs reading the product catalogue of the
// reference server (BASE_URL) for a few seconds, with a bearer token from its token endpoint.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL;

export const options = {
  vus: 2,
  duration: __ENV.DURATION || '3s',
  thresholds: {
    http_req_duration: ['p(95)<500', 'avg<0.0001'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.9'],
  },
};

export function setup() {
  const res = http.post(`${BASE_URL}/realms/bss/protocol/openid-connect/token`, {
    grant_type: 'client_credentials', client_id: 'bss-backend', client_secret: __ENV.CLIENT_SECRET,
  });
  return { token: res.json('access_token') };
}

export default function (data) {
  const res = http.get(`${BASE_URL}/api/products?page=0&size=20`, { headers: { Authorization: `Bearer ${data.token}` } });
  check(res, { 'status is 200': (r) => r.status === 200 });
}
