"""summary.json's k6-style ``metrics`` block and ``scenarios``; threshold rows of windowed and stage
thresholds through summary.json, report.html and the console."""

from __future__ import annotations

import json

import pytest

from bss_loadtest.core.stats import RunStats
from bss_loadtest.core.thresholds import evaluate_all, parse_thresholds, tracking_for
from bss_loadtest.reports.report import render_run_report
from bss_loadtest.reports.results import Summary, load_summary, summary_from_stats, write_run
from bss_loadtest.run.console import k6_metrics_line, print_console_report

T0 = 1_700_000_000.0
TREND_KEYS = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"]
EXPECTED_KEYS = {
    "http_req_duration": TREND_KEYS,
    "http_reqs": ["count", "rate"],
    "http_req_failed": ["passes", "fails", "value"],
    "checks": ["passes", "fails", "value"],
    "errors": ["passes", "fails", "value"],
    "iterations": ["count", "rate"],
    "iteration_duration": TREND_KEYS,
    "dropped_iterations": ["count", "rate"],
    "vus": ["value", "min", "max"],
    "vus_max": ["value", "min", "max"],
}


def summary_of(stats: RunStats, **kwargs) -> dict:
    data = summary_from_stats(stats, run_id="k6-run", profile="load", started_at=T0, ended_at=T0 + 10, **kwargs)
    return Summary.model_validate(data).to_json_dict()


@pytest.fixture
def stats() -> RunStats:
    """40 requests over 10 s (1 to 40 ms), 4 failed; 3 checks each, 1 of them failed on 6 requests;
    30 iterations of two scenarios, 5 dropped; VUs from two workers."""
    run = RunStats()
    for i in range(40):
        run.record("GET", "/api/v1/customers/{id}", float(i + 1), "server_error" if i % 10 == 0 else None, "U",
                   now=T0 + i * 0.25, checks=(2, 1) if i < 6 else (3, 0))
    for i in range(30):
        run.record_iteration("browse" if i % 3 else "buy", 100.0 * (i + 1), now=T0 + i * 0.3)
    run.record_dropped("buy", 5, now=T0 + 9)
    run.set_vus(4, 10, source="w1")
    run.set_vus(3, 10, source="w2")
    run.set_vus(1, 10, source="w1")
    run.ended_at = T0 + 10
    return run


def test_the_metrics_block_has_exactly_k6s_names_and_keys(stats: RunStats) -> None:
    metrics = summary_of(stats)["metrics"]
    assert {name: list(values) for name, values in metrics.items()} == EXPECTED_KEYS


def test_the_metrics_block_holds_the_runs_numbers_with_k6_semantics(stats: RunStats) -> None:
    summary = summary_of(stats)
    metrics = summary["metrics"]
    duration = metrics["http_req_duration"]
    assert (duration["min"], duration["max"]) == (1.0, 40.0)
    assert duration["avg"] == pytest.approx(20.5)
    assert (duration["med"], duration["p(90)"], duration["p(95)"]) == (
        summary["totals"]["p50_ms"], summary["totals"]["p90_ms"], summary["totals"]["p95_ms"])
    assert metrics["http_reqs"] == {"count": 40, "rate": summary["totals"]["rps"]}
    # k6's Rate: passes are the samples that are true; for http_req_failed, the failed requests.
    assert metrics["http_req_failed"] == {"passes": 4, "fails": 36, "value": 0.1}
    assert metrics["checks"] == {"passes": 114, "fails": 6, "value": pytest.approx(114 / 120)}
    assert metrics["errors"] == {"passes": 6, "fails": 114, "value": pytest.approx(6 / 120)}
    assert metrics["iterations"]["count"] == 30 and metrics["iterations"]["rate"] == pytest.approx(3.0)
    assert metrics["iteration_duration"]["max"] == 3000.0 and metrics["iteration_duration"]["min"] == 100.0
    assert metrics["dropped_iterations"] == {"count": 5, "rate": pytest.approx(0.5)}
    assert metrics["vus"] == {"value": 4, "min": 4, "max": 7}
    assert metrics["vus_max"] == {"value": 20, "min": 10, "max": 20}


def test_scenarios_when_iterations_were_recorded(stats: RunStats) -> None:
    scenarios = summary_of(stats)["scenarios"]
    assert set(scenarios) == {"browse", "buy"}
    assert scenarios["buy"]["iterations"] == 10 and scenarios["buy"]["dropped_iterations"] == 5
    assert scenarios["browse"]["iterations"] == 20 and scenarios["browse"]["dropped_iterations"] == 0
    assert scenarios["buy"]["iteration_duration_p95_ms"] == pytest.approx(2800.0, rel=0.01)


def test_an_empty_run_has_nulls_not_zeros_where_there_is_no_data() -> None:
    summary = summary_of(RunStats())
    metrics = summary["metrics"]
    assert set(metrics["http_req_duration"].values()) == {None}
    assert set(metrics["iteration_duration"].values()) == {None}
    assert metrics["http_reqs"] == {"count": 0, "rate": None}
    assert metrics["http_req_failed"] == {"passes": 0, "fails": 0, "value": None}
    assert metrics["checks"]["value"] is None and metrics["errors"]["value"] is None
    assert metrics["vus"] == {"value": None, "min": None, "max": None}
    assert summary["scenarios"] is None


def test_vus_from_the_sampled_users_without_an_engine() -> None:
    run = RunStats()
    run.record("GET", "/x", 5.0, None, "U", now=T0)
    for second, users in enumerate((1, 5, 3)):
        run.record_users(users, now=T0 + second)
    metrics = summary_of(run)["metrics"]
    assert metrics["vus"] == {"value": 3, "min": 1, "max": 5}
    assert metrics["vus_max"] == {"value": 5, "min": 1, "max": 5}


def test_an_older_summary_without_the_block_still_validates(stats: RunStats) -> None:
    data = summary_from_stats(stats, run_id="k6-run", profile="load", started_at=T0, ended_at=T0 + 10)
    del data["metrics"], data["scenarios"]
    assert Summary.model_validate(data).metrics is None


def windowed_results() -> tuple[RunStats, list]:
    thresholds = parse_thresholds({
        "http_req_duration": [{"threshold": "p(95)<300", "window": "10s"}],
        "checks": ["rate>0.99"],
        "vus": ["max<=5"],
    })
    run = RunStats()
    run.configure(tracking_for(thresholds, origin=T0))
    for second in range(40):
        for i in range(10):
            run.record("GET", "/api/v1/customers/{id}", 400.0 if 20 <= second < 25 else 10.0, None, "U",
                       now=T0 + second + i / 10)
    run.set_vus(3, 4)
    run.ended_at = T0 + 40
    run.close_intervals(before=T0 + 41)
    return run, evaluate_all(thresholds, run)


def test_windowed_rows_carry_their_window_through_summary_json_and_the_report(tmp_path) -> None:
    run, results = windowed_results()
    data = summary_from_stats(run, run_id="k6-run", profile="load", started_at=T0, ended_at=T0 + 40,
                              thresholds=[r.to_dict() for r in results])
    write_run(tmp_path, data, history_rows=list(run.history), started_at=T0)
    summary = load_summary(tmp_path)
    windowed, checks, vus = summary.thresholds
    assert (windowed.passed, windowed.window_s, windowed.window_start_s, windowed.stage) == (False, 10.0, 20.0, None)
    assert checks.passed and checks.metric == "checks" and vus.passed and vus.observed == 3
    raw = json.loads((tmp_path / "summary.json").read_text())["thresholds"][0]
    assert raw["window_s"] == 10.0 and raw["window_start_s"] == 20.0
    html = render_run_report(summary)
    assert "worst 10s window, from 20s" in html and "in the window at 20s–30s" in html
    assert "judged over" in html


def test_the_console_shows_the_window_and_the_k6_metrics(capsys) -> None:
    run, results = windowed_results()
    data = summary_from_stats(run, run_id="k6-run", profile="load", started_at=T0, ended_at=T0 + 40,
                              thresholds=[r.to_dict() for r in results])
    print_console_report(data, results)
    out = capsys.readouterr().out
    assert "http_req_duration [window 10s]" in out and "in the window at 20s–30s" in out
    assert "checks: 100.00% of 400 passed" in out and "vus max 3 of 4 allocated" in out


def test_k6_metrics_line_says_only_what_has_data() -> None:
    assert k6_metrics_line(None) == ""
    assert k6_metrics_line(summary_of(RunStats())["metrics"]) == ""


def test_the_report_lists_the_k6_metrics_with_data(stats: RunStats) -> None:
    html = render_run_report(Summary.model_validate(
        summary_from_stats(stats, run_id="k6-run", profile="load", started_at=T0, ended_at=T0 + 10)))
    assert "<h3>k6 metrics</h3>" in html
    assert "95.00 % passed" in html and "114 passed of 120" in html  # checks
    assert "5.00 % failed" in html  # errors: the share of failed checks
    assert "dropped_iterations" in html and "iteration_duration" in html
    empty = render_run_report(Summary.model_validate(
        summary_from_stats(RunStats(), run_id="k6-run", profile="load", started_at=T0, ended_at=T0 + 10)))
    assert "k6 metrics" not in empty
