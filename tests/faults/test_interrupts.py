"""Fault matrix, the run is cut short: SIGINT / SIGTERM (headless and with workers) and a worker
killed mid-run. The results are still written whole and marked partial; no process is left."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
from tests.faults.faultkit import assert_results_whole, kill_group, start_locust, wait_for, write_profile

pytestmark = pytest.mark.slow

LONG_S = 30
"""The profile outlasts every interrupt, so each run below ends only because it was cut short."""


def _workers(pid: int) -> list[psutil.Process]:
    """The worker processes ``--processes`` forked from the master (same command line)."""
    try:
        master = psutil.Process(pid)
        return [p for p in master.children() if p.cmdline() == master.cmdline()]
    except psutil.NoSuchProcess:
        return []


def _interrupt(run, signum: int, after_s: float = 4.0) -> list[int]:
    """Send ``signum`` to the master after a while; return the pids of its workers at that time."""
    time.sleep(after_s)
    assert run.process.poll() is None, "the run ended before it was interrupted"
    worker_pids = [p.pid for p in _workers(run.process.pid)]
    run.signal(signum)
    run.wait(timeout=90)
    return worker_pids


def _assert_gone(pids: list[int]) -> None:
    def all_gone() -> bool:
        return all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE for pid in pids)

    wait_for(all_gone, 15, f"worker processes {pids} to end")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_signal_headless_writes_a_partial_result_and_exits_130(signum, tmp_path, reference_server):
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=LONG_S)), "--host", reference_server.url],
        tmp_path / "reports",
    )
    try:
        _interrupt(run, signum)
    finally:
        kill_group(run.process)
    assert run.returncode == 130, run.output[-4000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="partial")
    assert summary["exit_code"] == 130
    assert "interrupted" in summary["partial_reason"]
    assert summary["totals"]["count"] > 0
    assert summary["duration_s"] < LONG_S
    assert summary["cleanup"] is not None and summary["cleanup"]["deleted"] > 0, summary["cleanup"]
    assert "PARTIAL: interrupted" in run.output


def test_sigint_after_a_threshold_was_crossed_exits_99(tmp_path, reference_server_factory):
    server = reference_server_factory(extra_args=["--error-rate", "1.0"])
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=LONG_S)), "--host", server.url],
        tmp_path / "reports",
    )
    try:
        _interrupt(run, signal.SIGINT)
    finally:
        kill_group(run.process)
    assert run.returncode == 99, run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="partial")
    assert summary["exit_code"] == 99


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_signal_with_workers_writes_a_partial_result_and_ends_every_worker(signum, tmp_path, reference_server):
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=LONG_S, users=4)), "--host", reference_server.url,
         "--processes", "2"],
        tmp_path / "reports",
    )
    try:
        wait_for(lambda: len(_workers(run.process.pid)) == 2 or run.process.poll() is not None, 30, "two workers")
        worker_pids = _interrupt(run, signum, after_s=5.0)
    finally:
        kill_group(run.process)
    assert len(worker_pids) == 2
    assert run.returncode == 130, run.output[-4000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="partial")
    assert summary["exit_code"] == 130
    assert summary["totals"]["count"] > 0
    assert summary["workers"]["count"] == 2
    assert summary["cleanup"] is not None and summary["cleanup"]["deleted"] > 0, summary["cleanup"]
    _assert_gone(worker_pids)


ABORT = 'http_req_failed: [{threshold: "rate<0.1", abortOnFail: true}]'


def test_abort_on_fail_ends_the_run_early_cleans_up_and_exits_99(tmp_path, reference_server_factory):
    server = reference_server_factory()
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=LONG_S, thresholds=ABORT)), "--host", server.url],
        tmp_path / "reports",
    )
    time.sleep(4)  # customers are created first, then every request fails: the threshold aborts the run
    server.set_faults({"error_rate": 1.0})
    try:
        run.wait(timeout=60)
    finally:
        kill_group(run.process)
    assert run.returncode == 99, run.output[-4000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="partial")
    assert summary["partial_reason"].startswith("aborted: threshold"), summary["partial_reason"]
    assert summary["duration_s"] < LONG_S
    cleanup = summary["cleanup"]
    assert cleanup is not None  # cleanup ran after the abort; what it could not delete is listed
    assert cleanup["deleted"] + len(cleanup["not_deleted"]) > 0, cleanup
    for item in cleanup["not_deleted"]:
        assert item["resource"] and item["id"] and item["reason"]


def test_ctrl_c_to_the_whole_process_group_with_workers_ends_promptly_and_cleans_up(tmp_path, reference_server):
    """A terminal's Ctrl-C reaches the master and every worker at once."""
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=LONG_S, users=4)), "--host", reference_server.url,
         "--processes", "2"],
        tmp_path / "reports",
    )
    try:
        wait_for(lambda: len(_workers(run.process.pid)) == 2 or run.process.poll() is not None, 30, "two workers")
        time.sleep(5)
        worker_pids = [p.pid for p in _workers(run.process.pid)]
        interrupted_at = time.monotonic()
        os.killpg(run.process.pid, signal.SIGINT)
        run.wait(timeout=60)
        took = time.monotonic() - interrupted_at
    finally:
        kill_group(run.process)
    assert run.returncode == 130, run.output[-4000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    assert took < 20, took  # not the 60 s flush timeout
    summary = assert_results_whole(run.run_dir, status="partial")
    assert summary["cleanup"] is not None and summary["cleanup"]["deleted"] > 0, summary["cleanup"]
    assert summary["workers"] == {"count": 2, "lost": []}
    _assert_gone(worker_pids)


def test_worker_killed_mid_run_is_listed_and_the_run_goes_on(tmp_path, reference_server):
    profile = write_profile(tmp_path, seconds=14, users=4)
    run = start_locust(
        ["--profile", str(profile), "--host", reference_server.url, "--processes", "2"],
        tmp_path / "reports",
    )
    try:
        wait_for(lambda: len(_workers(run.process.pid)) == 2 or run.process.poll() is not None, 30, "two workers")
        time.sleep(3)
        victim = _workers(run.process.pid)[0]
        victim.kill()
        killed_at = time.time()
        run.wait(timeout=90)
    finally:
        kill_group(run.process)
    assert "Traceback" not in run.output, run.output[-4000:]
    assert run.returncode in (0, 99), run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="partial")
    assert summary["workers"]["count"] == 2
    assert len(summary["workers"]["lost"]) == 1, summary["workers"]
    assert "worker" in summary["partial_reason"]
    # the other worker kept the run going until the profile ended
    ended = summary["duration_s"]
    assert ended >= 12, ended
    assert time.time() - killed_at > 0
