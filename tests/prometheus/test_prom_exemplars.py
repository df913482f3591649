"""Exemplars with ``trace_id`` on the duration histogram: OpenMetrics only, in the bucket that counts
the sample, and through a real Prometheus with exemplar storage to its query API."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from trace_samples import TraceSample, new_trace_id, record_traced, set_slowest

from bss_loadtest.run import prometheus as prom

RUN_ID = "run-exemplar-1"
CUSTOMER = ("GET", "/api/v1/customers/{id}")
ORDERS = ("POST", "/api/v1/orders")
DURATION = "bss_loadtest_request_duration_seconds"
OPENMETRICS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)  # what Prometheus sends


DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "bss-loadtest.json"


def dashboard_exemplar_queries() -> list[str]:
    """The dashboard's queries that ask for exemplars, with Grafana's variables filled in."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", []) if t.get("exemplar")]
    filled = []
    for expr in exprs:
        for variable, value in {"$run_id": RUN_ID, "$endpoint": ".*", "$__rate_interval": "30s"}.items():
            expr = expr.replace(variable, value)
        filled.append(expr)
    return filled


def key(endpoint: tuple[str, str]) -> str:
    return " ".join(endpoint)


@pytest.fixture
def state(fake_state):
    """Two endpoints with traffic; CUSTOMER's slowest samples in three different buckets, two of
    them (0.6 s and 0.7 s) in the same one (le 0.75), ORDERS without samples."""
    fake_state.info = {"run_id": RUN_ID, "profile": "load", "host": "http://127.0.0.1:8080"}
    now = time.time()
    for i in range(50):
        fake_state.stats.record(*CUSTOMER, 20.0 + i, None, user_class="CustomerUser", now=now)
        fake_state.stats.record(*ORDERS, 30.0 + i, None, user_class="CustomerUser", now=now)
    samples = [record_traced(fake_state.stats, *CUSTOMER, ms, at=now - 1 + i / 10) for i, ms in
               enumerate([700.0, 600.0, 180.0, 12_000.0])]
    assert len(fake_state.stats.endpoints[key(CUSTOMER)].slowest) == 4
    fake_state.samples = {s.ms: s for s in samples}
    return fake_state


def exemplars_of(text: str) -> dict[tuple[str, str], object]:
    """(endpoint key, le) -> exemplar, from an OpenMetrics exposition."""
    found = {}
    for family in parse_openmetrics(text):
        for sample in family.samples:
            if sample.exemplar is not None:
                assert sample.name == f"{DURATION}_bucket", sample
                found[(f"{sample.labels['method']} {sample.labels['name']}", sample.labels["le"])] = sample.exemplar
    return found


def test_openmetrics_has_one_exemplar_per_bucket_the_slowest_in_it(state):
    text = generate_openmetrics(prom.build_registry(state)).decode()
    found = exemplars_of(text)
    samples = state.samples
    assert set(found) == {(key(CUSTOMER), "0.2"), (key(CUSTOMER), "0.75"), (key(CUSTOMER), "+Inf")}
    for le, ms in (("0.2", 180.0), ("0.75", 700.0), ("+Inf", 12_000.0)):
        exemplar = found[(key(CUSTOMER), le)]
        assert exemplar.labels == {"trace_id": samples[ms].trace_id}
        assert exemplar.value == pytest.approx(ms / 1000)
        assert float(exemplar.timestamp) == pytest.approx(samples[ms].at, abs=1e-6)


@pytest.mark.parametrize("ms, le", [(200.0, "0.2"), (200.04, "0.25"), (4.0, "0.005"), (10_000.5, "+Inf")])
def test_an_exemplars_value_lies_in_its_buckets_range(fake_state, ms, le):
    # 200.04 ms is counted at le=0.2 already (its fine bucket is 200.0 ms), and cumulatively at 0.25,
    # where its exemplar goes: never above its le.
    record_traced(fake_state.stats, *CUSTOMER, ms, at=time.time())
    found = exemplars_of(generate_openmetrics(prom.build_registry(fake_state)).decode())
    assert list(found) == [(key(CUSTOMER), le)]
    (exemplar,) = found.values()
    assert le == "+Inf" or exemplar.value <= float(le)


