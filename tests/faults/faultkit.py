"""Helpers of the fault matrix: short profiles, Locust runs that can be signalled, bad servers.

Every process started here runs in its own session and is ended by its own process group id;
every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.e2e.runs import ROOT, free_port

RUN_TIMEOUT_S = 90


def write_profile(directory: Path, *, seconds: int = 6, users: int = 2, name: str = "fault",
                  thresholds: str = 'http_req_failed: ["rate<0.5"]', extra: str = "") -> Path:
    """A short profile: ramp to ``users`` at once, hold for ``seconds``."""
    path = directory / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""\
        description: fault matrix case {name}
        stages:
          - {{duration: {seconds}s, target: {users}, spawn_rate: {users}}}
        users: {{CustomerUser: 1}}
        think_time: {{min: 0.1, max: 0.3}}
        thresholds:
          {thresholds}
        """) + extra)
    return path


@dataclass
class Run:
    process: subprocess.Popen
    run_dir: Path
    output: str = ""

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def summary(self) -> dict:
        return json.loads((self.run_dir / "summary.json").read_text())

    _lines: list[str] | None = None
    _reader: threading.Thread | None = None

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> Run:
        if self._reader is not None:  # the output is being read line by line (wait_for_line)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(self.process)
                self.process.wait()
                self._reader.join(10)
                raise AssertionError(f"locust did not end within {timeout} s:\n{''.join(self._lines)[-4000:]}") from None
            self._reader.join(10)
            self.output = "".join(self._lines)
            return self
        try:
            self.output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.process)
            self.output, _ = self.process.communicate()
            raise AssertionError(f"locust did not end within {timeout} s:\n{self.output[-4000:]}") from None
        return self

    def wait_for_line(self, fragment: str, timeout: float = RUN_TIMEOUT_S) -> None:
        """Block until the run prints a line holding ``fragment`` (its output is kept for wait())."""
        if self._reader is None:
            self._lines = []
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(fragment in line for line in list(self._lines)):
                return
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no line with {fragment!r} within {timeout} s:\n{''.join(self._lines)[-4000:]}")

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.append(line)

    def signal(self, signum: int) -> None:
        os.kill(self.process.pid, signum)


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_locust(args: list[str], report_dir: Path, *, env: dict | None = None,
                 locustfile: Path | None = None, headless: bool = True) -> Run:
    """Start ``locust ... --headless`` in its own session; the caller waits or signals it."""
    run_id = "f-" + uuid.uuid4().hex[:10]
    if "--processes" in args:
        port = str(free_port())
        args = [*args, "--master-port", port, "--master-bind-port", port]
    if "--prometheus-port" not in args:
        args = [*args, "--prometheus-port", "0"]
    command = [
        sys.executable, "-m", "locust", "-f", str(locustfile or ROOT / "loadtests"),
        *(["--headless"] if headless else []), "--report-dir", str(report_dir), "--fixed-run-id", run_id, *args,
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})}, start_new_session=True, preexec_fn=_default_signals,
    )
    return Run(process, report_dir / "runs" / run_id)


def _default_signals() -> None:
    # A shell that starts jobs in the background makes them ignore SIGINT; Ctrl-C must reach Locust.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture
def locust_process(tmp_path):
    """``locust_process(args)`` starts a Locust run; any left running is killed at teardown."""
    runs: list[Run] = []

    def _start(args, **kwargs) -> Run:
        run = start_locust(list(args), tmp_path / "reports", **kwargs)
        runs.append(run)
        return run

    yield _start
    for run in runs:
        if run.process.poll() is None:
            kill_group(run.process)
            run.process.communicate()


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def assert_one_line(output: str, *fragments: str) -> str:
    """Exactly one ``error:`` line holding every fragment, and no traceback."""
    assert "Traceback" not in output, output[-4000:]
    lines = error_lines(output)
    assert len(lines) == 1, output[-4000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


RESULT_FILES = ("summary.json", "history.csv", "report.html")


def assert_results_whole(run_dir: Path, *, status: str | None = None) -> dict:
    """Every result file is there, none is a leftover temporary file, and the summary parses."""
    for name in RESULT_FILES:
        assert (run_dir / name).is_file(), f"{run_dir / name} missing"
    leftovers = [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["schema"] == "bss-loadtest/summary"
    assert (run_dir / "history.csv").read_text().startswith("timestamp,")
    assert (run_dir / "report.html").read_text().rstrip().endswith("</html>")
    if status is not None:
        assert summary["status"] == status, summary["partial_reason"]
    if summary["status"] == "partial":
        assert summary["partial_reason"]
    return summary


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# -- a target that misbehaves ------------------------------------------------------------------

TOKEN_BODY = json.dumps({"access_token": "fake-token", "token_type": "Bearer", "expires_in": 300}).encode()


class BadTarget:
    """An HTTP server on loopback that gives a token but answers the API with ``mode``:

    ``not_json``: 200/201 with an HTML body labelled application/json;
    ``truncated``: 200/201 whose body stops long before its Content-Length, then the connection closes.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if "/token" in self.path:
                    self._send(200, TOKEN_BODY)
                    return
                if not self.path.startswith("/api/"):
                    self._send(404, b'{"status": 404}')
                    return
                target.requests += 1
                if target.mode == "not_json":
                    self._send(status, b"<html><body>Service temporarily degraded</body></html>")
                else:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "400")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b'{"id": "7c1e2a, "firstName": "Tru')
                    self.wfile.flush()
                    self.close_connection = True

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(200)

            def do_POST(self) -> None:
                self._answer(201)

            def do_PUT(self) -> None:
                self._answer(200)

            def do_DELETE(self) -> None:
                self._answer(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> BadTarget:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts connections on loopback and never answers (a hung Pushgateway)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except OSError:
                continue

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.sock.close()
