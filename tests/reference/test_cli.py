"""Start-up errors, persistence across restarts, quirks mode, the process wrapper."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys

import httpx
import pytest
from tests.servers import ServerStartHung, start_server

from bss_reference import cli
from bss_reference.process import ReferenceServer, ReferenceServerError

from .conftest import auth_client, make_customer, make_product


def _run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bss_reference", *args], capture_output=True,
                          text=True, timeout=timeout)


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_port_in_use_is_one_line_exit_2():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        line = _one_error_line(_run("--port", str(port)))
    assert str(port) in line and "in use" in line.lower()


@pytest.mark.parametrize("args,needle", [
    (["--db", "/nonexistent-dir/x/bss.db"], "--db"),
    (["--port", "70000"], "--port"),
    (["--error-rate", "1.5"], "--error-rate"),
    (["--token-ttl", "0"], "--token-ttl"),
    (["--log-level", "chatty"], "--log-level"),
    (["--port", "eighty"], "--port"),
    (["--bogus"], "--bogus"),
])
def test_bad_options_are_one_line_exit_2(args, needle):
    assert needle in _one_error_line(_run("--port", "0", *args))


def test_unwritable_db_file(tmp_path):
    if os.geteuid() == 0:
        db = tmp_path / "dir-not-file"
        db.mkdir()
    else:
        db = tmp_path / "ro.db"
        db.write_bytes(b"")
        db.chmod(0o444)
    assert "--db" in _one_error_line(_run("--port", "0", "--db", str(db)))


def test_garbage_db_file(tmp_path):
    db = tmp_path / "garbage.db"
    db.write_bytes(b"this is not a sqlite database" * 100)
    assert "--db" in _one_error_line(_run("--port", "0", "--db", str(db)))


def test_configure_parser_defaults(monkeypatch):
    monkeypatch.delenv("BSS_REFERENCE_QUIRKS", raising=False)
    monkeypatch.delenv("BSS_CLIENT_SECRET", raising=False)
    parser = argparse.ArgumentParser()
    cli.configure_parser(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.db, args.no_auth, args.client_secret, args.token_ttl) == (
        "127.0.0.1", 8080, ":memory:", False, "bss-secret", 300)
    assert (args.rate_limit, args.rate_limit_user, args.rate_limit_ip) == (False, 100, 200)
    assert (args.latency_ms, args.error_rate, args.quirks) == (0.0, 0.0, False)
    monkeypatch.setenv("BSS_REFERENCE_QUIRKS", "1")
    parser = argparse.ArgumentParser()
    cli.configure_parser(parser)
    assert parser.parse_args([]).quirks is True


@pytest.mark.slow
def test_file_db_survives_restart_and_seeds_once(tmp_path):
    db = str(tmp_path / "bss.db")
    with ReferenceServer(db=db) as server:
        with auth_client(server) as api:
            c = make_customer(api)
            p = make_product(api)
            products = api.get("/api/products").json()["totalElements"]
    assert server.process.returncode == 0
    assert os.path.exists(db + "-wal") or os.path.getsize(db) > 0
    with ReferenceServer(db=db) as server:
        with auth_client(server) as api:
            assert api.get(f"/api/v1/customers/{c['id']}").json() == c
            assert api.get(f"/api/products/{p['id']}").json() == p
            assert api.get("/api/products").json()["totalElements"] == products  # no re-seed
            assert len(api.get("/api/services").json()) == 7
        assert "bss_customers 1.0" in server.metrics_text()


def test_quirks_mode(reference_server_factory):
    server = reference_server_factory(extra_args=["--quirks"])
    with auth_client(server) as api:
        assert api.get("/api/products").status_code == 500
        assert api.get("/api/products", params={"sort": "createdAt,desc"}).status_code == 500
        assert api.get("/api/products/active").status_code == 500
        assert api.get("/api/products", params={"sort": "createdAt"}).status_code == 200
        c = make_customer(api)
        o = api.post("/api/v1/orders", json={"orderNumber": "Q-1", "customerId": c["id"],
                                             "orderType": "NEW", "status": "DRAFT",
                                             "priority": "LOW", "totalAmount": 1}).json()
        assert api.delete(f"/api/v1/orders/{o['id']}").status_code == 501
        p = api.get("/api/products", params={"sort": "createdAt"}).json()["content"][0]
        s = api.post("/api/subscriptions", json={"customerId": c["id"], "productId": p["id"],
                                                 "startDate": "2025-01-01", "billingStart": "2025-01-01",
                                                 "billingPeriod": "MONTHLY", "price": 1}).json()
        assert api.put(f"/api/subscriptions/{s['id']}/renew").status_code == 500
    assert httpx.get(server.url + "/actuator/info").json()["reference"]["quirks"] is True


def test_quirks_from_environment(reference_server_factory):
    server = reference_server_factory(env={"BSS_REFERENCE_QUIRKS": "1"}, extra_args=["--no-auth"])
    assert httpx.get(server.url + "/api/products").status_code == 500


def test_process_wrapper_start_failure_and_idempotent_stop():
    with pytest.raises(ReferenceServerError, match="--db"):
        ReferenceServer(db="/nonexistent-dir/x/bss.db").start()
    server = ReferenceServer().start()
    pid = server.pid
    assert server.port and server.url.endswith(str(server.port)) and pid
    assert server.stop() == 0
    assert server.stop() == 0
    server.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/actuator/health", timeout=1)


def test_fixed_port(reference_server_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = reference_server_factory(port=port)
    assert server.port == port and server.url == f"http://127.0.0.1:{port}"


class _Impostor(ReferenceServer):
    """A process in the server's place that runs ``script`` (python -c) instead of the server."""

    def __init__(self, script: str) -> None:
        super().__init__(start_timeout_s=1.5)
        self.script = script

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.script]


