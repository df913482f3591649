"""User text reaches the three HTML pages (run report, compare, trend) only escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from synthetic import make_run_dir, make_stats, make_summary

from bss_loadtest.reports.baseline import read_baseline, save_baseline
from bss_loadtest.reports.compare import compare, to_html
from bss_loadtest.reports.history import append_history, render_trend
from bss_loadtest.reports.report import render_run_report
from bss_loadtest.reports.results import load_history, load_summary, validate_summary

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
EVIL_ENDPOINT = ("GET", f"/api/v1/{EVIL}", 20.0)


def assert_escaped(html: str, times: int = 1) -> None:
    assert "<script" not in html
    assert html.count(ESCAPED) >= times, html.count(ESCAPED)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A baseline and a run that both call an endpoint whose name is a script tag."""
    root = tmp_path_factory.mktemp("escaping")
    base = make_run_dir(root, "base", duration_s=20, total_requests=2_000, seed=1, extra=[EVIL_ENDPOINT])
    run = make_run_dir(root, "run", duration_s=20, total_requests=2_000, seed=2, extra=[EVIL_ENDPOINT],
                       summary_meta={"host": f"http://{EVIL}", "status": "partial", "partial_reason": EVIL})
    baseline = read_baseline(save_baseline(base, root / "baselines", now=datetime(2026, 11, 1, tzinfo=UTC)))
    return root, run, baseline


def test_run_report(runs):
    _, run, _ = runs
    stats, stages = make_stats(duration_s=20, total_requests=2_000, extra=[EVIL_ENDPOINT], error_rates={
        f"{EVIL_ENDPOINT[0]} {EVIL_ENDPOINT[1]}": 0.5})
    summary = validate_summary(make_summary(
        stats, stages, run_id=EVIL, profile=EVIL, duration_s=20, host=EVIL, profile_hash=EVIL, workers={"count": 1, "lost": [EVIL]},
        thresholds=[{"metric": "http_req_duration", "expression": EVIL, "scope": f"name:{EVIL}", "observed": 1.0,
                     "passed": False, "reason": EVIL, "abort_on_fail": False}],
        reconciliation={"reconciled": False, EVIL: EVIL, "mismatches": [{"endpoint": EVIL, EVIL: 1}], "counters": []},
        cleanup={"deleted": 0, "not_deleted": [{"resource": EVIL, "id": EVIL, "reason": EVIL}]}))
    html = render_run_report(summary, load_history(run))
    # title, heading, meta rows, endpoint rows, failures per endpoint, thresholds, reconciliation, cleanup
    assert_escaped(html, times=15)
    assert html.count('<img class="chart"') == 1


def test_compare_report(runs):
    _, run, baseline = runs
    summary = load_summary(run).model_copy(update={"run_id": EVIL, "profile": EVIL})
    comparison = compare(summary, baseline.model_copy(update={"run_id": EVIL}))
    assert f"GET /api/v1/{EVIL}" in comparison.endpoints()
    html = to_html(comparison, load_history(run), baseline.history_frame())
    # title, heading (run and baseline), profile, host, warnings, 5 metric rows of the endpoint
    assert_escaped(html, times=10)
    assert f"GET /api/v1/{ESCAPED}" in html
    assert html.count('<img class="chart"') == 2


def test_trend(runs, tmp_path):
    _, run, _ = runs
    summary = load_summary(run).model_copy(update={"run_id": EVIL, "profile": EVIL, "git_commit": EVIL})
    path = tmp_path / "history.csv"
    append_history(summary, path)
    html = render_trend(path, profile=EVIL)
    assert_escaped(html, times=3)  # title, heading, the run's row
    assert html.count('<img class="chart"') == 1
    assert_escaped(render_trend(path, profile=EVIL + "-other"), times=2)  # "no runs of profile ..."
