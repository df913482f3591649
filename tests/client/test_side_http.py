"""The side-request helper against a real misbehaving server on loopback: one error type, short
messages, and a total deadline that a dripping server cannot stretch."""

from __future__ import annotations

import socket
import socketserver
import threading
import time

import pytest

from bss_loadtest.client.side_http import MESSAGE_CHARS, SideHttpError, request

DEADLINE_S = 1.0
SLACK_S = 0.5
"""How far past its deadline a request may end (scheduling on a shared machine)."""


def _answer(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra) + body


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                return
            head += chunk
        self.server.seen.append(head)
        path = head.split(b" ", 2)[1].decode()
        try:
            getattr(self, "mode_" + path.strip("/").split("?")[0])(sock)
        except OSError:
            pass  # the client gave up: what these tests want

    def mode_ok(self, sock):
        sock.sendall(_answer(b'{"ok": true}', b"X-Thing: 1\r\n"))

    def mode_status(self, sock):
        sock.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")

    def mode_chunked(self, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")

    def mode_drip_head(self, sock):
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
            sock.sendall(bytes([byte]))
            time.sleep(0.5)

    def mode_drip_body(self, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            sock.sendall(b"x")
            time.sleep(0.5)

    def mode_silent(self, sock):
        time.sleep(5)

    def mode_garbage(self, sock):
        sock.sendall(b"\x00\xffSSH-2.0-OpenSSH " + b"A" * 5000 + b"\r\n\r\n")

    def mode_garbage_long(self, sock):
        sock.sendall(b"Z" * 100_000)

    def mode_many_headers(self, sock):
        headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 40) for i in range(150))
        sock.sendall(b"HTTP/1.1 200 OK\r\n" + headers + b"Content-Length: 2\r\n\r\n{}")

    def mode_huge(self, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n" + b"x" * 100_000)

    def mode_huge_unsized(self, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(40):
            sock.sendall(b"y" * 65536)

    def mode_close_early(self, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"partial")

    def mode_close_at_once(self, sock):
        pass

    def mode_bad_chunk(self, sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot-a-size-" + b"q" * 500 + b"\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[bytes] = []


@pytest.fixture(scope="module")
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def _fails(url: str, **kwargs) -> tuple[SideHttpError, float]:
    started = time.monotonic()
    with pytest.raises(SideHttpError) as info:
        request("GET", url, deadline_s=kwargs.pop("deadline_s", DEADLINE_S), **kwargs)
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert "\n" not in message and len(message) <= MESSAGE_CHARS, message
    return info.value, elapsed


def test_an_answer_is_returned_whatever_its_status(server):
    srv, base = server
    answer = request("POST", base + "/ok?x=1", headers={"Content-Type": "application/json"}, body=b"{}",
                     deadline_s=DEADLINE_S)
    assert answer.status == 200 and answer.ok and answer.body == b'{"ok": true}'
    assert answer.headers["x-thing"] == "1"
    head = srv.seen[-1].lower()
    assert head.startswith(b"post /ok?x=1 http/1.1") and b"content-length: 2" in head
    busy = request("GET", base + "/status", deadline_s=DEADLINE_S)
    assert (busy.status, busy.ok, busy.body) == (503, False, b"busy")
    assert request("GET", base + "/chunked", deadline_s=DEADLINE_S).body == b"hello world"


def test_proxy_variables_are_ignored(server, monkeypatch):
    _, base = server
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert request("GET", base + "/ok", deadline_s=DEADLINE_S).status == 200


@pytest.mark.parametrize("mode", ["drip_head", "drip_body", "silent"])
def test_a_dripping_or_silent_server_cannot_hold_it_past_the_deadline(server, mode):
    _, base = server
    error, elapsed = _fails(base + "/" + mode)
    assert error.failure_class == "timeout"
    assert "within 1 s" in str(error)
    assert DEADLINE_S - 0.1 <= elapsed < DEADLINE_S + SLACK_S, elapsed


@pytest.mark.parametrize("mode", ["garbage", "garbage_long", "bad_chunk", "many_headers"])
def test_garbage_is_one_short_line(server, mode):
    _, base = server
    error, elapsed = _fails(base + "/" + mode)
    assert error.failure_class == "connection"
    assert "AAAAAAAAAA" * 10 not in str(error) and "ZZZZZZZZZZ" * 10 not in str(error)
    assert "vvvvvvvvvv" * 4 not in str(error) and len(str(error)) <= 200
    assert elapsed < DEADLINE_S + SLACK_S


@pytest.mark.parametrize("mode", ["huge", "huge_unsized"])
def test_a_body_over_the_limit_is_an_error(server, mode):
    _, base = server
    error, elapsed = _fails(base + "/" + mode, max_bytes=64 * 1024)
    assert error.failure_class == "other"
    assert "over the limit" in str(error)
    assert elapsed < DEADLINE_S + SLACK_S


@pytest.mark.parametrize(("mode", "words"),
                         [("close_early", "after 7 of 1000 bytes"), ("close_at_once", "without an answer")])
def test_a_connection_closed_early_is_an_error(server, mode, words):
    _, base = server
    error, elapsed = _fails(base + "/" + mode)
    assert error.failure_class == "connection" and words in str(error), str(error)
    assert elapsed < DEADLINE_S + SLACK_S


def test_refused_and_bad_urls():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the with ends: nothing listens
    error, _ = _fails(f"http://127.0.0.1:{port}/x")
    assert (str(error), error.failure_class) == ("connection refused", "connection")
    error, _ = _fails("ftp://example.invalid/" + "x" * 500)
    assert error.failure_class == "other" and str(error).startswith("not an http(s) URL")
