"""history.csv as a long run writes it: appended per closed interval, read back by the reports
(only the Aggregated rows, by a byte scan), and drawn in at most PLOT_MAX_POINTS time buckets."""

from __future__ import annotations

import pandas as pd
import pytest
from synthetic import T0, make_stats, make_summary

from bss_loadtest.core.errors import InputError
from bss_loadtest.core.stats import HISTORY_OPEN_INTERVALS_S, RunStats
from bss_loadtest.reports.results import (
    HISTORY_COLUMNS,
    PLOT_MAX_POINTS,
    HistoryWriter,
    aggregated_history,
    downsample,
    load_aggregated_history,
    load_history,
    write_run,
)


def _stream(path, seconds: int, *, endpoints: int = 3, spike_at: int | None = None) -> RunStats:
    stats = RunStats()
    stats.history_sink = HistoryWriter(path, started_at=T0)
    for second in range(seconds):
        now = T0 + second
        stats.record_users(10 + second % 3, now=now)
        for i in range(endpoints):
            stats.record("GET", f"/api/v1/e{i}/{{id}}", 900.0 if second == spike_at else 10.0 + i, None, "U", now + 0.5)
        stats.close_intervals(before=now - HISTORY_OPEN_INTERVALS_S)
    return stats


def test_rows_are_on_disk_as_intervals_close_before_the_writer_is_closed(tmp_path):
    path = tmp_path / "history.csv"
    stats = _stream(path, 40)
    assert path.read_text().splitlines()[0] == ",".join(HISTORY_COLUMNS)  # the header first
    frame = load_history(path)  # readable while the run goes on
    closed = 40 - HISTORY_OPEN_INTERVALS_S - 1  # the last second recorded closes the one 15 s before it
    assert sorted(set(frame["timestamp"] - int(T0))) == list(range(closed))
    assert list(frame["name"][:4]) == ["/api/v1/e0/{id}", "/api/v1/e1/{id}", "/api/v1/e2/{id}", "Aggregated"]
    assert set(frame["users"]) <= {10, 11, 12} and frame["elapsed_s"].iloc[-1] == closed - 1
    stats.close_intervals(before=1e12)
    stats.history_sink.close()
    assert len(load_history(path)) == 40 * 4 and stats.history_sink.rows_written == 40 * 4


@pytest.mark.parametrize("block", [1 << 24, 97, 16])  # one block; lines across blocks; lines longer than one
def test_the_aggregated_scan_equals_the_full_read(tmp_path, monkeypatch, block):
    from bss_loadtest.reports import results

    monkeypatch.setattr(results, "SCAN_BLOCK_BYTES", block)
    path = tmp_path / "history.csv"
    stats = _stream(path, 30)
    stats.close_intervals(before=1e12)
    stats.history_sink.close()
    scanned = load_aggregated_history(path).reset_index(drop=True)
    pd.testing.assert_frame_equal(scanned, aggregated_history(load_history(path)).reset_index(drop=True))
    assert len(scanned) == 30


def test_the_scan_keeps_only_exact_aggregated_rows_and_names_bad_files(tmp_path):
    path = tmp_path / "history.csv"
    header = ",".join(HISTORY_COLUMNS)
    # A name holding the needle, quoted; the last line without its newline.
    path.write_text(f'{header}\n1,0,GET,"/x,,Aggregated,y",1,1,0,1.0,1,1,1,1\n1,0,,Aggregated,1,1,0,1.0,1,1,1,1')
    scanned = load_aggregated_history(path)
    assert list(scanned["name"]) == ["Aggregated"] and list(scanned["method"]) == [""]
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_aggregated_history(tmp_path / "empty.csv")
    with pytest.raises(InputError, match="no such history file"):
        load_aggregated_history(tmp_path / "missing.csv")
    (tmp_path / "header-only.csv").write_text(header + "\n")
    assert len(load_aggregated_history(tmp_path / "header-only.csv")) == 0


def test_downsampling_bounds_the_points_and_keeps_a_one_second_spike(tmp_path):
    path = tmp_path / "history.csv"
    stats = _stream(path, 5000, endpoints=1, spike_at=3333)
    stats.close_intervals(before=1e12)
    stats.history_sink.close()
    full = load_aggregated_history(path)
    drawn = downsample(full)
    assert len(full) == 5000 and len(drawn) <= PLOT_MAX_POINTS
    assert drawn["p99_ms"].max() == full["p99_ms"].max() == 900.0  # the spike is still drawn
    assert drawn["rps"].mean() == pytest.approx(full["rps"].mean(), rel=0.01)  # throughput as a mean
    assert drawn["elapsed_s"].is_monotonic_increasing and drawn["elapsed_s"].iloc[0] == 0
    assert downsample(full.head(10)) is not None and len(downsample(full.head(10))) == 10


def test_write_run_reads_the_streamed_history_and_leaves_it_whole(tmp_path):
    run_dir = tmp_path / "run"
    stats, stages = make_stats(duration_s=30, total_requests=2_000)
    writer = HistoryWriter(run_dir / "history.csv", started_at=T0)
    writer(list(stats.history))  # as the run would have, interval by interval
    writer.close()
    before = (run_dir / "history.csv").read_bytes()
    paths = write_run(run_dir, make_summary(stats, stages, duration_s=30), started_at=T0)
    assert [p.name for p in paths] == ["history.csv", "report.html", "summary.json"]
    assert (run_dir / "history.csv").read_bytes() == before
    assert "<img" in (run_dir / "report.html").read_text()  # the over-time charts were drawn from it


def test_write_run_without_a_streamed_history_writes_the_header(tmp_path):
    stats, stages = make_stats(duration_s=5, total_requests=100)
    write_run(tmp_path / "run", make_summary(stats, stages, duration_s=5), started_at=T0)
    assert (tmp_path / "run" / "history.csv").read_text() == ",".join(HISTORY_COLUMNS) + "\n"


def test_a_write_that_fails_mid_run_is_warned_once_and_the_run_goes_on(tmp_path, monkeypatch):
    writer = HistoryWriter(tmp_path / "history.csv", started_at=T0)
    stats = RunStats()
    stats.history_sink = writer
    stats.record("GET", "/a", 5.0, None, None, T0)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_csv", type("Full", (), {"writerows": staticmethod(full)})())
    with pytest.warns(RuntimeWarning, match="No space left on device"):
        stats.close_intervals(before=1e12)
    stats.record("GET", "/a", 5.0, None, None, T0 + 100)
    stats.close_intervals(before=1e12)  # no second warning, no exception
    assert "No space left" in writer.error and writer.close() == tmp_path / "history.csv"
