"""The reconciliation of the suite's counts with the target's: which of the suite's rows are HTTP requests."""

from bss_loadtest.core.stats import AUTH_REQUEST_TYPE, CONNECT_REQUEST_TYPE, RunStats
from bss_loadtest.run.reconcile import Scrape, reconcile

TOKEN = "/realms/bss/protocol/openid-connect/token"


def stats_with(*rows):
    stats = RunStats()
    for method, name, count in rows:
        for _ in range(count):
            stats.record(method, name, 5.0, None, "X", 1.0)
    return stats


def test_token_rows_count_as_posts_and_connection_setups_are_not_requests():
    stats = stats_with(("GET", "/api/v1/customers", 3), (AUTH_REQUEST_TYPE, TOKEN, 1),
                       (CONNECT_REQUEST_TYPE, "127.0.0.1:8080", 2))
    before = Scrape(requests={"GET /api/v1/customers": 10.0})
    after = Scrape(requests={"GET /api/v1/customers": 13.0, f"POST {TOKEN}": 1.0})
    result = reconcile(before, after, stats)
    assert result == {"reconciled": True, "endpoints_compared": 2, "mismatches": [], "counters": []}
    after.requests["GET /api/v1/customers"] = 12.0
    assert reconcile(before, after, stats)["mismatches"] == [
        {"endpoint": "GET /api/v1/customers", "suite": 3, "target": 2}]
