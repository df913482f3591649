"""The HTML report of one run, and the HTML helpers the compare and trend reports share.

Every page is self-contained: inline CSS, charts as base64 PNG made by matplotlib's Agg
backend (imported lazily, only when a chart is drawn; no pyplot), no external URLs and no JavaScript. All
text from the run is escaped with :func:`html.escape`.

This module does not import locust.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from bss_loadtest.reports.results import Summary

CHART_DPI = 80
"""Resolution of the PNG charts; the charts are simple, so a low value keeps rendering fast."""

CHART_WIDTH_IN = 11.0
STAGE_SHADES = ("#eef3fb", "#ffffff")

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1d2330;background:#fff}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #dde2ea;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #dde2ea;padding:.25rem .5rem;text-align:right;white-space:nowrap}
th{background:#f3f5f9}td.l,th.l{text-align:left}
.meta td{text-align:left;border:none;padding:.1rem .8rem .1rem 0}
.pass{color:#17703a;font-weight:600}.fail{color:#b3261e;font-weight:600}.muted{color:#6b7280}
.regression{background:#fde8e6}.improvement{background:#e6f4ea}
.banner{padding:.6rem .9rem;border-radius:6px;margin:.5rem 0;font-weight:600}
.banner.warn{background:#fff4d6;border:1px solid #e9c46a}.banner.bad{background:#fde8e6;border:1px solid #e4a39d}
.banner.ok{background:#e6f4ea;border:1px solid #9bd3ae}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts figure{margin:0;flex:1 1 480px}
img.chart{max-width:100%;height:auto;border:1px solid #eef0f4}
"""


# -- shared helpers --------------------------------------------------------------------------


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def new_figure(**kwargs: Any):
    """A matplotlib ``Figure`` drawn by the Agg backend, imported on first use.

    The object-oriented API is used instead of pyplot: no process-wide backend switch and no
    global figure registry to leak into (the report is rendered inside the Locust master), and
    pyplot's import is skipped, which is a quarter of the cold rendering time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def figure_img(fig, alt: str) -> str:
    """Render a matplotlib figure as an inline ``<img>`` (base64 PNG)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=CHART_DPI)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="chart" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number for a table cell, ``–`` for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return escape(str(value))


def pct(rate: float | None, digits: int = 2) -> str:
    return "–" if rate is None or (isinstance(rate, float) and math.isnan(rate)) else f"{rate * 100:.{digits}f} %"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, left: int = 1, row_classes: Sequence[str] | None = None) -> str:
    """An HTML table; cells must already be escaped. The first ``left`` columns align left."""
    head = "".join(f'<th class="l">{escape(h)}</th>' if i < left else f"<th>{escape(h)}</th>" for i, h in enumerate(headers))
    out = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for n, row in enumerate(rows):
        cls = f' class="{row_classes[n]}"' if row_classes and row_classes[n] else ""
        cells = "".join(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>" for i, c in enumerate(row))
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def mark_stages(ax, stages: Sequence[Any]) -> None:
    """Shade the profile's stages (alternating) and draw a line at each stage boundary."""
    for i, stage in enumerate(stages):
        ax.axvspan(stage.start_s, stage.end_s, color=STAGE_SHADES[i % 2], zorder=0, lw=0)
        ax.axvline(stage.start_s, color="#9aa5b8", lw=0.7, ls="--", zorder=1)
    if stages:
        ax.axvline(stages[-1].end_s, color="#9aa5b8", lw=0.7, ls="--", zorder=1)


def iso(value: datetime | None) -> str:
    if value is None:
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- the run report --------------------------------------------------------------------------


def _header(summary: Summary) -> str:
    verdict = "PASS" if summary.exit_code == 0 else f"FAIL (exit code {summary.exit_code})"
    verdict_cls = "pass" if summary.exit_code == 0 else "fail"
    meta = [
        ("Run", escape(summary.run_id)),
        ("Profile", escape(summary.profile) + (f' <span class="muted">({escape(summary.profile_hash)})</span>' if summary.profile_hash else "")),
        ("Host", escape(summary.host or "–")),
        ("Started", iso(summary.started_at)),
        ("Ended", iso(summary.ended_at)),
        ("Duration", f"{summary.duration_s:,.1f} s" + (f" (time scale {summary.time_scale:g})" if summary.time_scale != 1 else "")),
        ("Suite", escape(summary.suite_version) + (f" @ {escape(summary.git_commit[:12])}" if summary.git_commit else "")),
        ("Workers", f"{summary.workers.count}" + (f' <span class="fail">lost: {escape(", ".join(summary.workers.lost))}</span>' if summary.workers.lost else "")),
        ("Verdict", f'<span class="{verdict_cls}">{verdict}</span>'),
    ]
    rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in meta)
    out = [f"<h1>Load test run {escape(summary.run_id)}</h1>", f'<table class="meta">{rows}</table>']
    if summary.status == "partial":
        out.append(f'<div class="banner warn">Partial run: {escape(summary.partial_reason or "unknown reason")}. '
                   "The numbers cover only the part that ran.</div>")
    if summary.generator.cpu_saturated:
        cpu = summary.generator.max_cpu_percent
        out.append('<div class="banner warn">Load generator CPU saturated'
                   + (f" (max {cpu:.0f} %)" if cpu is not None else "")
                   + ": response times include the generator's own delay and may be overstated.</div>")
    if summary.reconciliation is not None:
        out.append(_reconciliation(summary.reconciliation))
    return "\n".join(out)


