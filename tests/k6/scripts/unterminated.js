// Does not parse, as four of the team's scripts do not: a template string whose ${...} holds an
// unterminated string literal. k6 inspect exits 107 with "Unexpected token ILLEGAL".
import http from 'k6/http';

export const options = {
  stages: [{ duration: '10m', target: 100 }],
};

export default function () {
  const res = http.get('http://localhost:8080/api/products');
  console.log(`status ${"code}: ${res.status}`);
}
