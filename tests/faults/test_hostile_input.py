"""Fault matrix, hostile input: what a careless user or a security reviewer gives the suite.

Options that are not numbers or out of range, run ids that would leave ``REPORT_DIR/runs``,
profiles that ask for the impossible: one ``error:`` line and exit 104 before any user starts.
Secrets and credentials reach neither the console nor the web UI's page. A master that exits
at start-up takes the workers it forked with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from tests.e2e.runs import ROOT, free_port
from tests.faults.faultkit import (
    assert_one_line,
    assert_results_whole,
    kill_group,
    start_locust,
    wait_for,
    write_profile,
)

pytestmark = pytest.mark.slow

CLOSED_HOST = "http://127.0.0.1:9"
"""Nothing listens there: every case below must be refused before the reachability check."""
PASSWORD = "Pa55-w0rd-in-the-host"
SECRET = "s3cr3t-Hostile-Input-41c7"

BAD_OPTIONS = {
    "time_scale_nan": (["--time-scale", "nan"], "--time-scale 'nan'"),
    "time_scale_inf": (["--time-scale", "inf"], "--time-scale 'inf'"),
    "time_scale_abc": (["--time-scale", "abc"], "--time-scale 'abc': not a number"),
    "time_scale_1e308": (["--time-scale", "1e308"], "at most 1000"),
    "prometheus_port_70000": (["--prometheus-port", "70000"], "--prometheus-port '70000': must be a whole number"),
    "push_interval_nan": (["--push-interval", "nan"], "--push-interval 'nan'"),
    "request_timeout_negative": (["--request-timeout", "-1"], "--request-timeout"),
    "request_timeout_nan": (["--request-timeout", "nan"], "--request-timeout 'nan'"),
    "token_url_not_a_url": (["--token-url", "notaurl"], "--token-url 'notaurl'"),
    "client_id_no_ids": (["--client-id", ","], "--client-id ','"),
    "target_config_missing": (["--target-config", "{tmp}/nope.yaml"], "--target-config"),
    "target_config_malformed": (["--target-config", "{tmp}/bad-target.yaml"], "invalid YAML"),
    "run_id_traversal": (["--run-id", "../../escaped"], "--run-id '../../escaped'"),
    "run_id_nested": (["--run-id", "a/b/c"], "--run-id 'a/b/c'"),
    "run_id_300_chars": (["--run-id", "r" * 300], "300 characters"),
    "host_unclosed_bracket": (["--host", f"http://bob:{PASSWORD}@[::1:8080"], "--host 'http://[::1:8080'"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_a_bad_option_is_one_line_and_exit_104_before_any_user_starts(case, tmp_path):
    args, fragment = BAD_OPTIONS[case]
    (tmp_path / "bad-target.yaml").write_text("paths: [\n  {customer: /x\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    profile = write_profile(tmp_path, seconds=3)
    run = start_locust(["--profile", str(profile), "--host", CLOSED_HOST, *args], tmp_path / "reports").wait(60)
    assert run.returncode == 104, run.output[-3000:]
    assert_one_line(run.output, fragment)
    assert PASSWORD not in run.output
    assert "Run " not in run.output, "no run may start"
    assert not (tmp_path / "escaped").exists() and not list((tmp_path / "reports").rglob("summary.json"))


BAD_PROFILES = {
    "think_time_inf": ("think_time: {min: 0.1, max: .inf}", "think_time.max: must be a finite number"),
    "1e9_users_in_2s": ("stages:\n  - {duration: 2s, target: 1000000000}", "stages[0].target: must be at most"),
    "ramp_too_fast": ("stages:\n  - {duration: 2s, target: 20000}", "users/s, more than the 1000/s Locust can start"),
    "deep_nesting": ("extra: " + "[" * 20_000 + "]" * 20_000, "nested deeper than"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_a_profile_asking_the_impossible_is_one_line_and_exit_104(case, tmp_path):
    replacement, fragment = BAD_PROFILES[case]
    text = write_profile(tmp_path, seconds=3).read_text()
    key = replacement.split(":", 1)[0]
    lines = [line for line in text.splitlines() if not line.startswith(key + ":")]
    if key == "stages":
        lines = [line for line in lines if not line.lstrip().startswith("- {duration")]
    path = tmp_path / "impossible.yaml"
    path.write_text("\n".join(lines) + "\n" + replacement + "\n")
    run = start_locust(["--profile", str(path), "--host", CLOSED_HOST], tmp_path / "reports").wait(60)
    assert run.returncode == 104, run.output[-3000:]
    assert_one_line(run.output, "impossible.yaml", fragment)


def _locust(args: list[str], report_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Locust without the fixed run id faultkit adds (so that BSS_RUN_ID is the one in force)."""
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests"), "--headless",
               "--report-dir", str(report_dir), "--prometheus-port", "0", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, start_new_session=True)


