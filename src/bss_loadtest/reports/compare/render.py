"""Renderers of a finished :class:`~.compute.Comparison`: Markdown, HTML, JSON and JUnit XML.

They never decide anything; :data:`RENDERERS` maps each format to its renderer and
:func:`render` picks one by name.

This module does not import locust.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bss_loadtest.core.errors import InputError
from bss_loadtest.reports.compare.compute import MIN_TAIL_SAMPLES, NOISE_MIN_BASELINES, Comparison, MetricComparison
from bss_loadtest.reports.compare.rules import (
    METRIC_LABELS,
    METRICS,
    NOISE_K,
    describe_change,
    format_allowance,
    format_change,
    format_metric,
)
from bss_loadtest.reports.html import Chart, Table, chart, new_figure, render_page
from bss_loadtest.reports.report import TraceRow
from bss_loadtest.reports.results import AGGREGATED, AggregatedSeries, json_text

if TYPE_CHECKING:
    import pandas as pd

SMOOTH_S = 15
"""Window (seconds) of the rolling median on the compare report's latency-over-time chart."""

_MARK = {"regression": "▲ regression", "improvement": "▼ improved", "ok": "", "no data": "no data", "too few": "too few samples"}
_MD_MARK = {"regression": " ▲", "improvement": " ▼", "too few": " ·"}
_MD_URL_ESCAPES = {"(": "%28", ")": "%29", "<": "%3C", ">": "%3E", " ": "%20", "|": "%7C", "\\": "%5C", "`": "%60"}


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _md_trace(row: TraceRow, *, endpoint: bool) -> str:
    """A kept request in Markdown: its trace id (a link when its run has a ``trace_url``), ms, status."""
    text = f"`{row.trace_id}`"
    if row.href:
        # The URL is http(s) (results.trace_link); what would end a Markdown link target is encoded.
        text = f"[{text}]({''.join(_MD_URL_ESCAPES.get(c, c) for c in row.href)})"
    status = row.status if row.status is not None else "no answer"
    return (f"{_md(row.endpoint)} " if endpoint else "") + f"{text} {row.ms:,.1f} ms ({status})"


def _md_traces(c: Comparison) -> list[str]:
    if not c.traces:
        return []
    out = ["### Slowest requests of the regressed endpoints", ""]
    for t in c.traces:
        across = t.endpoint == AGGREGATED
        for label, rows in (("run", t.run), ("baseline", t.baseline)):
            listed = ", ".join(_md_trace(r, endpoint=across) for r in rows) or "none kept"
            out.append(f"- {_md(t.endpoint)}, {label}: {listed}")
    return [*out, ""]


def _tolerances_line(c: Comparison, escape_text: Callable[[str], str]) -> str:
    return ("Tolerances: " + "; ".join(f"{METRIC_LABELS[m]} {escape_text(d)}" for m, d in c.rules.items())
            + f"; widened to {NOISE_K:g}σ of the stored baselines when at least {NOISE_MIN_BASELINES} exist.")


def to_markdown(comparison: Comparison) -> str:
    """Markdown for a CI job summary or a PR comment: verdict, regressions first, all rows, notes."""
    c = comparison
    icon = "❌" if c.regressed else "✅"
    out = [f"## {icon} {_md(c.verdict())}", "",
           f"Run `{_md(c.run_id)}` vs baseline `{_md(c.baseline_run_id)}` (saved {_md(c.baseline_saved_at or '–')}), "
           f"profile **{_md(c.profile)}**, host `{_md(c.host or '–')}`.", ""]
    if c.regressions:
        out += ["### Regressions", "", "| endpoint | metric | baseline | run | change | allowed |", "|---|---|---:|---:|---:|---:|"]
        for r in c.regressions:
            out.append(f"| {_md(r.endpoint)} | {METRIC_LABELS[r.metric]} | {format_metric(r.metric, r.baseline)} | "
                       f"{format_metric(r.metric, r.run)} | {format_change(r.metric, r.baseline, r.run)} | "
                       f"{format_allowance(r.metric, r.allowance)} |")
        out.append("")
        out += _md_traces(c)
    if c.warnings:
        out += ["### Warnings", ""] + [f"- ⚠️ {_md(w)}" for w in c.warnings] + [""]
    out += ["### All endpoints", "",
            f"baseline → run; ▲ regression, ▼ improvement, · too few samples to judge (< {MIN_TAIL_SAMPLES} above the percentile)", "",
            "| endpoint | " + " | ".join(METRIC_LABELS[m] for m in METRICS) + " |",
            "|---|" + "---:|" * len(METRICS)]
    by_key: dict[str, dict[str, MetricComparison]] = {}
    for r in c.rows:
        by_key.setdefault(r.endpoint, {})[r.metric] = r
    for key, metrics in by_key.items():
        cells = []
        for m in METRICS:
            r = metrics.get(m)
            if r is None or r.status == "no data":
                cells.append("–")
                continue
            cells.append(f"{format_metric(m, r.baseline)} → {format_metric(m, r.run)}{_MD_MARK.get(r.status, '')}")
        name = f"**{_md(key)}**" if key == AGGREGATED else _md(key)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("")
    if c.infos:
        out += [f"- ℹ️ {_md(i)}" for i in c.infos] + [""]
    out.append(_tolerances_line(c, _md))
    return "\n".join(out) + "\n"


