"""--otlp-endpoint: the run's metrics over OTLP/HTTP reach a receiver with the numbers of the state
(the ones ``/metrics`` shows), periodically and once more at the end of the run."""

from __future__ import annotations

import gzip
import logging
import math
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bss_loadtest.core.errors import ConfigError
from bss_loadtest.core.failures import FAILURE_CLASSES
from bss_loadtest.run import otlp
from bss_loadtest.run import prometheus as prom

metrics_service_pb2 = pytest.importorskip(
    "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
    reason="opentelemetry-proto not installed (pip install -e '.[test]')",
)
pytest.importorskip("opentelemetry.sdk.metrics", reason="opentelemetry-sdk not installed (pip install -e '.[test]')")

pytestmark = pytest.mark.timeout(60)

RUN_ID = "run-otlp-1"
ENDPOINTS = [
    ("GET", "/api/v1/customers/{id}"),
    ("POST", "/api/v1/orders"),
    ("AUTH", "/oauth2/token"),
]


class Receiver:
    """An OTLP/HTTP metrics receiver on 127.0.0.1: POST /v1/metrics, decoded requests kept in order."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list = []
        self.paths: list[str] = []
        self.status = status
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with receiver.lock:
                    receiver.paths.append(self.path)
                    if receiver.status == 200 and self.path == "/v1/metrics":
                        request = metrics_service_pb2.ExportMetricsServiceRequest()
                        request.ParseFromString(body)
                        receiver.requests.append((self.headers.get("Content-Type"), request))
                status = receiver.status if self.path == "/v1/metrics" else 404
                reply = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString() if status == 200 else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1][1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def run_state(fake_state, threshold_result):
    fake_state.info = {"run_id": RUN_ID, "profile": "load", "host": "http://user:pw@127.0.0.1:8080", "started_at": 1_700_000_000.5}
    fake_state.thresholds = [
        threshold_result("http_req_duration", "p(95)<500", None, True),
        threshold_result("http_req_failed", "rate<0.01", None, False),
    ]
    return fake_state


def feed(state, n: int, rng: random.Random) -> None:
    for i in range(n):
        method, name = ENDPOINTS[i % len(ENDPOINTS)]
        ms = rng.lognormvariate(math.log(120), 0.9)
        failure = rng.choice([None] * 12 + ["server_error", "timeout", "rate_limited"])
        state.stats.record(method, name, ms, failure, user_class="CustomerUser")
    state.users = min(state.users + 3, 20)


def attrs(kvs) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in kvs}


def decode(request) -> dict:
    """metric name -> (kind, {frozen attributes: point}); plus the resource attributes."""
    out: dict = {}
    (resource_metrics,) = request.resource_metrics
    out["resource"] = attrs(resource_metrics.resource.attributes)
    for scope_metrics in resource_metrics.scope_metrics:
        for metric in scope_metrics.metrics:
            kind = metric.WhichOneof("data")
            points = getattr(metric, kind).data_points
            out[metric.name] = (kind, metric, {frozenset(attrs(p.attributes).items()): p for p in points})
    return out


def value(point) -> float:
    return point.as_int if point.WhichOneof("value") == "as_int" else point.as_double


def scraped(state) -> dict[str, list]:
    text = generate_latest(prom.build_registry(state)).decode()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def assert_same_numbers_as_metrics(request, state) -> None:
    """Every number of the OTLP request equals the state's and the /metrics scrape's."""
    got = decode(request)
    assert got["resource"]["service.name"] == otlp.SERVICE_NAME
    assert got["resource"]["bss_loadtest.run_id"] == RUN_ID
    stats = state.stats

    kind, metric, requests = got[otlp.REQUESTS]
    assert kind == "sum" and metric.sum.is_monotonic
    assert metric.sum.aggregation_temporality == 2  # cumulative
    for key, aggregate in stats.endpoints.items():
        method, name = stats.methods[key]
        base = {"run_id": RUN_ID, "method": method, "name": name}

        def count(outcome: str, base=base) -> float:
            return value(requests[frozenset({**base, "outcome": outcome}.items())])

        assert count("success") == aggregate.count - aggregate.failures
        for failure_class in FAILURE_CLASSES:
            assert count(failure_class) == aggregate.failures_by_class.get(failure_class, 0)
    business = sum(value(p) for labels, p in requests.items() if dict(labels)["method"] != "AUTH")
    assert business == stats.total.count

    kind, metric, durations = got[otlp.DURATION]
    assert kind == "histogram" and metric.unit == "s" and metric.histogram.aggregation_temporality == 2
    families = scraped(state)
    buckets = families["bss_loadtest_request_duration_seconds"]
    for key, aggregate in stats.endpoints.items():
        method, name = stats.methods[key]
        point = durations[frozenset({"run_id": RUN_ID, "method": method, "name": name}.items())]
        assert point.count == aggregate.count
        assert point.sum == pytest.approx(aggregate.histogram.total_ms / 1000)
        assert point.min == pytest.approx(aggregate.min_ms / 1000) and point.max == pytest.approx(aggregate.max_ms / 1000)
        assert list(point.explicit_bounds) == list(prom.DURATION_BUCKETS_S)
        # The same cumulative counts as /metrics' le buckets.
        cumulative = [sum(point.bucket_counts[: i + 1]) for i in range(len(point.bucket_counts))]
        expected = [
            s.value for s in buckets
            if s.name.endswith("_bucket") and (s.labels["method"], s.labels["name"]) == (method, name)
        ]
        assert cumulative == expected

    _, _, users = got[otlp.USERS]
    assert [value(p) for p in users.values()] == [state.users]
    _, _, thresholds = got[otlp.THRESHOLD]
    assert {dict(k)["threshold"]: value(p) for k, p in thresholds.items()} == {
        "http_req_duration: p(95)<500": 1, "http_req_failed: rate<0.01": 0,
    }
    _, _, info = got[otlp.RUN_INFO]
    assert [dict(k) for k in info] == [{"run_id": RUN_ID, "profile": "load", "host": "http://127.0.0.1:8080"}]
    _, _, start = got[otlp.RUN_START]
    assert [value(p) for p in start.values()] == [1_700_000_000.5]


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_periodic_exports_then_a_final_one_with_the_final_numbers(run_state, receiver):
    rng = random.Random(3)
    export = otlp.OtlpExport(run_state, receiver.url, interval_s=0.2)
    export.start_run(RUN_ID)
    try:
        feed(run_state, 300, rng)
        assert wait_until(lambda: receiver.count() >= 2), "no periodic export landed"
        periodic = receiver.count()
        feed(run_state, 200, rng)  # after the last periodic export the final one must hold these too
    finally:
        landed = export.end_run()
    assert landed
    assert receiver.count() > periodic
    content_type, _ = receiver.requests[-1]
    assert content_type == "application/x-protobuf"
    assert set(receiver.paths) == {"/v1/metrics"}
    assert_same_numbers_as_metrics(receiver.last(), run_state)
    assert export.failures == 0 and export.exports == receiver.count()

    # Nothing more after the end of the run; stop() is idempotent.
    count = receiver.count()
    export.stop()
    time.sleep(0.5)
    assert receiver.count() == count


def test_a_new_run_starts_its_counters_from_its_own_state(run_state, receiver):
    export = otlp.OtlpExport(run_state, receiver.url, interval_s=60)
    export.start_run(RUN_ID)
    feed(run_state, 40, random.Random(1))
    assert export.end_run()
    first = decode(receiver.last())
    assert sum(value(p) for p in first[otlp.REQUESTS][2].values()) == 40

    run_state.stats = type(run_state.stats)()  # a new run is a new RunState
    run_state.info = {**run_state.info, "run_id": "run-otlp-2"}
    export.start_run("run-otlp-2")
    feed(run_state, 9, random.Random(2))
    export.stop()
    second = decode(receiver.last())
    assert second["resource"]["bss_loadtest.run_id"] == "run-otlp-2"
    assert {dict(k)["run_id"] for k in second[otlp.REQUESTS][2]} == {"run-otlp-2"}
    assert sum(value(p) for p in second[otlp.REQUESTS][2].values()) == 9


def test_a_collector_that_is_down_costs_one_warning_and_a_failed_final_export(run_state, caplog, prom_helpers):
    caplog.set_level(logging.INFO)
    port = prom_helpers.free_port()  # nothing listens there
    export = otlp.OtlpExport(run_state, f"http://127.0.0.1:{port}", interval_s=0.1, timeout_s=0.5)
    export.start_run(RUN_ID)
    feed(run_state, 20, random.Random(4))
    assert wait_until(lambda: export.failures >= 3)
    started = time.monotonic()
    landed = export.end_run()
    assert not landed and time.monotonic() - started < 5
    ours = [r for r in caplog.records if r.name == otlp.__name__ and r.levelno >= logging.WARNING]
    assert len(ours) == 2, [r.getMessage() for r in ours]
    assert "will keep trying every 0.1s" in ours[0].getMessage()
    assert "final export failed" in ours[1].getMessage()
    # The SDK exporter's own per-export errors are folded into those lines.
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry") and r.levelno >= logging.WARNING]


def test_an_outage_then_recovery_is_reported_once_each_way(run_state, caplog):
    caplog.set_level(logging.INFO, logger=otlp.__name__)
    receiver = Receiver(status=503)
    try:
        export = otlp.OtlpExport(run_state, receiver.url, interval_s=0.1, timeout_s=0.3)
        export.start_run(RUN_ID)
        feed(run_state, 20, random.Random(5))
        assert wait_until(lambda: export.failures >= 2)
        receiver.status = 200
        assert wait_until(lambda: receiver.count() >= 1)
        feed(run_state, 5, random.Random(6))
        assert export.end_run()
        assert_same_numbers_as_metrics(receiver.last(), run_state)
    finally:
        receiver.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == otlp.__name__]
    assert len([m for m in messages if "export failed" in m]) == 1, messages
    assert len([m for m in messages if "exporting again" in m]) == 1, messages


@pytest.mark.parametrize(
    "endpoint, url",
    [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/metrics"),
        ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/metrics"),
        ("https://collector.example:443/otlp", "https://collector.example:443/otlp/v1/metrics"),
        ("http://127.0.0.1:4318/v1/metrics", "http://127.0.0.1:4318/v1/metrics"),
        ("127.0.0.1:4318", "http://127.0.0.1:4318/v1/metrics"),
    ],
)
def test_the_endpoint_is_a_collector_base_url_or_the_metrics_url(endpoint, url):
    assert otlp.metrics_url(endpoint) == url


@pytest.mark.parametrize("endpoint", ["ftp://x:21", "http://", "http://host:port"])
def test_a_bad_endpoint_is_a_config_error(fake_state, endpoint):
    with pytest.raises(ConfigError, match=r"^--otlp-endpoint "):
        otlp.OtlpExport(fake_state, endpoint)


def test_credentials_in_the_endpoint_are_not_shown(fake_state, caplog):
    caplog.set_level(logging.INFO, logger=otlp.__name__)
    export = otlp.OtlpExport(fake_state, "http://user:s3cret@127.0.0.1:1", interval_s=60, timeout_s=0.2)
    export.start_run(RUN_ID)
    export.end_run()
    assert "s3cret" not in export.shown_url and "s3cret" not in caplog.text


@pytest.mark.parametrize("interval", [0, -1, "x", float("nan")])
def test_a_bad_interval_is_a_config_error(fake_state, interval):
    with pytest.raises(ConfigError, match=r"^--push-interval "):
        otlp.OtlpExport(fake_state, "http://127.0.0.1:4318", interval_s=interval)


def test_without_the_sdk_the_error_names_the_packages_to_install(fake_state, monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.metrics", None)  # import fails as if not installed
    with pytest.raises(ConfigError) as error:
        otlp.OtlpExport(fake_state, "http://127.0.0.1:4318")
    assert str(error.value).endswith(": pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http")
    assert str(error.value).startswith("--otlp-endpoint needs the OpenTelemetry SDK")


GEVENT_SCRIPT = r'''
from gevent import monkey; monkey.patch_all()
import socket, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import gevent
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from bss_loadtest.core.stats import RunStats
from bss_loadtest.run import otlp
class S:
    stats = RunStats()
    def user_count(self): return 1
    def threshold_results(self): return []
    def run_info(self): return {"run_id": "g", "profile": "smoke", "host": "http://x"}
s = S()
for i in range(50): s.stats.record("GET", "/a", 5.0 + i)
got = []
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        r = ExportMetricsServiceRequest(); r.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        got.append(r); self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), H); threading.Thread(target=srv.serve_forever, daemon=True).start()
ticks = []
def ticker():
    while True:
        ticks.append(time.monotonic()); gevent.sleep(0.01)
g = gevent.spawn(ticker)
e = otlp.OtlpExport(s, f"http://127.0.0.1:{srv.server_port}", interval_s=0.1, timeout_s=0.5)
e.start_run("g"); gevent.sleep(0.5); assert e.end_run() and len(got) >= 2, len(got)
with socket.socket() as silent:  # accepts, never answers
    silent.bind(("127.0.0.1", 0)); silent.listen(8)
    e = otlp.OtlpExport(s, f"http://127.0.0.1:{silent.getsockname()[1]}", interval_s=0.1, timeout_s=0.5)
    e.start_run("g"); gevent.sleep(1.0)
    t0 = time.monotonic(); landed = e.end_run(); took = time.monotonic() - t0
g.kill(); srv.shutdown()
gaps = [b - a for a, b in zip(ticks, ticks[1:])]
print("exports", len(got), "max gap %.3f" % max(gaps), "final landed", landed, "end took %.2f" % took)
assert not landed and took < 5 and max(gaps) < 0.2, (landed, took, max(gaps))
print("OK")
'''


@pytest.mark.slow  # seconds of CPU: outside the --fast loop
def test_exports_under_gevent_monkey_patching_never_block_the_loop():
    pytest.importorskip("gevent")
    result = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT], capture_output=True, text=True, timeout=50)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr
