"""A real run seen by a real Prometheus (scraping the master) and a real Pushgateway."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "prometheus"))
from prom_servers import free_port, http_get, start_prometheus, start_pushgateway  # noqa: E402

from bss_loadtest.run.prometheus import DURATION_BUCKETS_S  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def pushgateway(tmp_path):
    server = start_pushgateway(tmp_path / "pushgateway")
    yield server
    server.stop()


def bucket_width_ms(value_ms: float) -> float:
    bounds = [0.0, *(b * 1000 for b in DURATION_BUCKETS_S)]
    for low, high in zip(bounds, bounds[1:]):
        if value_ms <= high:
            return high - low
    return float("inf")


@pytest.mark.parametrize("processes", [None, 2])
def test_prometheus_and_pushgateway_hold_the_runs_numbers(
    reference_server_factory, pushgateway, locust, tmp_path, processes
):
    server = reference_server_factory(extra_args=[])
    metrics_port = free_port()
    prometheus = start_prometheus(tmp_path / "prometheus", targets=[f"127.0.0.1:{metrics_port}"])
    try:
        args = [
            "--profile", "load", "--time-scale", "0.01", "--host", server.url,
            "--prometheus-port", str(metrics_port), "--prometheus-linger", "3",
            "--pushgateway", pushgateway.url, "--push-interval", "2",
        ]
        if processes:
            args += ["--processes", str(processes)]
        result = locust(args)
        assert result.returncode == 0, result.output[-3000:]
        summary = result.summary
        run_id = summary["run_id"]
        total = summary["totals"]["count"]
        selector = f'run_id="{run_id}",method!~"AUTH|CONNECT"'

        # Prometheus scraped the live endpoint up to the end of the run (the series are stale now
        # that the run has exited, so read their last values).
        def last(metric, extra=""):
            return f"last_over_time({metric}{{{selector}{extra}}}[5m])"

        counted = prometheus.wait_for(f"sum({last('bss_loadtest_requests_total')})", lambda v: v == total)
        assert counted == total
        not_success = ',outcome!="success"'
        failed = prometheus.query_value(f"sum({last('bss_loadtest_requests_total', not_success)})")
        assert (failed or 0) == summary["totals"]["failures"]
        p95_ms = 1000 * prometheus.query_value(
            f"histogram_quantile(0.95, sum by (le) ({last('bss_loadtest_request_duration_seconds_bucket')}))"
        )
        expected = summary["totals"]["p95_ms"]
        assert abs(p95_ms - expected) <= bucket_width_ms(expected), (p95_ms, expected)
        users = prometheus.query_value(f'max_over_time(bss_loadtest_users{{run_id="{run_id}"}}[5m])')
        assert users == 20  # the load profile's peak
        passing = prometheus.query(f'last_over_time(bss_loadtest_threshold_passing{{run_id="{run_id}"}}[5m])')
        assert {r["metric"]["threshold"] for r in passing} == {"http_req_duration: p(95)<500", "http_req_failed: rate<0.05",
                                                             "errors: rate<0.1"}
    finally:
        prometheus.stop()

    # The Pushgateway holds the final values after the run has exited.
    pushed = 0.0
    for family in text_string_to_metric_families(http_get(pushgateway.url + "/metrics").decode()):
        for sample in family.samples:
            if (
                sample.name == "bss_loadtest_requests_total"
                and sample.labels.get("run_id") == run_id
                and sample.labels.get("method") not in ("AUTH", "CONNECT")
            ):
                pushed += sample.value
    assert pushed == total
