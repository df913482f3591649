"""Baseline → run → compare end to end: latency injected on one endpoint is flagged, alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.e2e.runs import ROOT

pytestmark = pytest.mark.slow

SLOW_ENDPOINT = "GET /api/v1/customers/{id}"

PROFILE = """
description: short customer-API run for compare tests
stages:
  - {duration: 2s, target: 8}
  - {duration: 6s, target: 8}
users: {CustomerUser: 1}
think_time: {min: 0.05, max: 0.15}
thresholds:
  http_req_failed: ["rate<0.05"]
tolerances: {p95_pct: 10, p95_min_ms: 20, error_rate_points: 2, throughput_pct: 80}
"""
# Throughput: 50 ms more on the most frequent task slows every task of these closed-model users by
# about a third, and the rare DELETE (a few dozen requests, which depend on the creates before them)
# swings by more than its counting error from run to run; this test is about latency, so throughput
# may fall by up to 80 % before it counts.


def bss_loadtest(*args):
    return subprocess.run(
        [sys.executable, "-m", "bss_loadtest", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_injected_latency_is_flagged_on_exactly_that_endpoint(reference_server_factory, locust, tmp_path):
    profile = tmp_path / "customers.yaml"
    profile.write_text(PROFILE)
    server = reference_server_factory(extra_args=[])
    report_dir = str(tmp_path / "reports")

    baseline_run = locust(["--profile", str(profile), "--host", server.url])
    assert baseline_run.returncode == 0, baseline_run.output[-3000:]
    saved = bss_loadtest("baseline", "save", str(baseline_run.run_dir), "--report-dir", report_dir)
    assert saved.returncode == 0, saved.stderr

    server.set_faults({"endpoints": {SLOW_ENDPOINT: {"latency": {"fixed_ms": 50}}}})
    slow_run = locust(["--profile", str(profile), "--host", server.url])
    server.reset_faults()
    compared = bss_loadtest("compare", str(slow_run.run_dir), "--report-dir", report_dir)
    assert compared.returncode == 1, compared.stdout[-3000:] + compared.stderr
    result = json.loads((slow_run.run_dir / "compare" / "compare.json").read_text())
    flagged = {row["endpoint"] for row in result["rows"] if row["status"] == "regression"}
    # The overall figures may move with it; among endpoints, only the slowed one is flagged.
    assert flagged - {"Aggregated"} == {SLOW_ENDPOINT}, flagged
    assert SLOW_ENDPOINT in compared.stdout  # the Markdown names it

    same_run = locust(["--profile", str(profile), "--host", server.url])
    compared = bss_loadtest("compare", str(same_run.run_dir), "--report-dir", report_dir)
    assert compared.returncode == 0, compared.stdout[-3000:] + compared.stderr


def test_nightly_runs_compares_and_keeps_a_trend(reference_server_factory, tmp_path):
    profile = tmp_path / "customers.yaml"
    profile.write_text(PROFILE.replace("6s", "5s"))
    server = reference_server_factory(extra_args=[])
    report_dir = tmp_path / "reports"
    common = ["--profile", str(profile), "--host", server.url, "--report-dir", str(report_dir)]

    first = bss_loadtest("nightly", *common, "--", "--prometheus-port", "0")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert "No baseline" in first.stdout
    (run_dir,) = [p for p in (report_dir / "runs").iterdir() if p.name.startswith("nightly-")]
    assert bss_loadtest("baseline", "save", str(run_dir), "--report-dir", str(report_dir)).returncode == 0

    second = bss_loadtest("nightly", *common, "--", "--prometheus-port", "0")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr
    assert "compare.md" in second.stdout

    import pandas

    history = pandas.read_csv(report_dir / "history.csv")
    assert history["run_id"].nunique() == 2
    assert list((report_dir).glob("trend-*.html"))


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_bss_loadtest_run_hands_a_signal_to_locust(reference_server_factory, tmp_path, signum):
    import os
    import signal
    import time

    import psutil

    server = reference_server_factory(extra_args=[])
    report_dir = tmp_path / "reports"
    process = subprocess.Popen(
        [sys.executable, "-m", "bss_loadtest", "run", "--profile", "load", "--time-scale", "0.1", "--host", server.url,
         "--report-dir", str(report_dir), "--run-id", "signalled", "--", "--prometheus-port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(report_dir.glob("runs")) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(4)  # the run is under way
        children = psutil.Process(process.pid).children(recursive=True)
        os.kill(process.pid, getattr(signal, signum))
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, output[-3000:]
    summary = json.loads((report_dir / "runs" / "signalled" / "summary.json").read_text())
    assert summary["status"] == "partial"
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, alive
