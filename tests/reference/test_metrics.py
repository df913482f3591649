"""Prometheus metrics: business counters and the http_server_requests_seconds histogram."""

from __future__ import annotations

import re
import uuid

import httpx

from .conftest import auth_client, make_customer


def _value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            got = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(got.get(k) == v for k, v in labels.items()) and (labels or "{" not in line):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_request_counts_equal_the_requests_made(reference_server_factory):
    server = reference_server_factory()
    with auth_client(server) as api:  # one token request
        c = make_customer(api)
        for _ in range(3):
            assert api.get(f"/api/v1/customers/{c['id']}").status_code == 200
        assert api.get(f"/api/v1/customers/{uuid.uuid4()}").status_code == 404
        api.get("/api/v1/customers/by-status/ACTIVE")
        api.put(f"/api/v1/customers/{c['id']}/status", json={"customerId": c["id"], "status": "INACTIVE"})
        api.put(f"/api/v1/customers/{c['id']}/status", json={"customerId": c["id"], "status": "INACTIVE"})
        api.put(f"/api/v1/customers/{c['id']}", json={"customerId": c["id"], "firstName": "Ab",
                                                      "lastName": "Cd", "email": "a@b.pl"})
    httpx.get(server.url + "/api/v1/customers")  # 401
    httpx.get(server.url + "/no/such/path")  # UNKNOWN
    for _ in range(2):
        text = server.metrics_text()  # scrapes are not counted
    h = "http_server_requests_seconds_count"
    assert _value(text, h, uri="/api/v1/customers/{id}", method="GET", status="200", outcome="SUCCESS") == 3
    assert _value(text, h, uri="/api/v1/customers/{id}", method="GET", status="404", outcome="CLIENT_ERROR") == 1
    assert _value(text, h, uri="/api/v1/customers", method="POST", status="201") == 1
    assert _value(text, h, uri="/api/v1/customers", method="GET", status="401", outcome="CLIENT_ERROR") == 1
    assert _value(text, h, uri="/api/v1/customers/by-status/{status}", method="GET", status="200") == 1
    assert _value(text, h, uri="/api/v1/customers/{id}/status", method="PUT", status="200") == 1
    assert _value(text, h, uri="/api/v1/customers/{id}/status", method="PUT", status="409") == 1
    assert _value(text, h, uri="/realms/bss/protocol/openid-connect/token", method="POST", status="200") == 1
    assert _value(text, h, uri="UNKNOWN", method="GET", status="404") == 1
    assert "/actuator/prometheus" not in text
    total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith(h + "{") and 'uri="/actuator/health"' not in line)
    assert total == 12  # every request above exactly once (start-up health polls excluded)
    assert _value(text, h, uri="/actuator/health", method="GET", status="200") >= 1
    assert _value(text, "bss_customers_created_total") == 1
    assert _value(text, "bss_customers_updated_total") == 1
    assert _value(text, "bss_customers_status_changed_total") == 1  # only the successful change
    assert _value(text, "bss_customers") == 1
    assert 'http_server_requests_seconds_bucket{le="0.05",method="GET"' in text


def test_gauge_follows_deletes_and_activation_timers(reference_server_factory):
    server = reference_server_factory()
    with auth_client(server) as api:
        a, b = make_customer(api), make_customer(api)
        api.delete(f"/api/v1/customers/{a['id']}")
        act = api.post("/api/services/activations", json={"customerId": b["id"],
                                                          "serviceCode": "VOIP-LINE"}).json()
        api.post("/api/services/activations", json={"customerId": b["id"], "serviceCode": "NOPE"})
        api.post(f"/api/services/activations/{act['id']}/deactivate", json={"activationId": act["id"]})
    text = server.metrics_text()
    assert _value(text, "bss_customers") == 1
    assert _value(text, "bss_customers_created_total") == 2
    assert _value(text, "bss_services_activation_duration_seconds_count") == 2  # failures timed too
    assert _value(text, "bss_services_deactivation_duration_seconds_count") == 1
    r = httpx.get(server.url + "/actuator/prometheus")
    assert r.headers["content-type"].startswith("text/plain")