def to_json(comparison: Comparison) -> str:
    """The comparison as strict JSON (verdict, rows, notes, rules): every number finite or null."""
    return json_text(comparison.to_dict(), source="compare.json")


def to_junit(comparison: Comparison) -> str:
    """JUnit XML: one testcase per endpoint and metric, ``<failure>`` on a regression."""
    c = comparison
    failures = len(c.regressions)
    skipped = sum(1 for r in c.rows if r.status in ("no data", "too few")) + len(c.missing_in_run)
    suite = ET.Element("testsuite", {
        "name": f"bss-loadtest compare {c.profile}", "tests": str(len(c.rows) + len(c.missing_in_run)),
        "failures": str(failures), "errors": "0", "skipped": str(skipped),
    })
    props = ET.SubElement(suite, "properties")
    for name, value in (("run_id", c.run_id), ("baseline_run_id", c.baseline_run_id), ("profile", c.profile),
                        ("host", c.host or ""), ("baseline_path", c.baseline_path or "")):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for r in c.rows:
        case = ET.SubElement(suite, "testcase", {"classname": r.endpoint, "name": METRIC_LABELS[r.metric], "time": "0"})
        if r.status == "regression":
            failure = ET.SubElement(case, "failure", {"message": r.message or "regression", "type": "regression"})
            failure.text = r.message
        elif r.status == "no data":
            ET.SubElement(case, "skipped", {"message": "no data in run or baseline"})
        elif r.status == "too few":
            ET.SubElement(case, "skipped", {"message": r.message or "too few samples"})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{describe_change(r.metric, r.baseline, r.run, r.allowance, arrow='->')} {r.status}"
    for key in c.missing_in_run:
        case = ET.SubElement(suite, "testcase", {"classname": key, "name": "exercised", "time": "0"})
        ET.SubElement(case, "skipped", {"message": "not exercised in this run"})
    if c.notes:
        err = ET.SubElement(suite, "system-err")
        err.text = "\n".join(f"{n.level}: {n.message}" for n in c.notes)
    root = ET.Element("testsuites", {"name": "bss-loadtest", "tests": suite.get("tests", "0"),
                                     "failures": str(failures), "errors": "0", "skipped": str(skipped)})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _p95_bars(c: Comparison) -> Chart | None:
    from matplotlib.collections import PolyCollection
    from matplotlib.transforms import ScaledTranslation

    rows = [r for r in c.rows if r.metric == "p95_ms" and r.baseline is not None and r.run is not None]
    if not rows:
        return None
    labels = [r.endpoint for r in rows]
    y = list(range(len(rows)))
    height, width = max(2.5, 0.28 * len(rows) + 1.2), 7.5
    fig = new_figure(figsize=(width, height))
    # Fixed margins, not a layout engine: measuring the labels would cost a second draw.
    label_in = 0.056 * max(len(label) for label in labels) + 0.15  # 7 pt DejaVu Sans ≈ 0.056 in per character
    fig.subplots_adjust(left=min(0.6, label_in / width), right=0.97, top=1 - 0.35 / height, bottom=0.6 / height)
    ax = fig.subplots()
    colors = ["#dc2626" if r.status == "regression" else ("#16a34a" if r.status == "improvement" else "#2563eb") for r in rows]
    # Each series one collection of rectangles, not a patch per bar (barh's 160 patches each
    # update the data limits): the same bars, from 0 (a sticky edge, as barh's), 0.4 high.
    for offset, values, color, label in ((0.2, [r.baseline for r in rows], "#9aa5b8", "baseline"),
                                         (-0.2, [r.run for r in rows], colors, "run")):
        bars = PolyCollection([[(0, v + offset - 0.2), (0, v + offset + 0.2), (width_ms, v + offset + 0.2),
                                (width_ms, v + offset - 0.2)] for v, width_ms in zip(y, values, strict=True)],
                              facecolors=color, edgecolors="none", linewidths=0, label=label)
        bars.sticky_edges.x.append(0)
        ax.add_collection(bars, autolim=True)
    ax.autoscale_view()
    # The endpoint names as plain texts where the tick labels would be (7 pt left of the axes), not
    # as 80 ticks: a tick is five artists, and the axis measures every label to place itself; at
    # 80 endpoints that was half of this chart's time.
    ax.set_yticks([])
    at_label = ax.get_yaxis_transform() + ScaledTranslation(-7 / 72, 0, fig.dpi_scale_trans)
    for v, label in zip(y, labels, strict=True):
        ax.text(0, v, label, transform=at_label, ha="right", va="center_baseline", fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("p95 (ms); red = regression, green = improvement")
    ax.set_title("p95 per endpoint: run vs baseline", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, axis="x", color="#e5e7eb", lw=0.6)
    return chart(fig, "p95 per endpoint, run versus baseline")


def _latency_over_time(run_history: AggregatedSeries | pd.DataFrame | None,
                       baseline_history: AggregatedSeries | pd.DataFrame | None) -> Chart | None:
    from bss_loadtest.reports.results import downsample_series, rolling_median, series_of

    series = [(label, series_of(df), color) for label, df, color in
              (("baseline", baseline_history, "#9aa5b8"), ("run", run_history, "#2563eb")) if df is not None and len(df)]
    if not series:
        return None
    fig = new_figure(figsize=(6.5, 4.2))
    fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.13)
    ax = fig.subplots()
    for label, df, color in series:
        # Per-second percentiles of a few dozen requests jump around; a rolling median shows the level
        # (over seconds, then bucketed for a long run's plot).
        smooth = AggregatedSeries({**df.columns, **{c: rolling_median(df[c], SMOOTH_S) for c in ("p50_ms", "p95_ms")}})
        smooth = downsample_series(smooth)
        x = smooth["elapsed_s"]
        ax.plot(x, smooth["p95_ms"], lw=1.2, color=color, label=f"{label} p95")
        ax.plot(x, smooth["p50_ms"], lw=0.9, ls=":", color=color, label=f"{label} p50")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Aggregated latency over time ({SMOOTH_S} s rolling median)", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(True, color="#e5e7eb", lw=0.6)
    return chart(fig, "aggregated latency over time, run and baseline")