def _reconciliation(data: dict[str, Any]) -> str:
    """Banner for ``reconcile.reconcile()``'s result: ``reconciled``, ``endpoints_compared``, ``mismatches``, ``counters``."""
    ok = next((data[k] for k in ("reconciled", "ok", "matched", "passed") if isinstance(data.get(k), bool)), None)
    cls = "ok" if ok is True else ("bad" if ok is False else "warn")
    label = {True: "match", False: "do NOT match"}.get(ok, "status unknown")
    details = ", ".join(f"{escape(str(k))}: {escape(str(v))}" for k, v in data.items()
                        if not isinstance(v, (dict, list, bool)))
    out = f'<div class="banner {cls}">Client and server request counts {label}. <span class="muted">{details}</span></div>'
    mismatches = data.get("mismatches") or []
    if isinstance(mismatches, list) and mismatches and all(isinstance(m, dict) for m in mismatches):
        headers = sorted({k for m in mismatches for k in m}, key=lambda k: (k != "endpoint", k))
        out += table(headers, [[escape(str(m.get(h, ""))) for h in headers] for m in mismatches[:50]])
    return out


def _charts(summary: Summary, history: pd.DataFrame | None) -> str:
    from bss_loadtest.reports.results import aggregated_history

    agg = aggregated_history(history)
    if agg is None or len(agg) == 0:
        return '<p class="muted">No per-second history was recorded for this run.</p>'
    x = agg["elapsed_s"].to_numpy()
    fig = new_figure(figsize=(CHART_WIDTH_IN, 9.5))
    axes = fig.subplots(4, 1, sharex=True)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.96, bottom=0.06, hspace=0.12)
    users_ax, rps_ax, lat_ax, err_ax = axes
    for ax in axes:
        mark_stages(ax, summary.stages)
        ax.grid(True, axis="y", color="#e5e7eb", lw=0.6)
    users_ax.step(x, agg["users"].to_numpy(), where="post", color="#4b5563", lw=1.2, label="users")
    if summary.stages:
        sx = [summary.stages[0].start_s] + [s.end_s for s in summary.stages]
        sy = [0] + [s.target for s in summary.stages]
        users_ax.plot(sx, sy, color="#9aa5b8", lw=1, ls=":", label="profile target")
    users_ax.set_ylabel("users")
    users_ax.legend(loc="upper right", fontsize=8)
    rps_ax.plot(x, agg["rps"].to_numpy(), color="#2563eb", lw=1)
    rps_ax.set_ylabel("requests/s")
    for column, color in (("p50_ms", "#16a34a"), ("p95_ms", "#f59e0b"), ("p99_ms", "#dc2626")):
        lat_ax.plot(x, agg[column].to_numpy(), color=color, lw=1, label=column[:-3])
    lat_ax.set_ylabel("latency (ms)")
    lat_ax.legend(loc="upper right", fontsize=8)
    # A filled step, not bars: 960 bar patches would take longer to draw than the rest of the report.
    err_ax.fill_between(x, agg["failures"].to_numpy(), step="post", color="#b3261e", lw=0)
    err_ax.set_ylabel("failures/s")
    err_ax.set_xlabel("seconds since start (dashed lines: stage boundaries)")
    users_ax.set_title("Users, throughput, latency (Aggregated) and errors over time", fontsize=10)
    return f"<figure>{figure_img(fig, 'users, throughput, latency percentiles and errors over time')}</figure>"


