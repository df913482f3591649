"""Capacity of the reference server: ~200 mixed CRUD requests/s on ONE core, p95 < 50 ms?

Starts the reference server pinned to core 0 (``taskset -c 0`` when available), pins this driver
to the other cores, and drives an open-loop (constant arrival rate) mixed CRUD workload over
HTTP for ``--duration`` seconds. Latency is measured from each request's *scheduled* start, so a
server that falls behind is not flattered (no coordinated omission).

    .venv/bin/python bench/reference_server.py [--rate 200] [--duration 30] [--json]

Prints the achieved rate, p50/p95/p99 latency, errors, and whether p95 < 50 ms; exit code 0
when it holds, 1 when not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from bss_reference.process import ReferenceServer  # noqa: E402

P95_BUDGET_MS = 50.0
WARMUP_CUSTOMERS = 100
# (operation, weight): a mixed CRUD workload over customers, orders, payments and products.
MIX = [
    ("create_customer", 12), ("get_customer", 22), ("list_customers", 8), ("update_customer", 8),
    ("change_customer_status", 5), ("create_order", 10), ("get_order", 12),
    ("list_orders_by_customer", 8), ("change_order_status", 5), ("list_products", 5),
    ("create_payment", 5),
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux), 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def server_side(text: str) -> dict:
    """Share of /api requests the server itself answered within 10 / 25 / 50 ms (its histogram)."""
    buckets: dict[str, float] = {}
    total = 0.0
    for line in text.splitlines():
        if line.startswith("http_server_requests_seconds_bucket{") and 'uri="/api/' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[le] = buckets.get(le, 0.0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith("http_server_requests_seconds_count{") and 'uri="/api/' in line:
            total += float(line.rsplit(" ", 1)[1])
    return {f"within_{int(float(le) * 1000)}ms": round(buckets.get(le, 0) / total, 4) if total else None
            for le in ("0.01", "0.025", "0.05")}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class Resp:
    __slots__ = ("status_code", "body")

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body

    def json(self):
        return json.loads(self.body)


class RawClient:
    """A minimal keep-alive HTTP/1.1 client over asyncio streams: the driver must cost far less
    CPU than the server it measures (httpx costs a few ms per request on a slow core)."""

    def __init__(self, url: str, token: str) -> None:
        hostport = url.split("://", 1)[1]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.auth = f"Authorization: Bearer {token}\r\n"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, path: str, params: dict | None = None,
                      json_body: object | None = None) -> Resp:
        if params:
            path += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        body = json.dumps(json_body).encode() if json_body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        payload = head.encode() + body
        while True:
            reused = bool(self.idle)
            conn = self.idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            try:
                writer.write(payload)
                header = await reader.readuntil(b"\r\n\r\n")
                break
            except (OSError, asyncio.IncompleteReadError):
                writer.close()
                if not reused:  # a fresh connection failed: a real error
                    raise
                # the server closed an idle keep-alive connection (uvicorn: after 5 s): retry
        status = int(header[9:12])
        length = 0
        for line in header.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await reader.readexactly(length) if length else b""
        self.idle.append(conn)
        return Resp(status, data)

    def get(self, path, params=None):
        return self.request("GET", path, params)

    def post(self, path, json=None):
        return self.request("POST", path, None, json)

    def put(self, path, json=None):
        return self.request("PUT", path, None, json)

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


class Workload:
    def __init__(self, client: RawClient) -> None:
        self.c = client
        self.customers: list[dict] = []
        self.orders: list[dict] = []
        self.n = 0

    def _uniq(self) -> str:
        self.n += 1
        return f"{os.getpid()}-{self.n}-{random.randrange(10**6)}"

    async def create_customer(self) -> Resp:
        r = await self.c.post("/api/v1/customers", json={
            "firstName": "Bench", "lastName": "User", "email": f"b{self._uniq()}@example.com",
            "phone": "+48 600 100 200"})
        if r.status_code == 201:
            self.customers.append(r.json())
        return r

    async def get_customer(self) -> Resp:
        return await self.c.get(f"/api/v1/customers/{random.choice(self.customers)['id']}")

    async def list_customers(self) -> Resp:
        return await self.c.get("/api/v1/customers", params={"page": random.randrange(3), "size": 20})

    async def update_customer(self) -> Resp:
        cust = random.choice(self.customers)
        return await self.c.put(f"/api/v1/customers/{cust['id']}", json={
            "customerId": cust["id"], "firstName": "Bench", "lastName": "Updated",
            "email": f"u{self._uniq()}@example.com"})

    async def change_customer_status(self) -> Resp:
        cust = random.choice(self.customers)
        r = await self.c.get(f"/api/v1/customers/{cust['id']}")
        new = "SUSPENDED" if r.json()["status"] == "ACTIVE" else "ACTIVE"
        return await self.c.put(f"/api/v1/customers/{cust['id']}/status",
                                json={"customerId": cust["id"], "status": new})

    async def create_order(self) -> Resp:
        r = await self.c.post("/api/v1/orders", json={
            "orderNumber": f"BENCH-{self._uniq()}", "customerId": random.choice(self.customers)["id"],
            "orderType": "NEW", "status": "DRAFT", "priority": "NORMAL", "totalAmount": 99.9})
        if r.status_code == 201:
            self.orders.append(r.json())
        return r

    async def get_order(self) -> Resp:
        if not self.orders:
            return await self.create_order()
        return await self.c.get(f"/api/v1/orders/{random.choice(self.orders)['id']}")

    async def list_orders_by_customer(self) -> Resp:
        cid = random.choice(self.orders)["customerId"] if self.orders else self.customers[0]["id"]
        return await self.c.get(f"/api/v1/orders/by-customer/{cid}")

    async def change_order_status(self) -> Resp:
        if not self.orders:
            return await self.create_order()
        order = self.orders.pop(random.randrange(len(self.orders)))
        r = await self.c.put(f"/api/v1/orders/{order['id']}/status",
                             json={"id": order["id"], "status": "PENDING", "version": order["version"]})
        return r

    async def list_products(self) -> Resp:
        return await self.c.get("/api/products", params={"size": 20})

    async def create_payment(self) -> Resp:
        return await self.c.post("/api/v1/payments", json={
            "customerId": random.choice(self.customers)["id"], "amount": 10, "currency": "PLN",
            "paymentMethod": "CARD", "paymentDate": "2025-01-01"})


async def drive(url: str, token: str, rate: float, duration: float) -> dict:
    client = RawClient(url, token)
    try:
        work = Workload(client)
        for _ in range(WARMUP_CUSTOMERS):
            await work.create_customer()
        for _ in range(20):
            await work.create_order()
        names = [n for n, w in MIX for _ in range(w)]
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        errors = 0

        async def one(scheduled: float, name: str) -> None:
            nonlocal errors
            try:
                r = await getattr(work, name)()
                code = str(r.status_code)
                if r.status_code >= 400:
                    errors += 1
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                code = type(exc).__name__
                errors += 1
            latencies.append(time.perf_counter() - scheduled)
            statuses[code] = statuses.get(code, 0) + 1

        tasks = []
        interval = 1.0 / rate
        start = time.perf_counter()
        i = 0
        while True:
            scheduled = start + i * interval
            if scheduled - start >= duration:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled, random.choice(names))))
            i += 1
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    finally:
        await client.close()
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"requests": len(ms), "elapsed_s": round(elapsed, 2),
            "achieved_rps": round(len(ms) / elapsed, 1), "target_rps": rate,
            "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2),
            "max_ms": round(ms[-1], 2), "errors": errors, "statuses": statuses}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="Target requests/s (default 200).")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds of load (default 30).")
    parser.add_argument("--server-core", type=int, default=0, help="Core for the server (default 0).")
    parser.add_argument("--db", default=":memory:", help="Server database (default :memory:).")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args()

    ncpu = os.cpu_count() or 1
    prefix: list[str] = []
    if shutil.which("taskset") and ncpu > 1:
        prefix = ["taskset", "-c", str(args.server_core)]
        others = set(range(ncpu)) - {args.server_core}
        os.sched_setaffinity(0, others)
    with ReferenceServer(db=args.db, command_prefix=prefix) as server:
        token = server.token("bss-loadtest-01")
        cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
        result = asyncio.run(drive(server.url, token, args.rate, args.duration))
        result["server_cpu_percent"] = round(
            100 * (cpu_seconds(server.pid) - cpu0) / (time.perf_counter() - t0), 1)
        result["server_side_metrics"] = server_side(server.metrics_text())
    result.update(date=time.strftime("%Y-%m-%d"), nproc=ncpu, cpu=cpu_model(),
                  server_pinned=" ".join(prefix) or "no (taskset unavailable or 1 core)",
                  python=platform.python_version(), p95_budget_ms=P95_BUDGET_MS,
                  passed=result["p95_ms"] < P95_BUDGET_MS and result["achieved_rps"] >= 0.95 * args.rate)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"reference server capacity ({result['date']}, {ncpu} CPUs, {result['cpu']}, "
              f"server pinned: {result['server_pinned']})")
        print(f"  target {args.rate:.0f} req/s for {args.duration:.0f} s -> achieved "
              f"{result['achieved_rps']} req/s ({result['requests']} requests, {result['errors']} errors)")
        print(f"  latency p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
              f"max {result['max_ms']} ms")
        print(f"  statuses {result['statuses']}; server CPU {result['server_cpu_percent']} % of one core")
        print(f"  server-side histogram: {result['server_side_metrics']}")
        print(f"  p95 < {P95_BUDGET_MS:.0f} ms at >= 95% of the target rate: "
              f"{'YES' if result['passed'] else 'NO'}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
