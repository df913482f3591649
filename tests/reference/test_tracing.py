"""Trace context, the JSON access log and the OTLP/HTTP span export of the reference server."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bss_reference.tracing import baggage_value, parse_traceparent

from .conftest import assert_problem, auth_client, make_customer

TRACE_ID = re.compile(r"[0-9a-f]{32}")
SPAN_ID = re.compile(r"[0-9a-f]{16}")
LOG_FIELDS = ["timestamp", "level", "logger", "traceId", "spanId", "parentSpanId", "runId", "method",
              "route", "status", "durationMs"]


def new_traceparent(flags: str = "01") -> tuple[str, str, str]:
    """(traceparent, trace id, parent span id) of a fresh caller span."""
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return f"00-{trace_id}-{span_id}-{flags}", trace_id, span_id


# -- parsing (pure) ----------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
     ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1)),
    (" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\t",
     ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0)),
    # a later version: its first four fields are read as version 00's
    ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-brings",
     ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 9)),
    ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
     ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1)),
])
def test_valid_traceparent(value, expected):
    assert parse_traceparent(value) == expected


INVALID_TRACEPARENTS = [
    "",
    "garbage",
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 has 4 fields
    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # trace id too short
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",  # span id too short
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
    "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
    "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
]


@pytest.mark.parametrize("value", INVALID_TRACEPARENTS)
def test_invalid_traceparent(value):
    assert parse_traceparent(value) is None


@pytest.mark.parametrize("header,expected", [
    ("loadtest.run_id=run-1", "run-1"),
    ("userId=alice, loadtest.run_id = 20261125-load ;prop=1;flag, x=y", "20261125-load"),
    ("loadtest.run_id=run%201%2C%C3%A9", "run 1,é"),
    ("a=b,loadtest.run_id=first,loadtest.run_id=second", "first"),
    ("a=b, c", None),
    ("loadtest.run_id=", None),
    ("loadtest.run_idx=1, xloadtest.run_id=2", None),
    ("", None),
])
def test_baggage_value(header, expected):
    assert baggage_value(header, "loadtest.run_id") == expected


# -- problems carry the incoming trace id ------------------------------------------------------

def test_problem_trace_id_is_the_incoming_trace_id(reference_server, api):
    def call(client: httpx.Client, method: str, path: str, **kwargs) -> tuple[httpx.Response, str]:
        traceparent, trace_id, _ = new_traceparent()
        return client.request(method, path, headers={"traceparent": traceparent}, **kwargs), trace_id

    customer, unknown = make_customer(api), str(uuid.uuid4())
    with httpx.Client(base_url=reference_server.url, timeout=10) as anonymous:
        cases = [
            (*call(anonymous, "GET", "/api/v1/customers"), 401),  # the gateway's own problem
            (*call(api, "POST", "/api/v1/customers", json={"firstName": ""}), 400),  # validation
            (*call(api, "PUT", f"/api/v1/customers/{unknown}/status",
                   json={"customerId": unknown, "status": "INACTIVE"}), 404),  # a handler's ApiError
            (*call(api, "GET", "/no/such/route"), 404),  # Starlette's 404
            (*call(api, "DELETE", "/api/v1/orders"), 405),
            (*call(api, "PUT", f"/api/v1/customers/{customer['id']}/status",
                   json={"customerId": customer["id"], "status": customer["status"]}), 409),
        ]
    for response, trace_id, status in cases:
        body = assert_problem(response, status)
        assert body["traceId"] == trace_id, (response.request.url, body)


def test_injected_fault_problem_carries_the_trace_id(reference_server_factory):
    server = reference_server_factory(extra_args=["--no-auth", "--error-rate", "1"])
    traceparent, trace_id, _ = new_traceparent()
    r = httpx.get(server.url + "/api/v1/customers", headers={"traceparent": traceparent}, timeout=10)
    assert assert_problem(r, 503)["traceId"] == trace_id


@pytest.mark.parametrize("value", INVALID_TRACEPARENTS[1:8])
def test_invalid_traceparent_starts_a_new_trace(reference_server, value):
    r = httpx.get(reference_server.url + "/no/such/route", headers={"traceparent": value}, timeout=10)
    trace_id = assert_problem(r, 404)["traceId"]
    assert TRACE_ID.fullmatch(trace_id) and trace_id != "0" * 32, trace_id
    assert trace_id not in value.lower()


def test_two_traceparent_headers_start_a_new_trace(reference_server):
    first, second = new_traceparent(), new_traceparent()
    r = httpx.get(reference_server.url + "/no/such/route", timeout=10,
                  headers=[("traceparent", first[0]), ("traceparent", second[0])])
    trace_id = assert_problem(r, 404)["traceId"]
    assert TRACE_ID.fullmatch(trace_id) and trace_id not in (first[1], second[1])


def test_without_traceparent_each_problem_has_its_own_trace(reference_server):
    ids = {assert_problem(httpx.get(reference_server.url + "/no/such/route", timeout=10), 404)["traceId"]
           for _ in range(5)}
    assert len(ids) == 5 and all(TRACE_ID.fullmatch(i) for i in ids)


# -- the access log ----------------------------------------------------------------------------

def read_log(path: Path, want: int, timeout_s: float = 5.0) -> list[dict]:
    """The log's lines once it has at least ``want`` of them (each line written whole)."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = path.read_text() if path.exists() else ""
        lines = text.splitlines()
        if len(lines) >= want or time.monotonic() > deadline:
            assert text == "" or text.endswith("\n"), text[-200:]
            return [json.loads(line) for line in lines]
        time.sleep(0.02)


