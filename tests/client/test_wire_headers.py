"""The exact header lines a BssUser's requests carry on the wire, and what each request reports.

A raw socket server records the request heads byte for byte (field names in their case, in
order); a real BssUser runs in a subprocess (importing Locust here would patch pytest's process).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

USER_SCRIPT = textwrap.dedent('''
    import json, sys
    from locust.env import Environment
    from locust.event import Events
    from bss_loadtest.client.base import BssUser

    host, no_auth, target_config, own_pool = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4] == "1"

    class WireUser(BssUser):
        pass

    if own_pool:  # a pool the user class brings: the lines go on the user agent's default headers
        from geventhttpclient.client import HTTPClientPool
        WireUser.client_pool = HTTPClientPool(concurrency=2)

    WireUser.host = host

    class Options:
        run_id = "run-77"

    Options.no_auth, Options.target_config = no_auth, target_config
    events = Events()
    seen = []

    def record(request_type, name, context, exception, **kw):
        seen.append([request_type, name, dict(context), type(exception).__name__ if exception else None,
                     str(exception) if exception else None])

    events.request.add_listener(record)
    env = Environment(user_classes=[WireUser], events=events, parsed_options=Options())
    user = WireUser(env)
    results = [
        user.api.call("customers.get", path={"id": "c-1"}) is not None,                      # 200, valid
        user.api.call("customers.get", path={"id": "missing"}),                              # 404
        user.api.call("customers.list", params={"page": 0, "size": 20}),                     # 200, invalid page
        user.api.call("customers.create", body=user.data.customer()) is not None,            # 201, valid
        user.api.call("customers.get", path={"id": "expired"}),                              # 401: token dropped
        user.api.call("customers.get", path={"id": "c-1"}) is not None,                      # a new token
    ]
    print("RESULT " + json.dumps({"results": results, "events": seen}))
''')

CUSTOMER = json.dumps({"id": "c-1", "firstName": "A", "lastName": "B", "email": "a@example.com", "status": "ACTIVE",
                       "createdAt": "2025-01-01T00:00:00", "updatedAt": "2025-01-01T00:00:00", "version": 0}).encode()


class WireServer:
    """HTTP/1.1 keep-alive on loopback; keeps every request head and body as sent."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests: list[tuple[list[str], bytes]] = []
        self.tokens = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                self.requests.append((lines, body))
                conn.sendall(self._answer(lines[0]))

    def _answer(self, request_line: str) -> bytes:
        if "openid-connect/token" in request_line:
            self.tokens += 1
            status, body = 200, json.dumps({"access_token": f"tok{self.tokens}", "expires_in": 3600,
                                            "token_type": "Bearer"}).encode()
        elif "missing" in request_line:
            status, body = 404, b'{"status":404}'
        elif "expired" in request_line:
            status, body = 401, b'{"status":401}'
        else:
            status, body = (201 if request_line.startswith("POST") else 200), CUSTOMER
        return (b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (status, len(body))
                + body)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def wire():
    server = WireServer()
    try:
        yield server
    finally:
        server.close()


