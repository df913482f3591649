"""Rate limiting (contract §1.2) with small limits."""

from __future__ import annotations

import httpx

from .conftest import auth_client


def test_per_user_limit(reference_server_factory):
    server = reference_server_factory(extra_args=["--rate-limit", "--rate-limit-user", "3",
                                                  "--rate-limit-ip", "100"])
    with auth_client(server, "bss-loadtest-01") as one, auth_client(server, "bss-loadtest-02") as two:
        for _ in range(3):
            r = one.get("/api/products")
            assert r.status_code == 200 and r.headers["x-rate-limit-limited"] == "false"
        r = one.get("/api/products")
        assert r.status_code == 429
        assert r.json() == {"error": "Rate limit exceeded", "retry_after": 60}
        assert r.headers["retry-after"] == "60" and "x-rate-limit-limited" not in r.headers
        assert two.get("/api/products").status_code == 200  # another subject has its own budget
    # no token: 401, never 429; public endpoints are not limited
    assert httpx.get(server.url + "/api/products").status_code == 401
    for _ in range(5):
        assert httpx.get(server.url + "/actuator/health").status_code == 200


def test_per_ip_limit_and_only_allowed_calls_count(reference_server_factory):
    server = reference_server_factory(extra_args=["--rate-limit", "--rate-limit-user", "2",
                                                  "--rate-limit-ip", "3"])
    with auth_client(server, "bss-loadtest-01") as one, auth_client(server, "bss-loadtest-02") as two:
        assert [one.get("/api/services").status_code for _ in range(4)] == [200, 200, 429, 429]
        # the 429s did not count against the IP: one more allowed call for another subject
        assert two.get("/api/services").status_code == 200
        assert two.get("/api/services").status_code == 429  # IP budget (3) spent
    metrics = server.metrics_text()
    assert 'bss_customers_status_changed_total 0.0' in metrics  # the backend's 429 bug is not copied


def test_off_by_default(reference_server):
    with auth_client(reference_server) as api:
        r = api.get("/api/services")
        assert "x-rate-limit-limited" not in r.headers