def test_access_log_one_line_per_request(reference_server_factory, tmp_path):
    log = tmp_path / "access.log"
    server = reference_server_factory(extra_args=["--access-log", str(log)])
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    sent: dict[str, dict] = {}  # trace id -> what the line must say

    def call(client, method, path, expected_status, route, headers=(), **kwargs):
        traceparent, trace_id, parent = new_traceparent()
        r = client.request(method, path, headers={"traceparent": traceparent, **dict(headers)}, **kwargs)
        assert r.status_code == expected_status, r.text
        sent[trace_id] = {"parentSpanId": parent, "method": method, "route": route,
                          "status": expected_status, "runId": dict(headers).get("X-Load-Test-Run-Id")}
        return r

    with auth_client(server) as api:
        customer = make_customer(api)
        by_header = {"X-Load-Test-Run-Id": run_id}
        call(api, "GET", f"/api/v1/customers/{customer['id']}", 200, "/api/v1/customers/{id}", by_header)
        call(api, "GET", f"/api/v1/customers/{uuid.uuid4()}", 404, "/api/v1/customers/{id}", by_header)
        call(api, "GET", "/api/v1/customers/by-status/ACTIVE", 200, "/api/v1/customers/by-status/{status}",
             by_header)
        call(api, "GET", "/no/such/route", 404, "UNKNOWN", by_header)
        r = call(api, "POST", "/api/v1/customers", 400, "/api/v1/customers", by_header, json={})
        assert r.json()["traceId"] in sent
        # run id from the baggage (percent-encoded, among other members, with properties)
        baggage = {"baggage": f"user_class=CustomerUser, loadtest.run_id={run_id.replace('-', '%2D')};p=1"}
        call(api, "GET", f"/api/v1/customers/{customer['id']}", 200, "/api/v1/customers/{id}", baggage)
        for trace_id in list(sent)[-1:]:
            sent[trace_id]["runId"] = run_id
        # the header wins over the baggage; no run id at all is null
        both = {"X-Load-Test-Run-Id": run_id, "baggage": "loadtest.run_id=other"}
        call(api, "GET", "/api/v1/customers", 200, "/api/v1/customers", both)
        call(api, "GET", "/api/v1/customers", 200, "/api/v1/customers")
    with httpx.Client(base_url=server.url, timeout=10) as anonymous:
        call(anonymous, "GET", "/api/v1/customers", 401, "/api/v1/customers", by_header)

    lines = read_log(log, want=len(sent) + 3)  # + the token request, the POST and the health polls
    for line in lines:
        assert list(line) == LOG_FIELDS, line
        assert line["level"] == "INFO" and line["logger"] == "bss_reference.access"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"]), line
        assert TRACE_ID.fullmatch(line["traceId"]) and SPAN_ID.fullmatch(line["spanId"]), line
        assert isinstance(line["durationMs"], float) and line["durationMs"] >= 0
    by_trace: dict[str, list[dict]] = {}
    for line in lines:
        by_trace.setdefault(line["traceId"], []).append(line)
    for trace_id, want in sent.items():
        assert len(by_trace.get(trace_id, [])) == 1, (trace_id, by_trace.get(trace_id))
        line = by_trace[trace_id][0]
        assert {k: line[k] for k in want} == want, line
        assert line["spanId"] != want["parentSpanId"]
    # filtering by the run id finds exactly the requests that carried it
    assert sum(line["runId"] == run_id for line in lines) == sum(w["runId"] == run_id for w in sent.values())
    routes = {(line["method"], line["route"]) for line in lines}
    assert ("POST", "/realms/bss/protocol/openid-connect/token") in routes
    assert ("GET", "/actuator/health") in routes  # every request is logged, the health polls too
    # the time of a line is when the request was answered, and it is now-ish
    assert abs(time.time() - time.mktime(time.strptime(lines[-1]["timestamp"][:19] + "UTC",
                                                       "%Y-%m-%dT%H:%M:%S%Z"))) < 120


