"""A long run killed outright (SIGKILL: no handler, no end of run) keeps every history interval
that closed before it died: history.csv is appended and flushed as intervals close."""

from __future__ import annotations

import signal

import pytest
from tests.faults.faultkit import kill_group, start_locust, wait_for, write_profile

from bss_loadtest.reports.results import HISTORY_COLUMNS, load_history

pytestmark = pytest.mark.slow

CLOSED_BEFORE_KILL = 3
"""Closed intervals to wait for (the first closes about 15 s into the run) before the kill."""


def _closed_intervals(path) -> int:
    try:
        return path.read_text().count(",,Aggregated,")
    except FileNotFoundError:
        return 0


def test_a_run_killed_with_sigkill_keeps_its_closed_history(tmp_path, reference_server):
    run = start_locust(
        ["--profile", str(write_profile(tmp_path, seconds=120, users=2)), "--host", reference_server.url],
        tmp_path / "reports",
    )
    history = run.run_dir / "history.csv"
    try:
        wait_for(lambda: history.exists(), 30, "history.csv to be opened at the start of the run")
        assert history.read_text().splitlines()[0] == ",".join(HISTORY_COLUMNS)  # the header at once
        # Readable while the run goes on: whole rows appear as intervals close.
        wait_for(lambda: _closed_intervals(history) >= CLOSED_BEFORE_KILL, 60, "closed intervals in history.csv")
        assert run.process.poll() is None, "the run ended before it was killed"
        run.process.send_signal(signal.SIGKILL)
        run.process.wait(timeout=30)
    finally:
        kill_group(run.process)
    assert run.process.returncode == -signal.SIGKILL
    assert not (run.run_dir / "summary.json").exists()  # nothing ran at the end: the kill was real

    text = history.read_text()
    assert text.endswith("\n"), "each interval is flushed whole"
    frame = load_history(history)
    aggregated = frame[(frame["name"] == "Aggregated") & (frame["method"] == "")]
    seconds = list(aggregated["timestamp"])
    assert len(seconds) >= CLOSED_BEFORE_KILL
    assert seconds == list(range(seconds[0], seconds[0] + len(seconds))), "one row per closed second, in order"
    assert frame["name"].iloc[-1] == "Aggregated"  # the last interval on disk is complete
    per_second = frame[frame["name"] != "Aggregated"].groupby("timestamp")["requests"].sum()
    assert (aggregated.set_index("timestamp")["requests"] == per_second.reindex(seconds, fill_value=0)).all()
    assert aggregated["requests"].sum() > 0 and aggregated["users"].max() == 2