def run_user(server: WireServer, *, no_auth: bool, target_config: str = "", own_pool: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BSS_")}
    result = subprocess.run([sys.executable, "-c", USER_SCRIPT, f"http://127.0.0.1:{server.port}",
                             "1" if no_auth else "0", target_config, "1" if own_pool else "0"],
                            capture_output=True, text=True, timeout=120, env=env)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stderr[-3000:]
    return json.loads(lines[0].removeprefix("RESULT "))


TRACEPARENT = re.compile(r"traceparent: 00-([0-9a-f]{32})-([0-9a-f]{16})-01")
USER_AGENT = re.compile(r"User-Agent: python/gevent-http-client-[0-9.]+")


def heads(server: WireServer) -> list[list[str]]:
    """The API requests' heads (the token requests left out), the ids and version normalised."""
    out = []
    for lines, _ in server.requests:
        if "openid-connect/token" in lines[0]:
            continue
        normal = []
        for line in lines:
            line = TRACEPARENT.sub("traceparent: 00-T-S-01", line)
            line = USER_AGENT.sub("User-Agent: UA", line)
            normal.append(line.replace(f"127.0.0.1:{server.port}", "HOST"))
        out.append(normal)
    return out


def without_length(head: list[str]) -> list[str]:
    return [line for line in head if not line.startswith("Content-Length: ")]


STATIC = ["baggage: loadtest.run_id=run-77,loadtest.user_class=WireUser", "X-Load-Test-Run-Id: run-77"]
PER_REQUEST = ["traceparent: 00-T-S-01", "Accept-Encoding: gzip, deflate, br", "Host: HOST"]


def test_the_header_lines_of_each_request_with_a_token(wire):
    run = run_user(wire, no_auth=False)
    got = heads(wire)
    get = lambda target, token: [f"GET {target} HTTP/1.1", "User-Agent: UA", *STATIC,  # noqa: E731
                                 f"Authorization: Bearer {token}", *PER_REQUEST]
    assert got[0] == get("/api/v1/customers/c-1", "tok1")
    assert got[1] == get("/api/v1/customers/missing", "tok1")
    assert got[2] == get("/api/v1/customers?page=0&size=20&sort=createdAt%2Cdesc", "tok1")
    body = next(b for lines, b in wire.requests if lines[0].startswith("POST /api/v1/customers "))
    assert without_length(got[3]) == ["POST /api/v1/customers HTTP/1.1", "User-Agent: UA", *STATIC,
                                      "Authorization: Bearer tok1", PER_REQUEST[0], "Content-Type: application/json",
                                      *PER_REQUEST[1:]]
    assert f"Content-Length: {len(body)}" in got[3] and "firstName" in json.loads(body)
    assert got[4] == get("/api/v1/customers/expired", "tok1")
    # the 401 dropped the token: the next request carries the new one, once
    assert got[5] == get("/api/v1/customers/c-1", "tok2")
    assert len(got) == 6 and wire.tokens == 2
    # a fresh trace id per request, and it is the one the request reports
    trace_ids = [TRACEPARENT.search("\n".join(lines)).group(1) for lines, _ in wire.requests
                 if "openid-connect" not in lines[0]]
    assert len(set(trace_ids)) == 6
    api_events = [e for e in run["events"] if e[0] not in ("AUTH", "CONNECT")]
    assert [e[2]["trace_id"] for e in api_events] == trace_ids
    # the connection's setup is its own row, named after the target, once: the others reuse it
    assert [e[0] for e in run["events"]] == ["AUTH", "CONNECT", "GET", "GET", "GET", "POST", "GET", "AUTH", "GET"]
    assert run["events"][1][1] == f"127.0.0.1:{wire.port}" and run["events"][1][3] is None


def test_a_user_class_with_its_own_client_pool_sends_the_same_lines(wire):
    run = run_user(wire, no_auth=False, own_pool=True)
    got = heads(wire)
    assert got[0] == ["GET /api/v1/customers/c-1 HTTP/1.1", "User-Agent: UA", *STATIC, "Authorization: Bearer tok1",
                      *PER_REQUEST]
    assert sorted(without_length(got[3])) == sorted(["POST /api/v1/customers HTTP/1.1", "User-Agent: UA", *STATIC,
                                                     "Authorization: Bearer tok1", "Content-Type: application/json",
                                                     *PER_REQUEST])
    assert got[5][3:5] == ["X-Load-Test-Run-Id: run-77", "Authorization: Bearer tok2"]
    trace_ids = [TRACEPARENT.search("\n".join(lines)).group(1) for lines, _ in wire.requests
                 if "openid-connect" not in lines[0]]
    assert [e[2]["trace_id"] for e in run["events"] if e[0] != "AUTH"] == trace_ids and len(set(trace_ids)) == 6


def test_what_each_request_reports(wire):
    run = run_user(wire, no_auth=False)
    assert run["results"] == [True, None, None, True, None, True]
    reported = [(e[1], {k: v for k, v in e[2].items() if k != "trace_id"}, e[3], e[4])
                for e in run["events"] if e[0] not in ("AUTH", "CONNECT")]
    ctx = lambda status, expected, checks: {"user_class": "WireUser", "status": status,  # noqa: E731
                                            "expected": expected, "checks": checks}
    assert reported == [
        ("/api/v1/customers/{id}", ctx(200, True, [2, 0]), None, None),
        ("/api/v1/customers/{id}", ctx(404, False, [0, 1]), "ClientError", "HTTP 404, expected 200"),
        ("/api/v1/customers", ctx(200, True, [1, 1]), "ValidationFailure",
         "HTTP 200 body invalid: content: Field required (+7 more)"),
        ("/api/v1/customers", ctx(201, True, [2, 0]), None, None),
        ("/api/v1/customers/{id}", ctx(401, False, [0, 1]), "AuthFailure", "HTTP 401, expected 200"),
        ("/api/v1/customers/{id}", ctx(200, True, [2, 0]), None, None),
    ]


def test_without_auth_and_with_the_tracing_headers_switched_off(wire, tmp_path):
    run_user(wire, no_auth=True)
    got = heads(wire)
    assert got[0] == ["GET /api/v1/customers/c-1 HTTP/1.1", "User-Agent: UA", *STATIC, *PER_REQUEST]
    assert not any(line.startswith("Authorization") for head in got for line in head)
    wire.requests.clear()
    config = tmp_path / "quiet.yaml"
    config.write_text("tracing:\n  traceparent: false\n  baggage: false\n  run_id_header_name: X-Run\n")
    run = run_user(wire, no_auth=True, target_config=str(config))
    got = heads(wire)
    assert got[0] == ["GET /api/v1/customers/c-1 HTTP/1.1", "User-Agent: UA", "X-Run: run-77",
                      "Accept-Encoding: gzip, deflate, br", "Host: HOST"]
    assert without_length(got[3]) == ["POST /api/v1/customers HTTP/1.1", "User-Agent: UA", "X-Run: run-77",
                                      "Content-Type: application/json", "Accept-Encoding: gzip, deflate, br",
                                      "Host: HOST"]
    assert all("trace_id" not in e[2] for e in run["events"])
    config.write_text("tracing:\n  traceparent: true\n  baggage: false\n  run_id_header: false\n")
    wire.requests.clear()
    run_user(wire, no_auth=True, target_config=str(config))
    assert heads(wire)[0] == ["GET /api/v1/customers/c-1 HTTP/1.1", "User-Agent: UA", *PER_REQUEST]


QUERY_SCRIPT = textwrap.dedent('''
    import json, types
    from urllib.parse import urlencode
    from bss_loadtest.client import base

    cases = [
        {"page": 0, "size": 20, "sort": "createdAt,desc"},
        {"page": True, "size": 1, "q": "Nowak & Syn ż/ą+%"},
        {"page": 1, "q": "", "status": None, "x": 1.5, "y": -0.0, "z": 0.0, "ids": ["a", "b"], 3: "k"},
        {"q": b"raw bytes&", "n": -7},
    ]
    client = types.SimpleNamespace(_query_parts={})
    first = [base.BssClient._query(client, c) for c in cases]
    again = [base.BssClient._query(client, c) for c in cases]   # from the cache
    cached = len(client._query_parts)
    base._QUERY_CACHE_SIZE = 2
    client = types.SimpleNamespace(_query_parts={})
    small = [base.BssClient._query(client, c) for c in cases]   # a cache that keeps emptying
    print("RESULT " + json.dumps({"expected": [urlencode(c) for c in cases], "first": first, "again": again,
                                  "small": small, "cached": cached,
                                  "small_cached": len(client._query_parts)}))
''')


def test_query_strings_are_urlencode_s():
    result = subprocess.run([sys.executable, "-c", QUERY_SCRIPT], capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stderr[-3000:]
    run = json.loads(lines[0].removeprefix("RESULT "))
    assert run["first"] == run["again"] == run["small"] == run["expected"]
    # str and int values of str keys are kept; bool, float, None, bytes, lists and other keys are not
    assert run["cached"] == 8 and run["small_cached"] <= 2
