"""The HTML report of one run: the data of each section; ``templates/run_report.html`` lays it out.

Self-contained (inline CSS, charts as base64 PNG, no external URL, no JavaScript); every text from
the run reaches the page through Jinja2's autoescaping (:mod:`bss_loadtest.reports.html`). The one
kind of external link is a trace's, built from the run's ``--trace-url`` template (http or https
only, the trace id 32 hex digits: :func:`~bss_loadtest.reports.results.trace_link`).

This module does not import locust.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bss_loadtest.core.stats import SIDE_REQUEST_TYPES
from bss_loadtest.reports.html import Cell, Chart, Table, chart, fmt, new_figure, pct, render_page

if TYPE_CHECKING:
    import pandas as pd

    from bss_loadtest.reports.results import AggregatedSeries, Summary, TraceSampleRow

CHART_WIDTH_IN = 11.0
STAGE_SHADES = ("#eef3fb", "#ffffff")
MIN_PLOT_INTERVALS = 3
"""A run with fewer history intervals (of 1 s) than this gets no plots, only a line saying so."""
MIN_RATE_DURATION_S = 1.0
"""A run shorter than this shows request counts and no rates: 1 request in 0.2 s is not 5 req/s."""
REPORT_SLOWEST_ROWS = 20
"""The slowest requests of all endpoints listed first; every endpoint's own follow, folded."""


def measured_rate(summary: Summary) -> bool:
    """Whether the run lasted long enough (``MIN_RATE_DURATION_S``) for its request rates to mean something."""
    return summary.duration_s >= MIN_RATE_DURATION_S


def mark_stages(ax, stages: Sequence[Any]) -> None:
    """Shade the profile's stages (alternating) and draw a line at each stage boundary."""
    for i, stage in enumerate(stages):
        ax.axvspan(stage.start_s, stage.end_s, color=STAGE_SHADES[i % 2], zorder=0, lw=0)
        ax.axvline(stage.start_s, color="#9aa5b8", lw=0.7, ls="--", zorder=1)
    if stages:
        ax.axvline(stages[-1].end_s, color="#9aa5b8", lw=0.7, ls="--", zorder=1)


