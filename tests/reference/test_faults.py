"""Fault injection: command-line flags and the /admin/faults API."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import assert_problem, auth_client


def _timed(client: httpx.Client, path: str) -> tuple[int, float]:
    t = time.perf_counter()
    r = client.get(path)
    return r.status_code, time.perf_counter() - t


def test_latency_flag(reference_server_factory):
    server = reference_server_factory(extra_args=["--latency-ms", "150", "--no-auth"])
    with httpx.Client(base_url=server.url) as c:
        status, took = _timed(c, "/api/services")
        assert status == 200 and took >= 0.15
        _, took = _timed(c, "/actuator/health")
        assert took < 0.15  # only /api is slowed
    assert server.faults()["latency"] == {"fixed_ms": 150.0}


def test_error_rate_flag_all_and_counted(reference_server_factory):
    server = reference_server_factory(extra_args=["--error-rate", "1", "--no-auth"])
    r = httpx.get(server.url + "/api/v1/customers")
    assert_problem(r, 503)
    assert httpx.get(server.url + "/actuator/health").status_code == 200
    text = server.metrics_text()
    assert ('http_server_requests_seconds_count{method="GET",outcome="SERVER_ERROR",status="503",'
            'uri="/api/v1/customers"} 1.0') in text


def test_admin_api_per_endpoint(reference_server_factory):
    server = reference_server_factory()
    assert server.faults() == {"latency": None, "error_rate": 0.0, "endpoints": {}}
    new = server.set_faults({"endpoints": {
        "GET /api/v1/customers/{id}": {"latency": {"fixed_ms": 200}},
        "GET /api/products": {"error_rate": 1.0},
    }})
    assert new["endpoints"]["GET /api/v1/customers/{id}"]["latency"] == {"fixed_ms": 200.0}
    with auth_client(server) as api:
        status, slow = _timed(api, "/api/v1/customers/00000000-0000-0000-0000-000000000000")
        assert status == 404 and slow >= 0.2
        status, fast = _timed(api, "/api/v1/customers")
        assert status == 200 and fast < 0.2
        assert api.get("/api/products").status_code == 503
        server.set_faults({"latency": {"distribution": "uniform", "min_ms": 50, "max_ms": 60},
                           "error_rate": 0})
        status, took = _timed(api, "/api/services")
        assert status == 200 and took >= 0.05
        for lat in ({"distribution": "normal", "mean_ms": 5, "stddev_ms": 1},
                    {"distribution": "exponential", "mean_ms": 2}):
            server.set_faults({"latency": lat})
            assert api.get("/api/services").status_code == 200
        assert server.reset_faults() == {"latency": None, "error_rate": 0.0, "endpoints": {}}
        assert api.get("/api/products").status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"endpoints": {"GET /api/nope": {"error_rate": 1}}}, "endpoints.GET /api/nope"),
    ({"error_rate": 2}, "error_rate"),
    ({"latency": {"distribution": "gamma", "mean_ms": 1}}, None),
    ({"bogus": 1}, "bogus"),
])
def test_admin_api_rejects_bad_config(reference_server, body, field):
    r = httpx.put(reference_server.url + "/admin/faults", json=body)
    problem = assert_problem(r, 400)
    if field:
        assert field in [e["field"] for e in problem["errors"]]
    if "endpoints" in body:
        assert "GET /api/v1/customers/{id}" in problem["detail"]  # lists the valid keys
    assert reference_server.faults()["endpoints"] == {}


def test_reset_restores_command_line_values(reference_server_factory):
    server = reference_server_factory(extra_args=["--latency-ms", "5", "--error-rate", "0.25"])
    server.set_faults({"error_rate": 0})
    assert server.reset_faults() == {"latency": {"fixed_ms": 5.0}, "error_rate": 0.25, "endpoints": {}}
