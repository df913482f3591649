"""Against real processes: Prometheus scraping the MetricsServer, Pushgateway receiving pushes."""

from __future__ import annotations

import json
import logging
import math
import random
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bss_loadtest.core.errors import ConfigError
from bss_loadtest.run import prometheus as prom

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

RUN_ID = "run-int-1"
ENDPOINTS = [
    ("GET", "/api/v1/customers/{id}"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/products"),
    ("AUTH", "/oauth2/token"),
]
BUSINESS = f'run_id="{RUN_ID}",method!="AUTH"'


def feed(state, seconds: float, rng: random.Random, per_tick: int = 40) -> None:
    """Record synthetic requests for ``seconds``, as a run would, changing the user count."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for i in range(per_tick):
            method, name = ENDPOINTS[i % len(ENDPOINTS)]
            ms = rng.lognormvariate(math.log(120), 0.8)
            failure = "server_error" if rng.random() < 0.03 else None
            state.stats.record(method, name, ms, failure, user_class="CustomerUser")
        state.users = min(state.users + 1, 20)
        time.sleep(0.1)


def dashboard_queries() -> list[str]:
    """The dashboard's panel expressions with Grafana's variables filled in for this run."""
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "dashboards" / "bss-loadtest.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    substitutions = {"$run_id": RUN_ID, "$endpoint": ".*", "$__rate_interval": "30s"}
    filled = []
    for expr in exprs:
        for variable, value in substitutions.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        filled.append(expr)
    return filled


def bucket_width_around(value_s: float) -> float:
    bounds = [0.0, *prom.DURATION_BUCKETS_S]
    for lower, upper in zip(bounds, bounds[1:]):
        if lower < value_s <= upper:
            return upper - lower
    return math.inf


@pytest.fixture
def run_state(fake_state, threshold_result):
    fake_state.info = {"run_id": RUN_ID, "profile": "load", "host": "http://user:pw@127.0.0.1:8080"}
    fake_state.thresholds = [threshold_result("http_req_duration", "p(95)<500", None, True)]
    return fake_state


def test_prometheus_scrapes_live_numbers(run_state, prometheus_factory):
    server = prom.MetricsServer(prom.build_registry(run_state), port=0).start()
    try:
        prometheus = prometheus_factory(targets=[f"127.0.0.1:{server.port}"])
        feed(run_state, 3.0, random.Random(11))
        stats = run_state.stats

        total = prometheus.wait_for(
            f"sum(bss_loadtest_requests_total{{{BUSINESS}}})", lambda v: v == stats.total.count
        )
        assert total == stats.total.count

        count = prometheus.query_value(f"sum(bss_loadtest_request_duration_seconds_count{{{BUSINESS}}})")
        assert count == stats.total.count

        p95 = prometheus.query_value(
            f"histogram_quantile(0.95, sum by (le) (bss_loadtest_request_duration_seconds_bucket{{{BUSINESS}}}))"
        )
        expected = stats.total.percentile(0.95) / 1000
        assert p95 is not None and abs(p95 - expected) <= bucket_width_around(expected), (p95, expected)

        failed = prometheus.query_value(
            f'sum(bss_loadtest_requests_total{{{BUSINESS},outcome!="success"}})'
        )
        assert failed == stats.total.failures

        rate = f'sum by (method, name) (rate(bss_loadtest_requests_total{{run_id="{RUN_ID}"}}[30s]))'
        deadline = time.monotonic() + 10  # rate() needs two scrapes in the window
        while len(by_endpoint := prometheus.query(rate)) < len(ENDPOINTS) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert {(r["metric"]["method"], r["metric"]["name"]) for r in by_endpoint} == set(ENDPOINTS)

        assert prometheus.query_value(f'bss_loadtest_users{{run_id="{RUN_ID}"}}') == run_state.users
        (info,) = prometheus.query(f'bss_loadtest_run_info{{run_id="{RUN_ID}"}}')
        assert info["metric"]["host"] == "http://127.0.0.1:8080" and info["metric"]["profile"] == "load"
        assert prometheus.query_value('bss_loadtest_threshold_passing{threshold="http_req_duration: p(95)<500"}') == 1

        # Every expression of the Grafana dashboard parses and, for this run, returns data.
        for expr in dashboard_queries():
            assert prometheus.query(expr), f"dashboard query returned nothing: {expr}"
    finally:
        server.stop()


def pushed_families(pushgateway, http_get) -> dict[str, list]:
    text = http_get(pushgateway.url + "/metrics").decode()
    families: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        samples = [s for s in family.samples if s.labels.get("run_id") == RUN_ID]
        if samples:
            assert all(s.labels.get("job") == prom.PUSH_JOB for s in samples)
            families[family.name] = samples
    return families


def business_total(families) -> float:
    return sum(s.value for s in families.get("bss_loadtest_requests", []) if s.labels["method"] != "AUTH")


def test_pushes_land_and_the_final_push_holds_the_final_numbers(run_state, pushgateway, prom_helpers):
    rng = random.Random(5)
    pusher = prom.Pusher(prom.build_registry(run_state), pushgateway.url, run_id=RUN_ID, interval=0.2, timeout=2)
    pusher.start()
    try:
        feed(run_state, 1.0, rng)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not pushed_families(pushgateway, prom_helpers.http_get):
            time.sleep(0.1)
        assert pushed_families(pushgateway, prom_helpers.http_get), "no periodic push landed"
        feed(run_state, 0.5, rng)
    finally:
        landed = pusher.stop(final=True)
    assert landed
    families = pushed_families(pushgateway, prom_helpers.http_get)
    assert business_total(families) == run_state.stats.total.count
    counts = [s for s in families["bss_loadtest_request_duration_seconds"] if s.name.endswith("_count")]
    assert sum(s.value for s in counts) == sum(a.count for a in run_state.stats.endpoints.values())

    groups = json.loads(prom_helpers.http_get(pushgateway.url + "/api/v1/metrics"))["data"]
    labels = [g["labels"] for g in groups]
    assert {"job": prom.PUSH_JOB, "run_id": RUN_ID} in labels


def test_prometheus_scrapes_the_pushgateway_with_honor_labels(run_state, pushgateway, prometheus_factory):
    feed(run_state, 0.3, random.Random(2))
    pusher = prom.Pusher(prom.build_registry(run_state), pushgateway.url, run_id=RUN_ID, interval=60)
    assert pusher.stop(final=True)
    prometheus = prometheus_factory(honor_labels_targets=[pushgateway.url.removeprefix("http://")])
    expr = f'sum(bss_loadtest_requests_total{{job="{prom.PUSH_JOB}",{BUSINESS}}})'
    assert prometheus.wait_for(expr, lambda v: v == run_state.stats.total.count) == run_state.stats.total.count


def test_gateway_outage_warns_once_then_recovers(run_state, tmp_path, prom_helpers, caplog):
    caplog.set_level(logging.INFO, logger=prom.__name__)
    port = prom_helpers.free_port()
    gateway = prom_helpers.start_pushgateway(tmp_path / "gw", port=port)
    pusher = prom.Pusher(prom.build_registry(run_state), gateway.url, run_id=RUN_ID, interval=0.1, timeout=1)
    try:
        pusher.start()
        feed(run_state, 0.3, random.Random(3))
        gateway.stop()  # outage
        feed(run_state, 0.6, random.Random(4))
        gateway = prom_helpers.start_pushgateway(tmp_path / "gw", port=port)  # back
        feed(run_state, 0.5, random.Random(6))
    finally:
        started = time.monotonic()
        landed = pusher.stop(final=True)
        stop_took = time.monotonic() - started
        try:
            families = pushed_families(gateway, prom_helpers.http_get)
        finally:
            gateway.stop()
    assert landed and stop_took < 5
    assert business_total(families) == run_state.stats.total.count
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and "again" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert len(infos) == 1, infos


def test_port_taken_by_a_real_server_is_a_config_error(fake_state, pushgateway):
    port = int(pushgateway.url.rsplit(":", 1)[1])
    with pytest.raises(ConfigError, match=f"^--prometheus-port {port}: address already in use$"):
        prom.MetricsServer(prom.build_registry(fake_state), port=port).start()