def _reconciliation(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Banner for ``reconcile.reconcile()``'s result: ``reconciled``, ``endpoints_compared``, ``mismatches``, ``counters``."""
    if data is None:
        return None
    ok = next((data[k] for k in ("reconciled", "ok", "matched", "passed") if isinstance(data.get(k), bool)), None)
    mismatches = data.get("mismatches") or []
    table = None
    if isinstance(mismatches, list) and mismatches and all(isinstance(m, dict) for m in mismatches):
        headers = sorted({k for m in mismatches for k in m}, key=lambda k: (k != "endpoint", k))
        table = Table(headers=headers, rows=[[str(m.get(h, "")) for h in headers] for m in mismatches[:50]])
    return {
        "cls": "ok" if ok is True else ("bad" if ok is False else "warn"),
        "label": {True: "match", False: "do NOT match"}.get(ok, "status unknown"),
        "details": ", ".join(f"{k}: {v}" for k, v in data.items() if not isinstance(v, (dict, list, bool))),
        "mismatches": table,
    }


def _over_time(summary: Summary, history: pd.DataFrame | None) -> tuple[Chart | None, str | None]:
    """The four panels over time, or None and one line saying why there are none.

    The time axis spans the run as it ran (its duration, or its last interval if later), not the
    profile's planned stages: a run that ended early is not drawn as a short line in an empty plot.
    """
    from bss_loadtest.core.stats import HISTORY_INTERVAL_S
    from bss_loadtest.reports.results import downsample_series, series_of

    agg = series_of(history)
    if agg is None or len(agg) == 0:
        return None, "No per-second history was recorded for this run."
    if len(agg) < MIN_PLOT_INTERVALS:
        return None, (f"The run was too short to plot ({summary.duration_s:,.1f} s; a time series needs at least "
                      f"{MIN_PLOT_INTERVALS * HISTORY_INTERVAL_S} s): see the tables below.")
    fig = over_time_figure(summary, downsample_series(agg))  # a 24-hour run: 86,400 s drawn in 2,000 buckets
    return chart(fig, "users, throughput, latency percentiles and errors over time"), None


def over_time_figure(summary: Summary, agg: AggregatedSeries | pd.DataFrame):  # -> matplotlib Figure
    """The four panels sharing the time axis, from the ``Aggregated`` rows of the history (an
    :class:`~bss_loadtest.reports.results.AggregatedSeries`, or a history DataFrame)."""
    from bss_loadtest.core.stats import HISTORY_INTERVAL_S
    from bss_loadtest.reports.results import series_of

    agg = series_of(agg)
    x = agg["elapsed_s"]
    end_s = max(summary.duration_s, float(x.max()) + HISTORY_INTERVAL_S)
    fig = new_figure(figsize=(CHART_WIDTH_IN, 9.5))
    axes = fig.subplots(4, 1, sharex=True)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.96, bottom=0.06, hspace=0.12)
    users_ax, rps_ax, lat_ax, err_ax = axes
    users_ax.set_xlim(0, end_s)
    for ax in axes:
        mark_stages(ax, summary.stages)
        ax.grid(True, axis="y", color="#e5e7eb", lw=0.6)
    users_ax.step(x, agg["users"], where="post", color="#4b5563", lw=1.2, label="users")
    if summary.stages:
        sx = [summary.stages[0].start_s] + [s.end_s for s in summary.stages]
        sy = [0] + [s.target for s in summary.stages]
        users_ax.plot(sx, sy, color="#9aa5b8", lw=1, ls=":", label="profile target")
    users_ax.set_ylabel("users")
    users_ax.legend(loc="upper right", fontsize=8)
    rps_ax.plot(x, agg["rps"], color="#2563eb", lw=1)
    rps_ax.set_ylim(bottom=0)
    rps_ax.set_ylabel("requests/s")
    for column, color in (("p50_ms", "#16a34a"), ("p95_ms", "#f59e0b"), ("p99_ms", "#dc2626")):
        lat_ax.plot(x, agg[column], color=color, lw=1, label=column[:-3])
    lat_ax.set_ylabel("latency (ms)")
    lat_ax.legend(loc="upper right", fontsize=8)
    # A filled step, not bars: 960 bar patches would take longer to draw than the rest of the report.
    failures = agg["failures"]
    err_ax.fill_between(x, failures, step="post", color="#b3261e", lw=0)
    err_ax.set_ylim(0, max(1.0, float(failures.max()) * 1.1))  # no failures: a flat line at 0, not ±0.04
    err_ax.set_ylabel("failures/s")
    err_ax.set_xlabel("seconds since start (dashed lines: stage boundaries)")
    users_ax.set_title("Users, throughput, latency (Aggregated) and errors over time", fontsize=10)
    return fig


def _endpoints(summary: Summary) -> Table:
    rated = measured_rate(summary)
    rows = []
    for r in [*sorted(summary.requests, key=lambda r: (r.method in SIDE_REQUEST_TYPES, r.key)), summary.totals]:
        rows.append([
            Cell(r.key, bold=r is summary.totals),
            fmt(r.count), fmt(r.failures), pct(r.error_rate),
            fmt(r.avg_ms), fmt(r.p50_ms), fmt(r.p90_ms), fmt(r.p95_ms), fmt(r.p99_ms), fmt(r.max_ms), fmt(r.rps if rated else None, 2),
        ])
    return Table(headers=["endpoint", "requests", "failures", "error rate", "avg", "p50", "p90", "p95", "p99", "max", "rps"],
                 rows=rows)


