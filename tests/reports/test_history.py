"""history.py: the nightly trend CSV and its HTML report."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from synthetic import make_run_dir

from bss_loadtest.core.errors import InputError
from bss_loadtest.reports.history import TREND_COLUMNS, append_history, load_trend, render_trend, write_trend
from bss_loadtest.reports.results import load_summary, validate_summary


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    root = tmp_path_factory.mktemp("nightly")
    out = []
    for night in range(4):
        run_dir = make_run_dir(root, f"night-{night}", duration_s=10, total_requests=1_000, seed=night,
                               slow={"GET /api/v1/orders/{id}": 10.0 * night})
        summary = load_summary(run_dir).to_json_dict()
        summary["started_at"] = f"2026-11-0{night + 1}T02:00:00Z"
        out.append(validate_summary(summary))
    return out


def test_append_rows_readable_with_pandas(tmp_path, summaries):
    path = tmp_path / "reports" / "history.csv"
    append_history(summaries[0], path)
    append_history(summaries[1], path, exit_code=1)
    frame = pd.read_csv(path)
    assert tuple(frame.columns) == TREND_COLUMNS
    assert len(frame) == 2 * 21
    assert frame.groupby("run_id").size().to_dict() == {"night-0": 21, "night-1": 21}
    agg = frame[frame["name"] == "Aggregated"]
    assert agg["exit_code"].tolist() == [0, 1]
    assert agg["count"].iloc[0] == summaries[0].totals.count
    assert not list(path.parent.glob(".*tmp"))


def test_concurrent_appends_lose_nothing(tmp_path, summaries):
    path = tmp_path / "history.csv"
    threads = [threading.Thread(target=append_history, args=(s, path)) for s in summaries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert load_trend(path)["run_id"].nunique() == 4


def test_foreign_header_is_refused(tmp_path, summaries):
    path = tmp_path / "history.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="history.csv: unexpected header"):
        append_history(summaries[0], path)
    assert path.read_text() == "a,b\n1,2\n"


def test_trend(tmp_path, summaries):
    path = tmp_path / "history.csv"
    for s in summaries:
        append_history(s, path)
    html = render_trend(path, profile="load", last_n=3)
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert "night-0" not in html and all(f"night-{n}" in html for n in (1, 2, 3))
    assert "No runs" in render_trend(path, profile="stress")
    out = write_trend(path, profile="load", out_dir=tmp_path / "reports")
    assert out == tmp_path / "reports" / "trend-load.html" and out.stat().st_size > 1000


def test_trend_of_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such history file"):
        render_trend(tmp_path / "history.csv", profile="load")
