"""report.py: the run report's content, escaping and self-containedness."""

from __future__ import annotations

import re

import pytest
from synthetic import T0, make_stats, make_summary

from bss_loadtest.reports.report import render_run_report
from bss_loadtest.reports.results import history_dataframe, history_frame_rows, validate_summary


@pytest.fixture(scope="module")
def made():
    stats, stages = make_stats(duration_s=20, total_requests=2_000, error_rates={"POST /api/v1/orders": 0.2})
    history = history_dataframe(history_frame_rows(stats.history, stats.users_at, started_at=T0))
    return stats, stages, history


def render(made, **meta) -> str:
    stats, stages, history = made
    return render_run_report(validate_summary(make_summary(stats, stages, duration_s=20, **meta)), history)


def test_sections(made):
    html = render(made, exit_code=99, thresholds=[
        {"metric": "http_req_duration", "expression": "p(95)<500", "scope": None, "observed": 120.5,
         "passed": True, "reason": None, "abort_on_fail": False},
        {"metric": "http_req_failed", "expression": "rate<0.01", "scope": None, "observed": 0.02,
         "passed": False, "reason": "2.00 % is not < 0.01", "abort_on_fail": True}])
    for text in ("Load test run run-1", "load", "http://127.0.0.1:8080", "FAIL (exit code 99)", "Endpoints",
                 "GET /api/v1/customers/{id}", "Aggregated", "Thresholds", "2.00 % is not &lt; 0.01",
                 "server_error", "Cleanup", "1 left behind", "409 Conflict", "User classes", "CustomerUser"):
        assert text in html, text
    assert html.count('<span class="pass">PASS</span>') == 1 and html.count('<span class="fail">FAIL</span>') == 1
    assert len(re.findall(r'<img class="chart"[^>]+src="data:image/png;base64,', html)) == 1


def test_warnings(made):
    html = render(made, status="partial", partial_reason="stopped by abortOnFail",
                  generator={"cpu_saturated": True, "max_cpu_percent": 97.0},
                  reconciliation={"reconciled": False, "endpoints_compared": 20,
                                  "mismatches": [{"endpoint": "GET /api/v1/products", "suite": 100, "target": 97}],
                                  "counters": []})
    assert "Partial run: stopped by abortOnFail" in html
    assert "Load generator CPU saturated (max 97 %)" in html
    assert "do NOT match" in html and "endpoints_compared: 20" in html and "<td>97</td>" in html
    quiet = render(made)
    assert "Partial run" not in quiet and "saturated" not in quiet and "request counts" not in quiet
    assert "request counts match" in render(made, reconciliation={"reconciled": True, "endpoints_compared": 20,
                                                                   "mismatches": [], "counters": []})


def test_everything_is_escaped(made):
    html = render(made, run_id="<script>alert(1)</script>", host="http://x/?a=<b>",
                  cleanup={"deleted": 0, "not_deleted": [{"resource": "<img src=x>", "id": "1", "reason": "&"}]})
    assert "<script>" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_self_contained(made):
    html = render(made)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "<script" not in html and "@import" not in html


def test_without_history(made):
    stats, stages, _ = made
    html = render_run_report(make_summary(stats, stages, duration_s=20), None)
    assert "No per-second history" in html and "base64" not in html


# -- short runs: no empty plots, axes that fit the run, no extrapolated rates -------------------


def smoke_like(duration_s: float, requests: int = 6):
    """A run like the smoke pass: ``requests`` requests spread over ``duration_s`` seconds from T0."""
    from bss_loadtest.core.stats import RunStats
    from bss_loadtest.reports.results import summary_from_stats

    stats = RunStats()
    stats.record_users(1, now=T0)
    for i in range(requests):
        stats.record("GET", f"/api/v1/customers/{i % 3}", 2.0 + i, None, now=T0 + duration_s * i / requests)
    stats.ended_at = T0 + duration_s
    stats.close_intervals(before=T0 + duration_s + 1)
    summary = summary_from_stats(stats, run_id="short", profile="smoke", started_at=T0, ended_at=T0 + duration_s,
                                 stages=[{"start_s": 0.0, "end_s": 120.0, "target": 1, "spawn_rate": 1.0}])
    history = history_dataframe(history_frame_rows(stats.history, stats.users_at, started_at=T0))
    return validate_summary(summary), history