def judged_over(threshold: Any) -> str:
    """What a threshold row was judged over: ``the run``, its worst window or its (worst) stage."""
    from bss_loadtest.core.thresholds import format_seconds

    if threshold.window_s is not None:
        window = format_seconds(threshold.window_s)
        if threshold.window_start_s is None:
            return f"{window} windows"
        return f"worst {window} window, from {format_seconds(threshold.window_start_s)}"
    if threshold.stage is not None:
        return f"stage {threshold.stage}"
    return "the run"


def _thresholds(summary: Summary) -> Table | None:
    if not summary.thresholds:
        return None
    rows = [[Cell("PASS", cls="pass") if t.passed else Cell("FAIL", cls="fail"),
             t.metric + (f"{{{t.scope}}}" if t.scope else ""), t.expression, judged_over(t),
             fmt(t.observed, 3), t.reason or "", "yes" if t.abort_on_fail else ""] for t in summary.thresholds]
    return Table(headers=["verdict", "metric", "expression", "judged over", "observed", "reason", "abort on fail"],
                 rows=rows, left=4)


def _k6_metrics(summary: Summary) -> Table | None:
    """k6's checks, errors, iterations and VUs of the run (``summary.metrics``), those with data;
    the request metrics are the endpoint table's."""
    metrics = summary.metrics
    if metrics is None:
        return None
    rows = []
    for name in ("checks", "errors"):
        rate = getattr(metrics, name)
        if rate.value is not None:
            what = "passed" if name == "checks" else "failed"
            rows.append([name, f"{pct(rate.value)} {what}", f"{fmt(rate.passes)} {what} of {fmt(rate.passes + rate.fails)}"])
    for name in ("iterations", "dropped_iterations"):
        counter = getattr(metrics, name)
        if counter.count or metrics.iterations.count:
            rows.append([name, fmt(counter.count), f"{fmt(counter.rate, 2)}/s" if counter.rate is not None else ""])
    trend = metrics.iteration_duration
    if trend.avg is not None:
        rows.append(["iteration_duration", f"p95 {fmt(trend.p95)} ms",
                     f"avg {fmt(trend.avg)}, med {fmt(trend.med)}, max {fmt(trend.max)} ms"])
    for name in ("vus", "vus_max"):
        gauge = getattr(metrics, name)
        if gauge.value is not None:
            rows.append([name, fmt(gauge.value), f"min {fmt(gauge.min)}, max {fmt(gauge.max)}"])
    return Table(headers=["metric", "value", "detail"], rows=rows, left=3) if rows else None


def _failures(summary: Summary) -> tuple[Table | None, Table | None]:
    """Failures by class, and by endpoint and class (None where there are none)."""
    if not summary.failures_by_class:
        return None, None
    total = sum(summary.failures_by_class.values()) or 1
    by_class = [[k, fmt(v), pct(v / total, 1)] for k, v in sorted(summary.failures_by_class.items(), key=lambda kv: -kv[1])]
    per_endpoint = [[r.key, k, fmt(v)] for r in summary.requests for k, v in sorted(r.failures_by_class.items())]
    return (Table(headers=["class", "failures", "share"], rows=by_class),
            Table(headers=["endpoint", "class", "failures"], rows=per_endpoint, left=2) if per_endpoint else None)


def _user_classes(summary: Summary) -> Table | None:
    if not summary.user_classes:
        return None
    return Table(headers=["user class", "requests", "failures", "p95 (ms)"],
                 rows=[[u.name, fmt(u.count), fmt(u.failures), fmt(u.p95_ms)] for u in summary.user_classes])


def _left_behind_counts(summary: Summary) -> Table | None:
    """Every entity left behind, counted by reason and kind (when the list does not show them all)."""
    cleanup = summary.cleanup
    if cleanup is None or cleanup.left_count <= len(cleanup.not_deleted):
        return None
    rows = [[reason, kind, fmt(n)] for reason, kinds in cleanup.left_behind.items() for kind, n in kinds.items()]
    rows += [["not tracked (created past the limit a load process keeps track of)", kind, fmt(n)]
             for kind, n in cleanup.untracked.items()]
    return Table(headers=["reason", "resource", "entities"], rows=rows, left=2)


