"""Actuator endpoints (contract §10), and the server under concurrent writes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from .conftest import make_customer


def test_health_probes_and_info(reference_server):
    body = httpx.get(reference_server.url + "/actuator/health").json()
    assert body["status"] == "UP" and body["groups"] == ["liveness", "readiness"]
    assert {"db", "diskSpace", "ping", "livenessState", "readinessState"} <= set(body["components"])
    for probe in ("liveness", "readiness"):
        r = httpx.get(f"{reference_server.url}/actuator/health/{probe}")
        assert r.status_code == 200 and r.json() == {"status": "UP"}
    info = httpx.get(reference_server.url + "/actuator/info").json()
    assert info["app"]["name"] == "bss-reference"
    assert info["reference"] == {"auth": True, "rateLimit": False, "quirks": False, "db": "memory"}


def test_concurrent_writes_are_consistent(api, reference_server):
    customer = make_customer(api)
    token = api.headers["Authorization"]

    def create(i: int) -> int:
        with httpx.Client(base_url=reference_server.url, headers={"Authorization": token}) as c:
            return c.post("/api/v1/orders", json={
                "orderNumber": f"CONC-{customer['id'][:8]}-{i}", "customerId": customer["id"],
                "orderType": "NEW", "status": "DRAFT", "priority": "LOW", "totalAmount": i}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(create, range(40)))
    assert codes == [201] * 40
    page = api.get(f"/api/v1/orders/by-customer/{customer['id']}", params={"size": 100}).json()
    assert page["totalElements"] == 40 and len({o["orderNumber"] for o in page["content"]}) == 40