def test_access_log_whole_lines_under_concurrency(reference_server_factory, tmp_path):
    log = tmp_path / "access.log"
    server = reference_server_factory(extra_args=["--access-log", str(log), "--no-auth",
                                                  "--run-id-header", "X-Run"])
    before = len(read_log(log, want=1))
    with httpx.Client(base_url=server.url, timeout=10,
                      limits=httpx.Limits(max_connections=20)) as client:
        def one(i: int) -> str:
            traceparent, trace_id, _ = new_traceparent()
            client.get(f"/api/v1/customers?page={i % 3}", headers={"traceparent": traceparent,
                                                                   "X-Run": f"concurrent-{i}"})
            return trace_id
        with ThreadPoolExecutor(max_workers=16) as pool:
            trace_ids = list(pool.map(one, range(200)))
    lines = read_log(log, want=before + 200)[before:]
    assert len(lines) == 200
    assert sorted(line["traceId"] for line in lines) == sorted(trace_ids)
    assert sorted(line["runId"] for line in lines) == sorted(f"concurrent-{i}" for i in range(200))


def test_access_log_to_stdout(tmp_path):
    traceparent, trace_id, _ = new_traceparent()
    # Started directly (not through ReferenceServer) to read the server's stdout line by line.
    proc = subprocess.Popen([sys.executable, "-m", "bss_reference", "--port", "0", "--no-auth",
                             "--access-log", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")})
    try:
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(url + "/api/v1/customers", headers={"traceparent": traceparent}, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert r.status_code == 200
        line = json.loads(proc.stdout.readline())
        assert line["traceId"] == trace_id and line["route"] == "/api/v1/customers" and line["status"] == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0


@pytest.mark.parametrize("args,needle", [
    (["--access-log", "/nonexistent-dir/x/access.log"], "--access-log"),
    (["--access-log", ""], "--access-log"),
    (["--run-id-header", "Run Id"], "--run-id-header"),
    (["--otlp-endpoint", "localhost:4318"], "--otlp-endpoint"),
    (["--otlp-endpoint", "ftp://collector/v1/traces"], "--otlp-endpoint"),
])
def test_bad_tracing_options_are_one_line_exit_2(args, needle):
    r = subprocess.run([sys.executable, "-m", "bss_reference", "--port", "0", *args],
                       capture_output=True, text=True, timeout=20)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert needle in lines[0]


def test_otlp_without_the_sdk_names_the_pip_install():
    code = ("import sys; sys.modules['opentelemetry.sdk.trace'] = None\n"
            "from bss_reference.cli import main\n"
            "sys.exit(main(['--port', '0', '--otlp-endpoint', 'http://127.0.0.1:9']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: --otlp-endpoint: ") and lines[0].endswith(
        "pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http"), lines[0]


# -- OTLP/HTTP export --------------------------------------------------------------------------

class OtlpReceiver:
    """A minimal OTLP/HTTP traces receiver on loopback: keeps every span it is sent."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        receiver = self
        self.spans: list = []
        self.resources: list = []
        self.paths: list[str] = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with receiver.lock:
                    receiver.paths.append(self.path)
                    for resource_spans in request.resource_spans:
                        receiver.resources.append(resource_spans.resource)
                        for scope_spans in resource_spans.scope_spans:
                            receiver.spans.extend(scope_spans.spans)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def by_trace_id(self) -> dict[str, list]:
        with self.lock:
            spans = list(self.spans)
        out: dict[str, list] = {}
        for span in spans:
            out.setdefault(span.trace_id.hex(), []).append(span)
        return out


def attributes(span) -> dict:
    out = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = value.int_value if value.HasField("int_value") else value.string_value
    return out


def test_spans_reach_an_otlp_receiver_with_the_incoming_trace_ids(reference_server_factory, tmp_path):
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    log = tmp_path / "access.log"
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    with OtlpReceiver() as receiver:
        server = reference_server_factory(extra_args=["--no-auth", "--otlp-endpoint", receiver.url,
                                                      "--access-log", str(log)])
        sent: dict[str, tuple[str, str, int]] = {}  # trace id -> (parent span id, route, status)
        with httpx.Client(base_url=server.url, timeout=10) as client:
            customer = make_customer(client)
            requests = [("GET", f"/api/v1/customers/{customer['id']}", "/api/v1/customers/{id}", 200),
                        ("GET", f"/api/v1/customers/{uuid.uuid4()}", "/api/v1/customers/{id}", 404),
                        ("GET", "/api/v1/customers", "/api/v1/customers", 200),
                        ("GET", "/no/such/route", None, 404)] * 3
            for method, path, route, status in requests:
                traceparent, trace_id, parent = new_traceparent()
                headers = {"traceparent": traceparent,
                           "baggage": f"loadtest.run_id={run_id},loadtest.user_class=CustomerUser"}
                assert client.request(method, path, headers=headers).status_code == status
                sent[trace_id] = (parent, route, status)
            unsampled, unsampled_id, _ = new_traceparent(flags="00")
            assert client.get("/api/v1/customers", headers={"traceparent": unsampled}).status_code == 200
            fresh = client.get("/no/such/route", headers={"traceparent": "00-bad"})
            fresh_id = fresh.json()["traceId"]
        assert server.stop() == 0  # the spans still queued are flushed at shutdown
        spans = receiver.by_trace_id()

    assert set(receiver.paths) == {"/v1/traces"}
    resource = {kv.key: kv.value.string_value for kv in receiver.resources[0].attributes}
    assert resource["service.name"] == "bss-reference"
    for trace_id, (parent, route, status) in sent.items():
        assert len(spans.get(trace_id, [])) == 1, trace_id
        span = spans[trace_id][0]
        assert span.parent_span_id.hex() == parent
        assert span.kind == Span.SPAN_KIND_SERVER
        attrs = attributes(span)
        assert attrs["http.request.method"] == "GET"
        assert attrs["http.response.status_code"] == status
        assert attrs["loadtest.run_id"] == run_id
        assert attrs.get("http.route") == route
        assert span.name == (f"GET {route}" if route else "GET")
        assert span.end_time_unix_nano >= span.start_time_unix_nano > 0
        assert span.status.code != Status.STATUS_CODE_ERROR
    assert unsampled_id not in spans  # the caller did not sample that trace
    assert len(spans[fresh_id]) == 1 and spans[fresh_id][0].parent_span_id == b""  # a new trace
    # the access log names the same spans
    lines = {line["traceId"]: line for line in read_log(log, want=len(sent))}
    for trace_id in sent:
        assert lines[trace_id]["spanId"] == spans[trace_id][0].span_id.hex()
    assert lines[unsampled_id]["runId"] is None


def test_server_error_span_has_error_status(reference_server_factory):
    from opentelemetry.proto.trace.v1.trace_pb2 import Status

    with OtlpReceiver() as receiver:
        server = reference_server_factory(extra_args=["--no-auth", "--error-rate", "1",
                                                      "--otlp-endpoint", receiver.url + "/v1/traces"])
        traceparent, trace_id, _ = new_traceparent()
        r = httpx.get(server.url + "/api/v1/orders", timeout=10,
                      headers={"traceparent": traceparent, "X-Load-Test-Run-Id": "r1"})
        assert r.status_code == 503 and r.json()["traceId"] == trace_id
        assert server.stop() == 0
        span, = receiver.by_trace_id()[trace_id]
    assert span.status.code == Status.STATUS_CODE_ERROR
    assert attributes(span)["http.response.status_code"] == 503
    assert attributes(span)["loadtest.run_id"] == "r1"


def test_unreachable_otlp_receiver_costs_neither_requests_nor_the_stop(reference_server_factory):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    server = reference_server_factory(extra_args=["--no-auth", "--otlp-endpoint", f"http://127.0.0.1:{port}"])
    for _ in range(20):
        assert httpx.get(server.url + "/api/v1/customers", timeout=10).status_code == 200
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 5
