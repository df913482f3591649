"""The fast paths of compare and report (issue 16) give what the pandas paths gave: the numpy
series of history.csv, its buckets and rolling median, σ of the stored baselines, baselines read
without their history, and one scan of history.csv shared by compare and the run's report."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
from synthetic import KEYS, T0, make_run_dir

from bss_loadtest.core.errors import InputError
from bss_loadtest.core.stats import HISTORY_OPEN_INTERVALS_S, RunStats
from bss_loadtest.reports import baseline as baselines
from bss_loadtest.reports.compare import compute, run_compare
from bss_loadtest.reports.report import render_run_report
from bss_loadtest.reports.results import (
    HISTORY_COLUMNS,
    SERIES_COLUMNS,
    AggregatedSeries,
    HistoryWriter,
    aggregated_history,
    downsample,
    downsample_series,
    load_aggregated_history,
    load_history,
    load_summary,
    non_finite_path,
    read_aggregated_series,
    rolling_median,
    series_of,
)


def _assert_same(series: AggregatedSeries, frame: pd.DataFrame) -> None:
    expected = series_of(frame)
    for name in SERIES_COLUMNS:
        assert series[name].dtype == expected[name].dtype, name
        np.testing.assert_array_equal(series[name], expected[name], err_msg=name)


def _stream(path, seconds: int, *, endpoints: int = 3, gap: range = range(0)) -> None:
    stats = RunStats()
    stats.history_sink = HistoryWriter(path, started_at=T0)
    for second in range(seconds):
        now = T0 + second
        stats.record_users(10 + second % 3, now=now)
        if second not in gap:
            for i in range(endpoints):
                stats.record("GET", f"/api/v1/e{i}/{{id}}", 10.0 + i + (second % 7) * 0.37, None, "U", now + 0.5)
        stats.close_intervals(before=now - HISTORY_OPEN_INTERVALS_S)
    stats.close_intervals(before=1e12)
    stats.history_sink.close()


@pytest.mark.parametrize("block", [1 << 24, 97, 16])
def test_the_numpy_series_equals_the_pandas_read(tmp_path, monkeypatch, block):
    from bss_loadtest.reports import results

    monkeypatch.setattr(results, "SCAN_BLOCK_BYTES", block)
    path = tmp_path / "history.csv"
    _stream(path, 40)
    series = read_aggregated_series(path)
    assert len(series) == 40
    _assert_same(series, load_aggregated_history(path))
    _assert_same(series, aggregated_history(load_history(path)))


def test_missing_values_quotes_and_other_headers_read_as_pandas_reads_them(tmp_path):
    header = ",".join(HISTORY_COLUMNS)
    plain = tmp_path / "plain.csv"
    # Empty percentiles (a second without requests), the last line without its newline, out of order.
    plain.write_text(f"{header}\n2,1.0,,Aggregated,3,0,0,0.0,,,,\n1,0.0,,Aggregated,3,2,1,2.0,1.5,2.5,3.5,4\n"
                     f"1,0.0,GET,/x,3,2,1,2.0,1.5,2.5,3.5,4\n3,2.0,,Aggregated,4,1,0,1.0,1,2,3,")
    series = read_aggregated_series(plain)
    assert list(series["elapsed_s"]) == [0.0, 1.0, 2.0] and np.isnan(series["p95_ms"][1]) and np.isnan(series["max_ms"][2])
    _assert_same(series, load_aggregated_history(plain))
    quoted = tmp_path / "quoted.csv"  # a name holding the needle: only the exact row is kept
    quoted.write_text(f'{header}\n1,0,GET,"/x,,Aggregated,y",1,1,0,1.0,1,1,1,1\n1,0,,Aggregated,1,1,0,1.0,1,1,1,1\n')
    assert len(read_aggregated_series(quoted)) == 1
    _assert_same(read_aggregated_series(quoted), load_aggregated_history(quoted))
    reordered = tmp_path / "reordered.csv"  # columns in another order: pandas reads it by name
    names = list(HISTORY_COLUMNS)
    names[4], names[5] = names[5], names[4]
    reordered.write_text(",".join(names) + "\n1,0,,Aggregated,2,7,0,2.0,1,1,1,1\n")
    assert list(read_aggregated_series(reordered)["users"]) == [7]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\n1,0,,Aggregated,x,1,0,1.0,1,1,1,1\n")
    with pytest.raises(InputError, match="bad.csv"):
        read_aggregated_series(bad)
    (tmp_path / "header-only.csv").write_text(header + "\n")
    assert len(read_aggregated_series(tmp_path / "header-only.csv")) == 0
    with pytest.raises(InputError, match="no such history file"):
        read_aggregated_series(tmp_path / "missing.csv")


def test_buckets_and_rolling_median_equal_pandas(tmp_path):
    path = tmp_path / "history.csv"
    _stream(path, 5000, endpoints=1, gap=range(1200, 1230))
    frame = load_aggregated_history(path)
    series = read_aggregated_series(path)
    drawn, expected = downsample_series(series), downsample(frame)
    assert len(drawn) == len(expected) <= 2000
    for name in SERIES_COLUMNS:
        np.testing.assert_allclose(drawn[name], expected[name].to_numpy(dtype=drawn[name].dtype), rtol=1e-12,
                                   err_msg=name)
    for column in ("p50_ms", "p95_ms"):
        np.testing.assert_array_equal(rolling_median(series[column], 15),
                                      frame[column].rolling(15, min_periods=1).median().to_numpy())
    with_gaps = series["p95_ms"].copy()
    with_gaps[[3, 40, 41, 42]] = np.nan
    with_gaps[100:130] = np.nan  # a window with no value at all
    np.testing.assert_array_equal(rolling_median(with_gaps, 15),
                                  pd.Series(with_gaps).rolling(15, min_periods=1).median().to_numpy())
    assert downsample_series(series_of(frame.head(10))).columns["elapsed_s"].tolist() == list(range(10))


def test_sigma_of_the_baselines_is_pandas_grouped_std_to_the_last_bit():
    rng = random.Random(7)
    for _ in range(300):
        values = [rng.lognormvariate(3, 1) * rng.choice([1e-3, 1, 1e3]) for _ in range(rng.randint(3, 10))]
        assert compute._std(values) == pd.DataFrame({"k": "a", "v": values}).groupby("k")["v"].std(ddof=1).iloc[0]


def test_the_fast_non_finite_check_gives_the_same_answers():
    assert non_finite_path({"a": [1.0, None, "x", True, 2]}) is None
    assert non_finite_path({"a": [1.0, float("nan")]}) == "a[1]"
    assert non_finite_path({"a": [1.0, [float("inf")]]}) == "a[1][0]"
    assert non_finite_path({"a": [0, 2**60]}) == "a[1]"
    assert non_finite_path([{"b": -float("inf")}]) == "[0].b"


@pytest.fixture
def runs(tmp_path):
    base = make_run_dir(tmp_path, "base", duration_s=60, total_requests=6_000, seed=1)
    make_run_dir(tmp_path, "run", duration_s=60, total_requests=6_000, seed=2, slow={KEYS[3]: 50.0})
    return tmp_path, base


def test_a_baseline_read_without_its_history_parses_it_when_asked(runs):
    root, base = runs
    saved = baselines.save_baseline(base, root / "baselines")
    full = baselines.read_baseline(saved)
    lazy = baselines.read_baseline(saved, history=False)
    assert lazy.aggregated_history is None and lazy.summary == full.summary and lazy.endpoints == full.endpoints
    assert lazy.history() == full.aggregated_history
    for name in ("elapsed_s", "p50_ms", "p95_ms"):
        np.testing.assert_array_equal(lazy.history_series()[name], full.history_series()[name])
        np.testing.assert_array_equal(full.history_series()[name], series_of(full.history_frame())[name])
    data = json.loads(saved.read_text())
    data["aggregated_history"]["rps"].pop()
    broken = saved.with_name("broken.json")
    broken.write_text(json.dumps(data, indent=2))
    later = baselines.read_baseline(broken, history=False)  # the endpoint tables are fine: the noise may use them
    with pytest.raises(InputError, match="broken.json: aggregated_history"):
        later.history()
    with pytest.raises(InputError, match="differ in length"):
        baselines.read_baseline(broken)
    compact = saved.with_name("compact.json")  # not the layout save_baseline writes: read in full
    compact.write_text(json.dumps(data | {"aggregated_history": full.aggregated_history.model_dump()}))
    assert baselines.read_baseline(compact, history=False).aggregated_history == full.aggregated_history


def test_compare_reads_the_latest_baseline_once_and_the_others_without_history(runs, monkeypatch):
    root, base = runs
    for second in range(4):
        from datetime import UTC, datetime

        baselines.save_baseline(base, root / "baselines", now=datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC))
    reads = []
    original = baselines.read_baseline
    monkeypatch.setattr(baselines, "read_baseline",
                        lambda path, **kw: reads.append((path.name, kw.get("history", True))) or original(path, **kw))
    history = baselines.baseline_history("load", root / "baselines")
    assert len(history) == 4 and all(not flag for _, flag in reads)
    reads.clear()
    chosen = baselines.load_baseline("latest", profile="load", baselines_root=root / "baselines")
    history = baselines.baseline_history("load", root / "baselines", known=[chosen])
    assert history[-1] is chosen and len(reads) == 1 + 3
    assert baselines.has_baselines(root / "baselines", "load") and not baselines.has_baselines(root / "baselines", "x")


def test_one_scan_for_compare_and_report_gives_the_same_files_as_two(runs, monkeypatch):
    root, base = runs
    baselines.save_baseline(base, root / "baselines")
    run_dir = root / "run"
    _, two = run_compare(run_dir, baselines_root=root / "baselines", out_dir=root / "two")
    report_two = render_run_report(load_summary(run_dir), load_aggregated_history(run_dir))

    from bss_loadtest.reports import results

    scans = []
    original = results._scan_aggregated
    monkeypatch.setattr(results, "_scan_aggregated", lambda *a: scans.append(a) or original(*a))
    summary = load_summary(run_dir)
    series = read_aggregated_series(run_dir)
    _, one = run_compare(run_dir, baselines_root=root / "baselines", out_dir=root / "one",
                         run_summary=summary, run_series=series)
    report_one = render_run_report(summary, series)
    assert len(scans) == 1
    assert report_one == report_two
    for fmt, path in one.items():
        assert path.read_text() == two[fmt].read_text(), fmt


@pytest.mark.parametrize("block", [1 << 24, 4096, 97])
def test_the_scan_finds_every_aggregated_line_among_names_full_of_capital_a(tmp_path, monkeypatch, block):
    from bss_loadtest.reports import results

    monkeypatch.setattr(results, "SCAN_BLOCK_BYTES", block)
    path = tmp_path / "history.csv"
    stats = RunStats()
    stats.history_sink = HistoryWriter(path, started_at=T0)
    for second in range(300):
        now = T0 + second
        for i in range(4):  # more A than marks: the scan falls back to the whole mark
            stats.record("GET", f"/AAAA/Aggregated/A{i}/{{AId}}", 5.0 + i, None, "U", now + 0.5)
        stats.record("AUTH", "/oauth/token", 3.0, None, "U", now + 0.5)
        stats.close_intervals(before=now - HISTORY_OPEN_INTERVALS_S)
    stats.close_intervals(before=1e12)
    stats.history_sink.close()
    series = read_aggregated_series(path)
    assert len(series) == 300
    _assert_same(series, aggregated_history(load_history(path)))


def test_a_prefetched_series_is_the_series_and_its_errors_reach_the_caller(tmp_path):
    from bss_loadtest.reports.results import prefetch_aggregated_series

    path = tmp_path / "history.csv"
    _stream(path, 20)
    series = prefetch_aggregated_series(path)()
    _assert_same(series, load_aggregated_history(path))
    assert prefetch_aggregated_series(tmp_path / "missing.csv")() is None
    (tmp_path / "empty.csv").write_text("")
    wait = prefetch_aggregated_series(tmp_path / "empty.csv")
    with pytest.raises(InputError, match="empty"):
        wait()
