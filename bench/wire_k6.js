// k6's side of bench/wire_accuracy.py: a customer mix like loadtests/customers.py CustomerUser's,
// against the reference server, authenticated as the suite is (client credentials at the
// Keycloak-compatible token endpoint, the suite's default client and secret).
//
//   k6 run --vus N --duration 30s --out json=points.json \
//     -e TARGET=http://127.0.0.1:PORT -e THINK_MIN=0.5 -e THINK_MAX=2 bench/wire_k6.js
//
// The token is fetched once in setup() (tokens live 300 s on the reference server; a run is
// shorter). Each VU creates a customer on its first iteration (as the suite's on_start), then
// picks one request per iteration with the suite's weights for these tasks, and sleeps a uniform
// THINK_MIN..THINK_MAX s. Requests are tagged with the suite's path templates (`name`), so that
// the pairing in wire_accuracy.py reads k6's points and the suite's log alike.
import http from 'k6/http';
import { sleep } from 'k6';

const TARGET = __ENV.TARGET;
const TOKEN_PATH = '/realms/bss/protocol/openid-connect/token';
const CLIENT_ID = __ENV.BSS_CLIENT_ID || 'bss-backend';
const CLIENT_SECRET = __ENV.BSS_CLIENT_SECRET || 'bss-secret';
const THINK_MIN = parseFloat(__ENV.THINK_MIN || '0.5');
const THINK_MAX = parseFloat(__ENV.THINK_MAX || '2');
const RUN = __ENV.RUN_ID || 'k6';
const BASE = '/api/v1/customers';
const STATUSES = ['ACTIVE', 'SUSPENDED', 'INACTIVE'];

export function setup() {
  const res = http.post(`${TARGET}${TOKEN_PATH}`, {
    grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET,
  });
  if (res.status !== 200) {
    throw new Error(`token request answered HTTP ${res.status}`);
  }
  return { token: res.json('access_token') };
}

let ids = [];
let serial = 0;

function params(token, name) {
  return {
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json',
      Accept: 'application/json', 'X-Load-Test-Run-Id': RUN },
    tags: { name },
  };
}

function page(extra) {
  const p = Math.random() < 0.7 ? 0 : 1 + Math.floor(Math.random() * 3);
  return `page=${p}&size=20${extra ? '&' + extra : ''}`;
}

function customer() {
  serial += 1;
  const tag = `${__VU}x${serial}`;
  return { firstName: `Lt${RUN}`, lastName: `Vu${tag}`, email: `lt-${RUN}-${tag}@example.com`,
    phone: '+48 600 100 200' };
}

function create(token) {
  const res = http.post(`${TARGET}${BASE}`, JSON.stringify(customer()), params(token, BASE));
  if (res.status === 201) {
    ids.push(res.json('id'));
  }
}

const TASKS = [  // [weight, function]: loadtests/customers.py's weights for these tasks
  [10, (t) => {
    if (ids.length) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      http.get(`${TARGET}${BASE}/${id}`, params(t, `${BASE}/{id}`));
    }
  }],
  [6, (t) => {
    const filter = ['', '', '', 'status=ACTIVE', 'status=suspended', `search=Lt${RUN}`][Math.floor(Math.random() * 6)];
    http.get(`${TARGET}${BASE}?${page(filter)}`, params(t, BASE));
  }],
  [4, (t) => http.get(`${TARGET}${BASE}/search?${page(`searchTerm=Lt${RUN}`)}`, params(t, `${BASE}/search`))],
  [2, (t) => {
    const status = STATUSES[Math.floor(Math.random() * STATUSES.length)];
    http.get(`${TARGET}${BASE}/by-status/${status}?${page('')}`, params(t, `${BASE}/by-status/{status}`));
  }],
  [3, (t) => create(t)],
  [2, (t) => {
    if (ids.length) {
      const at = Math.floor(Math.random() * ids.length);
      const body = { ...customer(), customerId: ids[at] };
      http.put(`${TARGET}${BASE}/${ids[at]}`, JSON.stringify(body), params(t, `${BASE}/{id}`));
    }
  }],
];
const TOTAL = TASKS.reduce((sum, [w]) => sum + w, 0);

export default function (data) {
  if (serial === 0) {
    create(data.token);
  } else {
    let pick = Math.random() * TOTAL;
    for (const [weight, run] of TASKS) {
      pick -= weight;
      if (pick < 0) {
        run(data.token);
        break;
      }
    }
  }
  sleep(THINK_MIN + Math.random() * (THINK_MAX - THINK_MIN));
}