def test_a_sub_second_run_has_no_plots_and_no_rates():
    summary, history = smoke_like(0.2)
    assert summary.totals.rps > 5  # what summary.json says: 6 requests over 0.2 s...
    html = render_run_report(summary, history)
    assert "base64" not in html  # ...no empty plots
    assert "The run was too short to plot (0.2 s; a time series needs at least 3 s)" in html
    assert "The run lasted under 1 s: requests are counted, rates are not shown." in html
    row = re.search(r"<td class=\"l\"><b>Aggregated</b></td>(.*?)</tr>", html).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[0] == "6" and cells[-1] == "–"  # the count, and no rate


def test_a_run_of_a_few_seconds_is_plotted_with_rates():
    summary, history = smoke_like(3.5, requests=20)
    html = render_run_report(summary, history)
    assert html.count("data:image/png;base64,") == 1
    assert "too short to plot" not in html and "rates are not shown" not in html


def test_the_time_axis_fits_the_run_not_the_planned_stages(made):
    from synthetic import stages_for

    from bss_loadtest.reports.report import over_time_figure
    from bss_loadtest.reports.results import aggregated_history

    stats, _, history = made  # 20 s of traffic...
    planned = stages_for(960)  # ...of a profile planned for 16 minutes (a run that ended early)
    summary = validate_summary(make_summary(stats, planned, duration_s=20, status="partial",
                                            partial_reason="interrupted (SIGINT) before the profile ended"))
    figure = over_time_figure(summary, aggregated_history(history))
    for ax in figure.axes:
        assert ax.get_xlim() == (0.0, pytest.approx(21.0, abs=1.0))
    short, short_history = smoke_like(3.5, requests=20)
    assert over_time_figure(short, aggregated_history(short_history)).axes[0].get_xlim()[1] == pytest.approx(4.0)


def test_loop_lag_is_flagged_like_cpu_saturation(made, capsys):
    lagging = {"cpu_saturated": False, "max_cpu_percent": 60.0, "loop_lag_ms": 3.4, "loop_lag_max_ms": 12.0,
               "loop_lagging": True}
    html = render(made, generator=lagging)
    assert "event loop lagging (3.4 ms at p95, max 12.0 ms)" in html
    assert "event loop lagging" not in render(made, generator={**lagging, "loop_lagging": False})
    assert "event loop lagging" not in render(made)  # an older summary without the fields

    from bss_loadtest.run.console import print_console_report

    stats, stages, _ = made
    summary = validate_summary(make_summary(stats, stages, duration_s=20, generator=lagging)).model_dump()
    print_console_report(summary, [])
    assert "WARNING: the load generator's event loop lagged 3.4 ms (p95)" in capsys.readouterr().out


def test_a_long_runs_leftovers_are_counted_in_full_and_listed_in_part(made):
    cleanup = {"deleted": 10, "not_deleted": [{"resource": "customers", "id": "c-1", "reason": "DELETE answered HTTP 503"}],
               "not_deleted_count": 1500, "left_behind": {"DELETE answered HTTP 503": {"customers": 1500}},
               "untracked": {"orders": 70000}}
    html = render(made, cleanup=cleanup)
    assert "71,500 left behind" in html
    assert "<td>70,000</td>" in html and "<td>1,500</td>" in html and "not tracked" in html
    assert "The first 1 of them, one by one" in html
    only_untracked = render(made, cleanup={"deleted": 3, "not_deleted": [], "not_deleted_count": 0,
                                           "left_behind": {}, "untracked": {"orders": 2}})
    assert "2 left behind" in only_untracked and "one by one" not in only_untracked
    old_summary = render(made, cleanup={"deleted": 2, "not_deleted": []})  # a summary of an older version
    assert "nothing left behind" in old_summary