def _drawn(build: Callable[..., Chart | None], *args: object) -> Chart | None:
    """The chart, or None when its values are beyond what matplotlib can draw (an axis of 1e308 ms
    overflows); the numbers are still in the tables."""
    try:
        return build(*args)
    except (OverflowError, ValueError):
        return None


def _metric_table(rows: list[MetricComparison], row_classes: list[str]) -> Table:
    headers = ["endpoint", "metric", "baseline", "run", "change", "allowed", "σ (baselines)", "verdict"]
    cells = [[r.endpoint, METRIC_LABELS[r.metric], format_metric(r.metric, r.baseline), format_metric(r.metric, r.run),
              format_change(r.metric, r.baseline, r.run), format_allowance(r.metric, r.allowance),
              "–" if r.sigma is None else format_metric(r.metric, r.sigma), _MARK[r.status]] for r in rows]
    return Table(headers=headers, rows=cells, left=2, row_classes=row_classes)


def to_html(comparison: Comparison, run_history_df: AggregatedSeries | pd.DataFrame | None = None,
            baseline_history_df: AggregatedSeries | pd.DataFrame | None = None) -> str:
    """Self-contained HTML: verdict, charts side by side, regressions, all rows, notes. The
    histories are the Aggregated series over time (``results.read_aggregated_series``,
    ``Baseline.history_series``) or history DataFrames."""
    c = comparison
    charts = [one for one in (_drawn(_p95_bars, c), _drawn(_latency_over_time, run_history_df, baseline_history_df))
              if one is not None]
    return render_page(
        "compare.html", title=f"Compare {c.run_id} vs {c.baseline_run_id}", c=c, charts=charts,
        regressions=_metric_table(c.regressions, ["regression"] * len(c.regressions)) if c.regressions else None,
        all_metrics=_metric_table(c.rows, [r.status if r.status in ("regression", "improvement") else "" for r in c.rows]),
        tolerances=_tolerances_line(c, str),
    )


def _no_history() -> AggregatedSeries | None:
    return None


@dataclass(frozen=True, kw_only=True)
class Histories:
    """Loaders of the aggregated series over time of run and baseline, which only the HTML charts draw:
    called when HTML is rendered, so the files are read only then."""

    run: Callable[[], AggregatedSeries | pd.DataFrame | None] = _no_history
    baseline: Callable[[], AggregatedSeries | pd.DataFrame | None] = _no_history


def _html(comparison: Comparison, histories: Histories) -> str:
    return to_html(comparison, histories.run(), histories.baseline())


RENDERERS: dict[str, Callable[[Comparison, Histories], str]] = {
    "md": lambda comparison, _histories: to_markdown(comparison),
    "html": _html,
    "json": lambda comparison, _histories: to_json(comparison),
    "junit": lambda comparison, _histories: to_junit(comparison),
}
"""Format name → renderer of a comparison (with the series its charts may draw)."""
FORMATS = tuple(RENDERERS)
FORMAT_FILES = {"md": "compare.md", "html": "compare.html", "json": "compare.json", "junit": "compare-junit.xml"}


def check_formats(formats: tuple[str, ...]) -> None:
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown:
        raise InputError(f"unknown compare format(s) {', '.join(unknown)} (known: {', '.join(FORMATS)})")


def render(comparison: Comparison, fmt: str, histories: Histories | None = None) -> str:
    """The comparison in format ``fmt`` (one of :data:`FORMATS`)."""
    check_formats((fmt,))
    return RENDERERS[fmt](comparison, histories or Histories())