def _endpoint_table(summary: Summary) -> str:
    headers = ["endpoint", "requests", "failures", "error rate", "avg", "p50", "p90", "p95", "p99", "max", "rps"]
    rows = []
    for r in [*sorted(summary.requests, key=lambda r: (r.method == "AUTH", r.key)), summary.totals]:
        rows.append([
            ("<b>" + escape(r.key) + "</b>") if r is summary.totals else escape(r.key),
            fmt(r.count), fmt(r.failures), pct(r.error_rate),
            fmt(r.avg_ms), fmt(r.p50_ms), fmt(r.p90_ms), fmt(r.p95_ms), fmt(r.p99_ms), fmt(r.max_ms), fmt(r.rps, 2),
        ])
    return "<h2>Endpoints <span class=\"muted\">(times in ms)</span></h2>" + table(headers, rows)


def _thresholds(summary: Summary) -> str:
    if not summary.thresholds:
        return "<h2>Thresholds</h2><p class=\"muted\">The profile declares no thresholds.</p>"
    rows = []
    for t in summary.thresholds:
        verdict = '<span class="pass">PASS</span>' if t.passed else '<span class="fail">FAIL</span>'
        rows.append([verdict, escape(t.metric + (f"{{{t.scope}}}" if t.scope else "")), escape(t.expression),
                     fmt(t.observed, 3), escape(t.reason or ""), "yes" if t.abort_on_fail else ""])
    return "<h2>Thresholds</h2>" + table(["verdict", "metric", "expression", "observed", "reason", "abort on fail"], rows, left=3)


def _failures(summary: Summary) -> str:
    if not summary.failures_by_class:
        return "<h2>Failures</h2><p class=\"muted\">No failed requests.</p>"
    total = sum(summary.failures_by_class.values()) or 1
    rows = [[escape(k), fmt(v), pct(v / total, 1)] for k, v in sorted(summary.failures_by_class.items(), key=lambda kv: -kv[1])]
    per_endpoint = [[escape(r.key), escape(k), fmt(v)] for r in summary.requests for k, v in sorted(r.failures_by_class.items())]
    out = "<h2>Failures by class</h2>" + table(["class", "failures", "share"], rows)
    if per_endpoint:
        out += table(["endpoint", "class", "failures"], per_endpoint, left=2)
    return out


def _user_classes(summary: Summary) -> str:
    if not summary.user_classes:
        return ""
    rows = [[escape(u.name), fmt(u.count), fmt(u.failures), fmt(u.p95_ms)] for u in summary.user_classes]
    return "<h2>User classes</h2>" + table(["user class", "requests", "failures", "p95 (ms)"], rows)


def _cleanup(summary: Summary) -> str:
    if summary.cleanup is None:
        return "<h2>Cleanup</h2><p class=\"muted\">Cleanup did not run.</p>"
    c = summary.cleanup
    if not c.not_deleted:
        return f"<h2>Cleanup</h2><p>Deleted {c.deleted:,} entities; nothing left behind.</p>"
    rows = [[escape(n.resource), escape(n.id), escape(n.reason)] for n in c.not_deleted]
    return (f'<h2>Cleanup</h2><div class="banner warn">Deleted {c.deleted:,} entities; {len(c.not_deleted)} left behind.</div>'
            + table(["resource", "id", "reason"], rows, left=3))


def render_run_report(summary: Summary, history_df: pd.DataFrame | None = None) -> str:
    """The self-contained HTML report of one run.

    ``summary`` is a :class:`~bss_loadtest.reports.results.Summary` (a plain dict is validated first);
    ``history_df`` is the run's ``history.csv`` as returned by ``results.load_history`` (optional:
    without it the report has no charts).
    """
    from bss_loadtest.reports.results import Summary

    if not isinstance(summary, Summary):
        summary = Summary.model_validate(summary)
    body = [
        _header(summary),
        "<h2>Over time</h2>",
        _charts(summary, history_df),
        _endpoint_table(summary),
        _thresholds(summary),
        _failures(summary),
        _user_classes(summary),
        _cleanup(summary),
    ]
    return page(f"Load test {summary.profile} – {summary.run_id}", "\n".join(body))


def render_error_page(summary: Summary, message: str) -> str:
    """A minimal report used when the full one cannot be rendered (the numbers stay in summary.json)."""
    return page(f"Load test {summary.run_id}", f"<h1>Load test run {escape(summary.run_id)}</h1>"
                f'<div class="banner bad">{escape(message)}</div><p>See summary.json and history.csv.</p>')