@pytest.mark.parametrize(("script", "said"), [
    ("import time; time.sleep(30)", "no 'listening' line on its stdout yet"),
    # it listens, says so, and never answers: the health check's own timeout
    ("import socket, time\n"
     "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
     f"print({cli.LISTENING_PREFIX!r} + 'http://127.0.0.1:%d' % s.getsockname()[1], flush=True)\n"
     "time.sleep(30)", "/actuator/health: timed out"),
])
def test_a_server_that_never_comes_up_is_reported_with_where_it_stuck_and_is_stopped(script, said):
    impostor = _Impostor(script)
    with pytest.raises(ReferenceServerError, match="not UP within 2 s") as raised:
        impostor.start()
    assert said in str(raised.value)
    # and where it was: the stacks its faulthandler dumped on SIGABRT
    assert 'Fatal Python error: Aborted' in str(raised.value) and 'File "<string>", line' in str(raised.value)
    assert impostor.process is not None and impostor.process.poll() is not None  # ended, by its PID


def test_the_fixtures_start_a_server_whose_start_hung_once_more_and_say_so():
    made = iter([_Impostor("import time; time.sleep(30)"), ReferenceServer()])
    servers: list[ReferenceServer] = []
    try:
        with pytest.warns(ServerStartHung, match="started once more: reference server not UP within 2 s "
                                                 r"\(no 'listening' line[\s\S]*Fatal Python error: Aborted"):
            server = start_server(servers, lambda: next(made))
        assert server is servers[1] and httpx.get(server.url + "/actuator/health").json()["status"] == "UP"
        assert servers[0].process.poll() is not None  # the hung one was ended, by its PID
    finally:
        for each in servers:
            each.close()


def test_the_fixtures_do_not_start_again_a_server_that_listens_and_does_not_answer():
    listening = _Impostor(
        "import socket, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        f"print({cli.LISTENING_PREFIX!r} + 'http://127.0.0.1:%d' % s.getsockname()[1], flush=True)\n"
        "time.sleep(30)")
    servers: list[ReferenceServer] = []
    with pytest.raises(ReferenceServerError, match="/actuator/health: timed out"):
        start_server(servers, lambda: listening)
    assert servers == [listening] and listening.process.poll() is not None
