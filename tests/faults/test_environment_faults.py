"""Fault matrix, the run's surroundings fail: report directory, disk, metrics export, baselines,
host guards. A user's mistake is one ``error:`` line and a documented exit code; an export that
fails is a warning and the run goes on. (Bad profiles, unknown profiles, bad and unreachable
hosts: tests/e2e/test_bad_config.py.)"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from tests.e2e.runs import ROOT, free_port
from tests.faults.faultkit import (
    SilentServer,
    assert_one_line,
    assert_results_whole,
    kill_group,
    start_locust,
    wait_for,
    write_profile,
)
from tests.reports.synthetic import make_run_dir

# -- report directory and disk ---------------------------------------------------------------


@pytest.mark.slow
def test_report_dir_not_writable_is_one_line_and_exit_104_before_any_user_starts(tmp_path, reference_server):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    run = start_locust(["--profile", str(write_profile(tmp_path)), "--host", reference_server.url],
                       blocker / "reports").wait(timeout=60)
    assert run.returncode == 104, run.output[-4000:]
    assert_one_line(run.output, "--report-dir", "cannot be written")
    assert "Run " not in run.output, "no run may start when its results cannot be written"


# -- metrics export --------------------------------------------------------------------------


@pytest.mark.slow
def test_prometheus_port_in_use_is_one_line_and_exit_104(tmp_path, reference_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = start_locust(["--profile", str(write_profile(tmp_path)), "--host", reference_server.url,
                            "--prometheus-port", str(port)], tmp_path / "reports").wait(timeout=60)
    assert run.returncode == 104, run.output[-4000:]
    assert_one_line(run.output, f"--prometheus-port {port}", "in use")
    assert not run.run_dir.exists()


@pytest.mark.slow
def test_pushgateway_down_warns_and_the_run_passes(tmp_path, reference_server):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, not listening: refused
        run = start_locust(["--profile", str(write_profile(tmp_path, seconds=4)), "--host", reference_server.url,
                            "--pushgateway", url, "--push-interval", "1"], tmp_path / "reports").wait()
    assert run.returncode == 0, run.output[-4000:]
    assert "Traceback" not in run.output
    warnings = [line for line in run.output.splitlines() if "Pushgateway" in line and "WARNING" in line]
    assert 1 <= len(warnings) <= 2, warnings  # once when it fails, once for the final push; not per push
    assert_results_whole(run.run_dir, status="complete")


@pytest.mark.slow
def test_pushgateway_that_hangs_costs_bounded_time_and_the_run_passes(tmp_path, reference_server):
    with SilentServer() as gateway:
        started = time.monotonic()
        run = start_locust(["--profile", str(write_profile(tmp_path, seconds=4)), "--host", reference_server.url,
                            "--pushgateway", gateway.url, "--push-interval", "1"], tmp_path / "reports").wait()
        elapsed = time.monotonic() - started
    assert run.returncode == 0, run.output[-4000:]
    assert "Traceback" not in run.output
    assert_results_whole(run.run_dir, status="complete")
    assert elapsed < 40, elapsed  # 4 s of load + start-up + at most one bounded final push


# -- baselines -------------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bss_loadtest", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def _saved_baseline(tmp_path: Path) -> tuple[Path, Path]:
    run_dir = make_run_dir(tmp_path / "reports" / "runs", "run-1", duration_s=20, total_requests=2000)
    saved = _cli("baseline", "save", str(run_dir), "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    [baseline] = list((tmp_path / "reports" / "baselines").rglob("*.json"))
    return run_dir, baseline


def _wrong_version(text: str) -> str:
    data = json.loads(text)
    data["schema_version"] = 99
    return json.dumps(data)


@pytest.mark.parametrize(
    "case, mutate, fragment",
    [
        ("corrupt", lambda text: text[: len(text) // 2], "json"),
        ("empty", lambda text: "", "empty"),
        ("wrong_version", _wrong_version, "schema_version 99"),
    ],
)
def test_bad_baseline_is_one_line_and_exit_2(case, mutate, fragment, tmp_path):
    run_dir, baseline = _saved_baseline(tmp_path)
    baseline.write_text(mutate(baseline.read_text()))
    result = _cli("compare", str(run_dir), "--baseline", str(baseline), cwd=tmp_path)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    line = assert_one_line(result.stderr, baseline.name)
    assert fragment.lower() in line.lower(), line
    assert not (run_dir / "compare").exists() or not any((run_dir / "compare").iterdir())


# -- host guard ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["spike", "soak"])
def test_guarded_profile_refuses_a_host_outside_allowed_hosts(profile, tmp_path):
    # 192.0.2.10 (TEST-NET) is refused by name before any connection is tried (stress: test_bad_config.py)
    run = start_locust(["--profile", profile, "--host", "http://192.0.2.10:8080"], tmp_path / "reports").wait(60)
    assert run.returncode == 104, run.output[-4000:]
    assert_one_line(run.output, "allowed_hosts", "--allow-host")


GUARDED = "allowed_hosts: [10.0.0.0/8]\nguard_hosts: true\n"


@pytest.mark.slow
def test_allow_host_lets_a_guarded_profile_target_another_host(tmp_path, reference_server):
    profile = write_profile(tmp_path, seconds=3, extra=GUARDED)
    refused = start_locust(["--profile", str(profile), "--host", reference_server.url], tmp_path / "reports").wait(60)
    assert refused.returncode == 104, refused.output[-4000:]
    assert_one_line(refused.output, "127.0.0.1", "allowed_hosts", "--allow-host")
    allowed = start_locust(["--profile", str(profile), "--host", reference_server.url, "--allow-host"],
                           tmp_path / "reports").wait()
    assert allowed.returncode == 0, allowed.output[-4000:]
    assert_results_whole(allowed.run_dir, status="complete")


# -- web UI exposure -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "flags, fragment",
    [([], "--expose-web-ui"), (["--expose-web-ui"], "--web-login")],
    ids=["no_expose_flag", "expose_without_login"],
)
def test_web_ui_on_a_public_address_needs_expose_and_login(flags, fragment, tmp_path):
    run = start_locust(["--web-host", "0.0.0.0", "--web-port", str(free_port()), *flags],
                       tmp_path / "reports", headless=False).wait(60)
    assert run.returncode == 104, run.output[-4000:]
    assert_one_line(run.output, fragment)


@pytest.mark.slow
def test_web_ui_listens_on_loopback_by_default(tmp_path):
    port = free_port()
    run = start_locust(["--web-port", str(port)], tmp_path / "reports", headless=False)
    try:
        def listening() -> list:
            try:
                return [c for c in psutil.Process(run.process.pid).net_connections("tcp")
                        if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
            except psutil.NoSuchProcess:
                return []

        wait_for(lambda: bool(listening()) or run.process.poll() is not None, 30, "the web UI")
        addresses = {c.laddr.ip for c in listening()}
    finally:
        kill_group(run.process)
        run.process.communicate()
    assert addresses == {"127.0.0.1"}, run.output[-3000:]
