"""What a BssUser's request time leaves out, as k6's ``http_req_duration`` does: the time its
response waited in the generator after it had come in (by the kernel's receive stamps, or by the
event loop's clock where there are none), and the setup of its connection (a ``CONNECT host:port``
row of its own). A real BssUser runs in a subprocess (importing Locust here would patch pytest's
process) against a loopback server in this one.

The times asserted are orders apart (a 30 ms server against a 150 ms hold of the loop), so a
slow machine moves them without crossing the bounds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from tests.json_stub import json_server

CUSTOMER = json.dumps({"id": "c-1", "firstName": "A", "lastName": "B", "email": "a@example.com",
                       "status": "ACTIVE", "createdAt": "2025-01-01T00:00:00", "updatedAt": "2025-01-01T00:00:00",
                       "version": 0}).encode()
SERVER_MS = 30
HOLD_MS = 150

USER_SCRIPT = textwrap.dedent('''
    import json, sys, time
    import gevent
    from locust.env import Environment
    from locust.event import Events
    from bss_loadtest.client import http
    from bss_loadtest.client.base import BssUser

    if sys.argv[3] == "loop":
        http._SO_TIMESTAMPNS = None  # no kernel receive stamps: the loop's clock alone

    class TimedUser(BssUser):
        pass

    TimedUser.host = sys.argv[1]
    hold_s = float(sys.argv[2]) / 1000

    class Options:
        no_auth = True
        run_id = "run-timing"

    events = Events()
    seen = []
    events.request.add_listener(lambda request_type, name, response_time, start_time=None, **kw:
                                seen.append((request_type, name, response_time, start_time)))
    env = Environment(user_classes=[TimedUser], events=events, parsed_options=Options())
    first, second = TimedUser(env), TimedUser(env)
    for user in (first, second):  # each user's first request, before the timed ones
        user.api.call("customers.get", path={"id": "warm"})

    def hold(seconds):  # work that keeps the loop from running anything else
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    walls = {}

    def one(user, name):
        began = time.perf_counter()
        user.api.call("customers.get", path={"id": name})
        walls[name] = (time.perf_counter() - began) * 1000
        hold(hold_s)  # the other response is in by now and waits for this

    a, b = gevent.spawn(one, first, "a"), gevent.spawn(one, second, "b")
    gevent.sleep(0.005)  # both requests are sent, their answers due in 30 ms
    hold(hold_s / 2)     # both answers come in while the loop is held: one poll sees both
    gevent.joinall([a, b])
    print("RESULT " + json.dumps({"events": seen, "walls": walls}))
''')


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (openssl, from Debian)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl not found: install the Debian package openssl")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def timed_run(request: pytest.FixtureRequest, clock: str, keep_alive: bool = False) -> tuple[int, list, dict]:
    """(port, request events, each timed call's wall ms) of the two users' run against a server whose
    two timed answers go out together, 30 ms after both requests are in."""
    barrier = threading.Barrier(2, timeout=10)

    def answer(method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        if not path.endswith("/warm"):
            barrier.wait()  # both answers go out together
            time.sleep(SERVER_MS / 1000)
        return 200, CUSTOMER

    tls = request.getfixturevalue("certificate") if clock == "tls" else None
    with json_server(answer, tls=tls, keep_alive=keep_alive) as server:
        port = server.server_port
        scheme = "https" if tls else "http"
        result = subprocess.run([sys.executable, "-c", USER_SCRIPT, f"{scheme}://127.0.0.1:{port}", str(HOLD_MS), clock],
                                capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stderr[-3000:]
    run = json.loads(lines[0].removeprefix("RESULT "))
    return port, run["events"], run["walls"]


@pytest.mark.parametrize("clock", ["kernel", "loop", "tls"])
def test_a_response_that_waits_on_the_loop_is_not_charged_the_wait(clock, request):
    port, events, walls = timed_run(request, clock)

    # this server closes each connection (HTTP/1.0): every request opens one, a CONNECT row of its own
    connects = [name for kind, name, _, _ in events if kind == "CONNECT"]
    assert connects == [f"127.0.0.1:{port}"] * 4
    # each request's CONNECT row comes just before it, and starts when the connection began
    assert [kind for kind, *_ in events] == ["CONNECT", "GET"] * 4
    for (_, _, setup_ms, opened), (_, _, _, sent) in zip(events[::2], events[1::2], strict=True):
        assert opened is not None and sent is not None, events
        if clock == "kernel":  # timed on the wire: sent when its first byte went, after the setup
            assert sent >= opened + setup_ms / 1000, events
        else:  # timed from Locust's start of the request, before its connection
            assert sent <= opened, events
    gets = [(name, ms) for kind, name, ms, _ in events if kind != "CONNECT"]
    assert [name for name, _ in gets] == ["/api/v1/customers/{id}"] * 4
    reported = [ms for _, ms in gets[2:]]
    later = max(walls.values())
    assert later >= 1.4 * HOLD_MS, walls  # the second answer read sat through both holds
    assert all(ms >= SERVER_MS for ms in reported), (reported, walls)
    if clock == "kernel":
        # the kernel stamped each answer as it arrived, during the first hold: neither hold counts
        assert max(reported) < SERVER_MS + 0.3 * HOLD_MS, (reported, walls)
    elif clock == "loop":
        # the loop's clock sees the second answer waiting through the first one's hold, after the
        # poll that found both: that hold is taken off, the one they both came in during is not
        assert max(reported) < later - 0.6 * HOLD_MS, (reported, walls)
    else:
        # TLS (the library reads the socket itself: no kernel stamps; each request here opens its
        # connection, whose handshake is its CONNECT row, and whose first read wakes for the
        # server's session tickets, not for the answer): no read delay is taken off, so each is the
        # wall time less the handshake, and never less than the server's time
        assert all(ms <= wall for ms, wall in zip(sorted(reported), sorted(walls.values()))), (reported, walls)


def test_over_tls_a_kept_connection_is_not_charged_the_wait_on_the_loop(request):
    port, events, walls = timed_run(request, "tls", keep_alive=True)
    # the warm-up requests opened each user's connection (and read its session tickets); the timed
    # ones go on it
    assert [(kind, name) for kind, name, _, _ in events] == (
        [("CONNECT", f"127.0.0.1:{port}"), ("GET", "/api/v1/customers/{id}")] * 2 + [("GET", "/api/v1/customers/{id}")] * 2)
    reported = [ms for _, _, ms, _ in events[4:]]
    later = max(walls.values())
    assert later >= 1.4 * HOLD_MS, walls
    assert all(ms >= SERVER_MS for ms in reported), (reported, walls)
    # by the loop's clock, as over plain HTTP without stamps: the hold the later answer sat
    # through after the poll that found it is taken off
    assert max(reported) < later - 0.6 * HOLD_MS, (reported, walls)