def _left_behind(summary: Summary) -> Table | None:
    if summary.cleanup is None or not summary.cleanup.not_deleted:
        return None
    return Table(headers=["resource", "id", "reason"],
                 rows=[[n.resource, n.id, n.reason] for n in summary.cleanup.not_deleted], left=3)


@dataclass(frozen=True, kw_only=True)
class TraceRow:
    """One kept request as the ``traces`` macro shows it; ``href`` is its trace's URL, or None."""

    endpoint: str
    ms: float
    status: int | None
    failure_class: str | None
    trace_id: str
    href: str | None


def trace_rows(summary: Summary, samples: Iterable[tuple[str, TraceSampleRow]]) -> list[TraceRow]:
    """(endpoint, sample) pairs as table rows, linked to their traces by the run's ``trace_url``."""
    return [TraceRow(endpoint=endpoint, ms=s.ms, status=s.status, failure_class=s.failure_class, trace_id=s.trace_id,
                     href=summary.trace_link(s.trace_id)) for endpoint, s in samples]


def _traces(summary: Summary) -> dict[str, Any] | None:
    """The slowest requests (of all endpoints, then per endpoint) and the failure samples, or None."""
    slowest = summary.slowest_requests()
    failed = [(s.endpoint, s) for _, samples in sorted(summary.failure_samples.items()) for s in samples]
    if not slowest and not failed:
        return None
    per_endpoint = [pair for r in sorted(summary.endpoint_rows(), key=lambda r: r.key)
                    for pair in summary.slowest_requests(r.key)]
    return {"slowest": trace_rows(summary, slowest[:REPORT_SLOWEST_ROWS]),
            "per_endpoint": trace_rows(summary, per_endpoint) if len(slowest) > REPORT_SLOWEST_ROWS else [],
            "failed": trace_rows(summary, failed), "linked": summary.trace_url is not None}


def render_run_report(summary: Summary, history_df: AggregatedSeries | pd.DataFrame | None = None) -> str:
    """The self-contained HTML report of one run.

    ``summary`` is a :class:`~bss_loadtest.reports.results.Summary` (a plain dict is validated first);
    ``history_df`` is the run's history: ``results.read_aggregated_series`` (what ``write_run``
    and ``run_compare`` read, no pandas) or a DataFrame of ``results.load_history`` (optional:
    without it the report has no charts).
    """
    from bss_loadtest.reports.results import Summary

    if not isinstance(summary, Summary):
        summary = Summary.model_validate(summary)
    failures, failures_per_endpoint = _failures(summary)
    duration = f"{summary.duration_s:,.1f} s" + (f" (time scale {summary.time_scale:g})" if summary.time_scale != 1 else "")
    over_time, over_time_note = _over_time(summary, history_df)
    rate_note = None if measured_rate(summary) else (
        f"The run lasted under {MIN_RATE_DURATION_S:g} s: requests are counted, rates are not shown.")
    return render_page(
        "run_report.html", title=f"Load test {summary.profile} – {summary.run_id}", s=summary, duration=duration,
        reconciliation=_reconciliation(summary.reconciliation), over_time=over_time, over_time_note=over_time_note,
        rate_note=rate_note,
        endpoints=_endpoints(summary), thresholds=_thresholds(summary), k6_metrics=_k6_metrics(summary),
        failures=failures,
        failures_per_endpoint=failures_per_endpoint, user_classes=_user_classes(summary), left_behind=_left_behind(summary),
        left_behind_counts=_left_behind_counts(summary),
        traces=_traces(summary),
    )


def render_error_page(summary: Summary, message: str) -> str:
    """A minimal report used when the full one cannot be rendered (the numbers stay in summary.json)."""
    return render_page("error_page.html", title=f"Load test {summary.run_id}", run_id=summary.run_id, message=message)