def test_bss_run_id_that_leaves_the_runs_directory_is_refused(tmp_path):
    profile = write_profile(tmp_path, seconds=3)
    result = _locust(["--profile", str(profile), "--host", CLOSED_HOST], tmp_path / "reports",
                     {"BSS_RUN_ID": "../../escaped"})
    assert result.returncode == 104, result.stdout[-2000:] + result.stderr[-2000:]
    assert_one_line(result.stderr, "--run-id '../../escaped'")
    assert not (tmp_path / "escaped").exists()


def test_run_id_is_honoured(tmp_path, reference_server):
    run = start_locust(["--profile", str(write_profile(tmp_path, seconds=2)), "--host", reference_server.url,
                        "--run-id", "my-run.1"], tmp_path / "reports").wait()
    assert run.returncode == 0, run.output[-3000:]
    summary = assert_results_whole(tmp_path / "reports" / "runs" / "my-run.1", status="complete")
    assert summary["run_id"] == "my-run.1"


# -- secrets and credentials -------------------------------------------------------------------


def test_credentials_in_the_host_are_never_printed(tmp_path, reference_server):
    host = reference_server.url.replace("http://", f"http://bob:{PASSWORD}@")
    refused = start_locust(["--profile", str(write_profile(tmp_path, seconds=2)), "--host", host,
                            "--client-secret", "wrong"], tmp_path / "reports").wait(60)
    assert refused.returncode == 104, refused.output[-3000:]
    assert_one_line(refused.output, "token endpoint http://127.0.0.1:", "HTTP 401")
    ran = start_locust(["--profile", str(write_profile(tmp_path, seconds=2)), "--host", host,
                        "--loglevel", "DEBUG"], tmp_path / "reports").wait()
    assert "Run " in ran.output, ran.output[-3000:]
    for text in (refused.output, ran.output):
        assert PASSWORD not in text
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_text(errors="replace"), path


@pytest.mark.parametrize("given", ["env", "option"])
def test_the_client_secret_is_not_in_the_web_ui_page(given, tmp_path):
    port = free_port()
    args = ["--web-port", str(port), "--host", CLOSED_HOST]
    env = {"BSS_CLIENT_SECRET": SECRET} if given == "env" else {}
    if given == "option":
        args += ["--client-secret", SECRET]
    run = start_locust(args, tmp_path / "reports", env=env, headless=False)
    pages: list[str] = []

    def page() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                pages.append(response.read().decode("utf-8", "replace"))
            return True
        except OSError:
            return run.process.poll() is not None

    try:
        wait_for(page, 30, "the web UI")
    finally:
        kill_group(run.process)
        run.process.communicate()
    assert pages, "the web UI never answered"
    assert "client_secret" in pages[0]  # the password field is there, empty
    assert SECRET not in pages[0]


# -- processes left behind -----------------------------------------------------------------------


def _processes_of(report_dir: Path) -> list[psutil.Process]:
    """The Locust processes (master and forked workers) whose command line names ``report_dir``."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if str(report_dir) in (process.info["cmdline"] or []):
                found.append(process)
        except psutil.Error:
            continue
    return found


def _kill(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass


def test_a_master_refusing_its_profile_takes_its_forked_workers_with_it(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stages: [\n  - {duration: 5s\n")
    report_dir = tmp_path / "reports"
    started = time.monotonic()
    run = start_locust(["--profile", str(path), "--host", CLOSED_HOST, "--processes", "2"], report_dir)
    try:
        run.wait(60)
        assert run.returncode == 104, run.output[-3000:]
        assert_one_line(run.output, "bad.yaml", "invalid YAML")
        assert "Traceback" not in run.output
        wait_for(lambda: not _processes_of(report_dir), 10, "the forked workers to end")
        assert time.monotonic() - started < 30
    finally:
        _kill(_processes_of(report_dir))


def test_workers_end_soon_after_their_master_is_killed(tmp_path, reference_server):
    report_dir = tmp_path / "reports"
    run = start_locust(["--profile", str(write_profile(tmp_path, seconds=60)), "--host", reference_server.url,
                        "--processes", "2"], report_dir)
    try:
        wait_for(lambda: len(_processes_of(report_dir)) == 3, 30, "the master and its two workers")
        time.sleep(5)  # the workers connected and running users
        os.kill(run.process.pid, 9)
        run.process.wait(10)
        wait_for(lambda: not _processes_of(report_dir), 10, "the workers to end after their master")
    finally:
        _kill(_processes_of(report_dir))
        kill_group(run.process)