def test_samples_without_a_usable_trace_id_or_time_are_skipped(fake_state):
    fake_state.stats.record(*CUSTOMER, 50.0, None)
    set_slowest(fake_state.stats, key(CUSTOMER), [
        TraceSample("", 50.0, 200, None, time.time()),
        TraceSample("x" * 200, 49.0, 200, None, time.time()),
        TraceSample(new_trace_id(), float("nan"), 200, None, time.time()),
    ])
    assert exemplars_of(generate_openmetrics(prom.build_registry(fake_state)).decode()) == {}
    untimed = TraceSample(new_trace_id(), 50.0, 200, None, 0.0)
    set_slowest(fake_state.stats, key(CUSTOMER), [untimed])
    (exemplar,) = exemplars_of(generate_openmetrics(prom.build_registry(fake_state)).decode()).values()
    assert exemplar.labels == {"trace_id": untimed.trace_id} and exemplar.timestamp is None


def test_the_text_format_is_unchanged_by_samples(state):
    with_samples = generate_latest(prom.build_registry(state)).decode()
    for aggregate in state.stats.endpoints.values():
        aggregate.slowest = []
    without = generate_latest(prom.build_registry(state)).decode()
    assert with_samples == without
    assert "trace_id" not in with_samples and " # {" not in with_samples


def get(url: str, accept: str | None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode()


def test_metrics_server_offers_exemplars_only_to_an_openmetrics_scraper(state):
    with prom.MetricsServer(prom.build_registry(state), port=0) as server:
        content_type, text = get(server.url, OPENMETRICS_ACCEPT)
        assert content_type.startswith("application/openmetrics-text")
        assert text.endswith("# EOF\n")
        assert len(exemplars_of(text)) == 3
        for accept in (None, "text/plain;version=0.0.4"):
            content_type, plain = get(server.url, accept)
            assert content_type.startswith("text/plain")
            assert "trace_id" not in plain


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_prometheus_with_exemplar_storage_finds_the_trace_ids(state, prometheus_factory):
    started = time.time() - 60
    with prom.MetricsServer(prom.build_registry(state), port=0) as server:
        prometheus = prometheus_factory(targets=[f"127.0.0.1:{server.port}"], features=["exemplar-storage"])
        expr = f'{DURATION}_bucket{{run_id="{RUN_ID}"}}'
        expected = {s.trace_id for s in state.samples.values()} - {state.samples[600.0].trace_id}
        deadline = time.monotonic() + 30
        found: dict[str, tuple[dict, dict]] = {}
        while time.monotonic() < deadline:
            found = {
                exemplar["labels"]["trace_id"]: (series["seriesLabels"], exemplar)
                for series in prometheus.query_exemplars(expr, started, time.time() + 60)
                for exemplar in series["exemplars"]
            }
            if set(found) >= expected:
                break
            time.sleep(0.25)
        # What Grafana asks for the dashboard's exemplar queries finds them too.
        queries = dashboard_exemplar_queries()
        assert queries
        for query in queries:
            series = prometheus.query_exemplars(query, started, time.time() + 60)
            assert {e["labels"]["trace_id"] for s in series for e in s["exemplars"]} == expected, query
    assert set(found) == expected, prometheus.log()
    by_trace = {s.trace_id: s for s in state.samples.values()}
    for trace_id, (series, exemplar) in found.items():
        sample = by_trace[trace_id]
        assert series["__name__"] == f"{DURATION}_bucket" and series["run_id"] == RUN_ID
        assert (series["method"], series["name"]) == CUSTOMER
        assert float(exemplar["value"]) == pytest.approx(sample.ms / 1000)
        assert float(exemplar["timestamp"]) == pytest.approx(sample.at, abs=0.001)
    les = {series["le"] for series, _ in found.values()}
    assert les == {"0.2", "0.75", "+Inf"}
