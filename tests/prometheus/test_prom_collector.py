"""RunCollector: what a scrape shows equals what RunStats holds."""

from __future__ import annotations

import math
import random
import subprocess
import time

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bss_loadtest.core.failures import FAILURE_CLASSES
from bss_loadtest.core.stats import Histogram, RunStats
from bss_loadtest.run import prometheus as prom

ENDPOINTS = [
    ("GET", "/api/v1/customers/{id}"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/invoices/{invoiceNumber}"),
    ("AUTH", "/oauth2/token"),
]


def fill(stats: RunStats, n: int = 600, seed: int = 7) -> None:
    rng = random.Random(seed)
    classes = [None] * 8 + ["server_error", "rate_limited", "timeout", "validation"]
    for i in range(n):
        method, name = ENDPOINTS[i % len(ENDPOINTS)]
        ms = rng.choice([rng.uniform(0.1, 30), rng.uniform(30, 600), rng.uniform(600, 12000)])
        stats.record(method, name, ms, rng.choice(classes), user_class="CustomerUser", now=1_700_000_000 + i / 100)


def scrape(registry) -> dict[str, list]:
    """family name -> samples, from the text exposition, through prometheus_client's parser."""
    text = generate_latest(registry).decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


@pytest.fixture
def state(fake_state, threshold_result):
    fill(fake_state.stats)
    fake_state.users = 17
    fake_state.thresholds = [
        threshold_result("http_req_duration", "p(95)<500", None, True),
        threshold_result("http_req_failed", "rate<0.05", None, False),
        threshold_result("http_req_duration", "p(99)<1500", "name:GET /api/v1/customers/{id}", True),
    ]
    fake_state.info = {
        "run_id": "20261125-abc",
        "profile": "load",
        "host": "https://loadtest:s3cr3t-pass@bss.example.com:8443/base?token=t0ps3cret#frag",
    }
    return fake_state


def test_requests_total_equals_stats_per_endpoint_and_outcome(state):
    samples = scrape(prom.build_registry(state))["bss_loadtest_requests"]
    got: dict[tuple[str, str, str], float] = {}
    for s in samples:
        assert s.name == "bss_loadtest_requests_total"
        assert s.labels["run_id"] == "20261125-abc"
        got[(s.labels["method"], s.labels["name"], s.labels["outcome"])] = s.value
    for key in state.stats.endpoint_keys():
        method, name = state.stats.methods[key]
        aggregate = state.stats.endpoints[key]
        assert got[(method, name, "success")] == aggregate.count - aggregate.failures
        for failure_class in FAILURE_CLASSES:
            assert got[(method, name, failure_class)] == aggregate.failures_by_class.get(failure_class, 0)
        assert sum(v for (m, n, _), v in got.items() if (m, n) == (method, name)) == aggregate.count
    business = sum(v for (m, _, _), v in got.items() if m != "AUTH")
    assert business == state.stats.total.count
    assert ("AUTH", "/oauth2/token", "success") in got


def test_histogram_is_cumulative_and_matches_the_fine_histogram(state):
    samples = scrape(prom.build_registry(state))["bss_loadtest_request_duration_seconds"]
    for key in state.stats.endpoint_keys():
        method, name = state.stats.methods[key]
        aggregate = state.stats.endpoints[key]
        mine = [s for s in samples if (s.labels["method"], s.labels["name"]) == (method, name)]
        buckets = [s for s in mine if s.name.endswith("_bucket")]
        les = [s.labels["le"] for s in buckets]
        assert les == [prom._format_le(b) for b in prom.DURATION_BUCKETS_S] + ["+Inf"]
        values = [s.value for s in buckets]
        assert values == sorted(values), "buckets must be cumulative"
        for bound, sample in zip(prom.DURATION_BUCKETS_S, buckets):
            assert sample.value == aggregate.histogram.count_at_or_below(bound * 1000)
        (count,) = [s.value for s in mine if s.name.endswith("_count")]
        (total,) = [s.value for s in mine if s.name.endswith("_sum")]
        assert count == values[-1] == aggregate.count
        assert total == pytest.approx(aggregate.histogram.total_ms / 1000)


def test_buckets_include_the_profiles_p95_limits():
    for limit in (0.2, 0.5, 1.0):
        assert limit in prom.DURATION_BUCKETS_S
    assert list(prom.DURATION_BUCKETS_S) == sorted(set(prom.DURATION_BUCKETS_S))


def test_bucket_boundaries_can_be_patched(state, monkeypatch):
    monkeypatch.setattr(prom, "DURATION_BUCKETS_S", (0.1, 1.0))
    samples = scrape(prom.build_registry(state))["bss_loadtest_request_duration_seconds"]
    les = {s.labels["le"] for s in samples if s.name.endswith("_bucket")}
    assert les == {"0.1", "1.0", "+Inf"}


@pytest.mark.parametrize("bound_ms", [0.0, 0.05, 1.0, 5.0, 99.95, 100.0, 150.0, 200.0, 999.0, 1e6])
def test_cumulative_counts_agree_with_count_at_or_below(bound_ms):
    histogram = Histogram()
    rng = random.Random(3)
    for _ in range(2000):
        histogram.record(rng.lognormvariate(4, 1.5))
    for value in (0.0, 0.04, 0.05, 1.0, 5.0, 99.95, 100.0, 150.0, 200.0, 200.4, 999.0):
        histogram.record(value)
    assert prom.cumulative_counts(histogram.buckets, [bound_ms]) == [histogram.count_at_or_below(bound_ms)]


def test_users_thresholds_run_info(state):
    families = scrape(prom.build_registry(state))
    (users,) = families["bss_loadtest_users"]
    assert users.value == 17 and users.labels == {"run_id": "20261125-abc"}

    thresholds = {s.labels["threshold"]: s.value for s in families["bss_loadtest_threshold_passing"]}
    assert thresholds == {
        "http_req_duration: p(95)<500": 1.0,
        "http_req_failed: rate<0.05": 0.0,
        "http_req_duration{name:GET /api/v1/customers/{id}}: p(99)<1500": 1.0,
    }

    (info,) = families["bss_loadtest_run_info"]
    assert info.value == 1.0
    assert info.labels == {
        "run_id": "20261125-abc",
        "profile": "load",
        "host": "https://bss.example.com:8443/base",
    }
    (start,) = families["bss_loadtest_run_start_time_seconds"]
    assert start.value == pytest.approx(state.stats.first_request_at)


def test_iterations_dropped_checks_and_vus_equal_the_stats(state):
    stats = state.stats
    for i in range(30):
        stats.record_iteration("browse" if i % 3 else "buy", 50.0 + i, now=1_700_000_000 + i)
    stats.record_dropped("buy", 4)
    stats.set_vus(6, 9, source="w1")
    stats.set_vus(5, 9, source="w2")
    families = scrape(prom.build_registry(state))
    iterations = {s.labels["scenario"]: s.value for s in families["bss_loadtest_iterations"]}
    assert iterations == {"browse": 20, "buy": 10}
    assert {s.name for s in families["bss_loadtest_iterations"]} == {"bss_loadtest_iterations_total"}
    dropped = {s.labels["scenario"]: s.value for s in families["bss_loadtest_dropped_iterations"]}
    assert dropped == {"browse": 0, "buy": 4}
    checks = {s.labels["outcome"]: s.value for s in families["bss_loadtest_checks"]}
    passed, failed = stats.checks_of()
    assert checks == {"passed": passed, "failed": failed}
    assert failed == stats.total.failures and passed + failed == stats.total.count  # one check per request here
    (vus,) = families["bss_loadtest_vus"]
    (vus_max,) = families["bss_loadtest_vus_max"]
    assert (vus.value, vus_max.value) == (11, 18)  # the engine's, summed over the workers, not the 17 users


def test_otlp_exports_the_same_new_numbers_as_metrics(state):
    """The OTLP instruments read the same LiveNumbers: their observations equal the scrape's."""
    from types import SimpleNamespace

    from bss_loadtest.run import otlp

    stats = state.stats
    for i in range(12):
        stats.record_iteration("browse" if i % 4 else "buy", 10.0, now=1_700_000_000 + i)
    stats.record_dropped("browse", 2)
    stats.set_vus(3, 7)
    registered = {}

    def instrument(name, callbacks=(), **kwargs):
        (registered[name],) = callbacks

    meter = SimpleNamespace(create_observable_counter=instrument, create_observable_gauge=instrument)
    sdk = SimpleNamespace(Observation=lambda value, attributes: (value, dict(attributes)))
    otlp._instruments(sdk, meter, otlp._Reading(state))

    def observed(name, label):
        return {attrs[label]: value for value, attrs in registered[name](None)}

    families = scrape(prom.build_registry(state))
    for name, family, label in ((otlp.ITERATIONS, "bss_loadtest_iterations", "scenario"),
                                (otlp.DROPPED, "bss_loadtest_dropped_iterations", "scenario"),
                                (otlp.CHECKS, "bss_loadtest_checks", "outcome")):
        assert observed(name, label) == {s.labels[label]: s.value for s in families[family]}, name
    for name in (otlp.ITERATIONS, otlp.DROPPED, otlp.CHECKS, otlp.VUS, otlp.VUS_MAX):
        assert {attrs["run_id"] for _, attrs in registered[name](None)} == {"20261125-abc"}, name
    assert [v for v, _ in registered[otlp.VUS](None)] == [families["bss_loadtest_vus"][0].value] == [3]
    assert [v for v, _ in registered[otlp.VUS_MAX](None)] == [families["bss_loadtest_vus_max"][0].value] == [7]


def test_checks_count_the_clients_checks(fake_state):
    fake_state.stats.record("GET", "/api/v1/customers/{id}", 5.0, None, "U", checks=(3, 1))
    fake_state.stats.record("GET", "/api/v1/customers/{id}", 5.0, "server_error", "U")
    checks = {s.labels["outcome"]: s.value for s in scrape(prom.build_registry(fake_state))["bss_loadtest_checks"]}
    assert checks == {"passed": 3, "failed": 2}


def test_without_an_engine_vus_are_the_users_and_iterations_are_zero(state):
    state.stats.record_users(25, now=1_700_000_000)
    families = scrape(prom.build_registry(state))
    assert families["bss_loadtest_vus"][0].value == 17  # the users running now
    assert families["bss_loadtest_vus_max"][0].value == 25  # the most users so far
    assert [(s.labels["scenario"], s.value) for s in families["bss_loadtest_iterations"]] == [("default", 0)]


def test_thresholds_on_every_metric_appear_in_the_verdicts(fake_state):
    from bss_loadtest.core.thresholds import evaluate_all, parse_thresholds, tracking_for

    thresholds = parse_thresholds({
        "checks": ["rate>0.5"], "errors": ["rate<0.01"], "iterations": ["count>0"],
        "iteration_duration": ["p(95)<100"], "dropped_iterations": ["count<1"], "vus": ["max<100"],
        "vus_max": ["value<100"], "http_req_duration{method:GET}": ["p(95)<60000"],
        "http_req_duration": [{"threshold": "p(95)<500", "window": "1m"}],
    })
    fake_state.stats.configure(tracking_for(thresholds, origin=1_700_000_000))
    fill(fake_state.stats)
    fake_state.stats.record_iteration("default", 20.0)
    fake_state.stats.record_users(3)
    fake_state.thresholds = evaluate_all(thresholds, fake_state.stats)
    verdicts = {s.labels["threshold"]: s.value for s in scrape(prom.build_registry(fake_state))["bss_loadtest_threshold_passing"]}
    assert verdicts == {
        "checks: rate>0.5": 1.0,
        "errors: rate<0.01": 0.0,
        "iterations: count>0": 1.0,
        "iteration_duration: p(95)<100": 1.0,
        "dropped_iterations: count<1": 1.0,
        "vus: max<100": 1.0,
        "vus_max: value<100": 1.0,
        "http_req_duration{method:GET}: p(95)<60000": 1.0,
        "http_req_duration: p(95)<500 (window 1m)": 0.0,  # no complete window yet
    }


def test_every_metric_carries_run_id(state):
    for family, samples in scrape(prom.build_registry(state)).items():
        assert samples, family
        for sample in samples:
            assert sample.labels.get("run_id") == "20261125-abc", sample


def test_no_raw_urls_or_secrets_in_labels(state):
    text = generate_latest(prom.build_registry(state)).decode()
    for secret in ("s3cr3t-pass", "loadtest:", "t0ps3cret", "frag"):
        assert secret not in text
    families = scrape(prom.build_registry(state))
    for samples in families.values():
        for sample in samples:
            name = sample.labels.get("name")
            if name is not None:
                assert name.startswith("/") and "?" not in name and "://" not in name
                assert (sample.labels["method"], name) in ENDPOINTS


def test_empty_run_scrapes(fake_state):
    families = scrape(prom.build_registry(fake_state))
    assert "bss_loadtest_requests" not in families or not families["bss_loadtest_requests"]
    assert families["bss_loadtest_users"][0].value == 0
    assert families["bss_loadtest_run_info"][0].value == 1


def test_threshold_labels_are_unique(fake_state, threshold_result):
    same = threshold_result("http_req_duration", "p(95)<500", None, True)
    fake_state.thresholds = [same, same]
    samples = scrape(prom.build_registry(fake_state))["bss_loadtest_threshold_passing"]
    assert len(samples) == 1


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://user:pass@host:8080/x?token=1#f", "http://host:8080/x"),
        ("https://host", "https://host"),
        ("host:9091", "host:9091"),
        ("user@host:9091", "host:9091"),
        ("", ""),
        (None, ""),
    ],
)
def test_redact_url(url, expected):
    assert prom.redact_url(url) == expected


def test_collect_is_safe_while_requests_are_recorded(fake_state):
    """A scrape thread reads while the request path writes: no 'dict changed size' error."""
    import threading

    stats = fake_state.stats
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            stats.record("GET", f"/api/v1/e{i % 50}", (i * 7.3) % 3000, None)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        registry = prom.build_registry(fake_state)
        deadline = time.monotonic() + 1.0
        scrapes = 0
        while time.monotonic() < deadline or scrapes < 5:
            generate_latest(registry)
            scrapes += 1
    finally:
        stop.set()
        thread.join()


def test_promtool_check_metrics_finds_no_problem(state):
    promtool = subprocess.run(["which", prom_tool := "promtool"], capture_output=True, text=True).stdout.strip()
    if not promtool:
        pytest.skip(f"{prom_tool} not installed (apt-get install -y prometheus)")
    text = generate_latest(prom.build_registry(state))
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout.decode() + result.stderr.decode()
    )


def test_format_le_is_parseable():
    for bound in prom.DURATION_BUCKETS_S:
        assert math.isclose(float(prom._format_le(bound)), bound)


def test_module_does_not_import_locust():
    import sys

    code = "import sys, bss_loadtest.run.prometheus; assert 'locust' not in sys.modules and 'gevent' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
