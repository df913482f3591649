"""Fault matrix, the end of a run and its side requests: signals while the run ends (during the
test-data cleanup, repeated, after the results), nightly interrupted, a run that made no request,
and a target whose metrics endpoint misbehaves. Each is a real Locust run against a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tests.e2e.runs import ROOT, free_port
from tests.faults.faultkit import Run, assert_results_whole, kill_group, start_locust, write_profile

pytestmark = pytest.mark.slow

PROFILE_ENDED = "The profile has ended"
"""What the suite logs when the shape's last stage is over and the users stop (cleanup follows)."""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_while_the_cleanup_runs_still_writes_the_run_once(signum, tmp_path, reference_server_factory):
    # Slow answers make the end-of-run cleanup (DELETEs of what the run created) last seconds.
    server = reference_server_factory(extra_args=["--latency-ms", "1500"])
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=3, users=4)), "--host", server.url], tmp_path / "reports"
    )
    try:
        run.wait_for_line(PROFILE_ENDED, timeout=60)
        time.sleep(0.3)  # inside the cleanup
        run.signal(signum)
        run.wait(timeout=90)
    finally:
        kill_group(run.process)
    assert run.returncode == 130, run.output[-4000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    summary = assert_results_whole(run.run_dir)
    assert summary["exit_code"] in (0, 130) and summary["totals"]["count"] > 0
    assert run.output.count("Results: ") == 1, run.output[-4000:]


def test_repeated_signals_end_the_run_once_and_quietly(tmp_path, reference_server):
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=30)), "--host", reference_server.url], tmp_path / "reports"
    )
    try:
        run.wait_for_line("All users spawned", timeout=60)
        time.sleep(2)
        run.signal(signal.SIGINT)
        for _ in range(3):
            time.sleep(0.05)
            run.signal(signal.SIGTERM)
        for _ in range(2):
            time.sleep(0.3)
            run.signal(signal.SIGINT)
        run.wait(timeout=90)
    finally:
        kill_group(run.process)
    assert run.returncode == 130, run.output[-4000:]
    assert "Traceback" not in run.output and "KeyboardInterrupt" not in run.output, run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="partial")
    assert "interrupted (SIGINT)" in summary["partial_reason"]
    assert run.output.count("Results: ") == 1 and run.output.count("PARTIAL: ") == 1


def test_nightly_interrupted_is_not_recorded_as_a_night(tmp_path, reference_server):
    report_dir = tmp_path / "reports"
    process = subprocess.Popen(
        [sys.executable, "-m", "bss_loadtest", "nightly", "--profile", str(write_profile(tmp_path, seconds=30)),
         "--host", reference_server.url, "--report-dir", str(report_dir), "--", "--prometheus-port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    run = Run(process, report_dir)
    try:
        run.wait_for_line("All users spawned", timeout=90)
        time.sleep(2)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole process group
        output = run.wait(timeout=120).output
    finally:
        kill_group(process)
    assert process.returncode == 130, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    assert "not recorded as a night" in output
    assert not (report_dir / "history.csv").exists(), "an interrupted run must not enter the history"
    (run_dir,) = (report_dir / "runs").iterdir()
    assert_results_whole(run_dir, status="partial")


QUIET_LOCUSTFILE = '''\
"""Users that make no request at all."""
from locust import User, constant, task

from bss_loadtest.run import plugin
from bss_loadtest.run.shape import ProfileShape  # noqa: F401

plugin.register()


class QuietUser(User):
    wait_time = constant(0.5)

    @task
    def nothing(self):
        pass
'''


def test_a_run_that_made_no_request_is_partial_and_fails(tmp_path):
    locustfile = tmp_path / "quiet.py"
    locustfile.write_text(QUIET_LOCUSTFILE)
    # No thresholds: a threshold without data would fail first (99); this is the run's own verdict.
    profile = write_profile(tmp_path, seconds=2, thresholds="{}").read_text().replace("CustomerUser", "QuietUser")
    (tmp_path / "quiet.yaml").write_text(profile)
    run = start_locust(["--profile", str(tmp_path / "quiet.yaml")], tmp_path / "reports", locustfile=locustfile)
    try:
        run.wait(timeout=90)
    finally:
        kill_group(run.process)
    assert run.returncode == 104, run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="partial")
    assert summary["partial_reason"].startswith("no business request was made")
    assert "PARTIAL: no business request was made" in run.output


class MetricsProxy:
    """Forwards every request to ``upstream`` except ``/actuator/prometheus``, which misbehaves:
    ``drip`` (one byte every half second, for ever), ``garbage`` (not HTTP at all) or ``huge``
    (a 50 MB body of non-Prometheus text)."""

    def __init__(self, upstream: str, mode: str) -> None:
        self.stopped = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                if self.path.startswith("/actuator/prometheus"):
                    return self._misbehave()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                request = urllib.request.Request(upstream + self.path, data=body, headers=headers, method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, data, answer_headers = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as error:
                    status, data, answer_headers = error.code, error.read(), error.headers
                self.send_response(status)
                for key, value in answer_headers.items():
                    if key.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _misbehave(self) -> None:
                if mode == "garbage":
                    self.wfile.write(b"\x00\x01 not http at all \xff\r\n\r\n")
                    self.close_connection = True
                elif mode == "huge":
                    chunk = b"this is { not prometheus text " * 1000
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(chunk) * 1700))
                    self.end_headers()
                    for _ in range(1700):
                        self.wfile.write(chunk)
                else:  # drip
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
                    while not proxy.stopped.wait(0.5):
                        try:
                            self.wfile.write(b"X")
                            self.wfile.flush()
                        except OSError:
                            return
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MetricsProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode", ["drip", "garbage", "huge"])
def test_a_misbehaving_metrics_endpoint_never_stops_the_run(mode, tmp_path, reference_server):
    with MetricsProxy(reference_server.url, mode) as proxy:
        started = time.monotonic()
        run = start_locust(
            ["--profile", str(write_profile(tmp_path, seconds=4)), "--host", proxy.url], tmp_path / "reports"
        )
        try:
            run.wait(timeout=120)
        finally:
            kill_group(run.process)
        elapsed = time.monotonic() - started
    assert run.returncode == 0, run.output[-4000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="complete")
    assert summary["totals"]["count"] > 0 and summary["reconciliation"] is None
    assert elapsed < 60, f"the run took {elapsed:.0f} s"
    no_reconciliation = [line for line in run.output.splitlines() if "No reconciliation" in line]
    assert no_reconciliation and all(len(line) < 600 for line in run.output.splitlines()), no_reconciliation


def test_a_signal_after_the_results_are_written_keeps_them_and_exits_130(tmp_path, reference_server):
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=2)), "--host", reference_server.url,
         "--prometheus-port", str(free_port()), "--prometheus-linger", "5"],
        tmp_path / "reports",
    )
    try:
        run.wait_for_line("Results: ", timeout=60)
        run.signal(signal.SIGTERM)
        run.wait(timeout=60)
    finally:
        kill_group(run.process)
    assert run.returncode == 130, run.output[-4000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    assert assert_results_whole(run.run_dir, status="complete")["exit_code"] == 0
    assert run.output.count("Results: ") == 1
