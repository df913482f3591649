"""Compare a run with a baseline: compute, render, fail, as three separate steps.

1. :func:`compare` lines the run's endpoints up with the baseline's (pandas) and applies one
   :class:`RegressionRule` per metric. A rule is a small object whose :meth:`RegressionRule.fails`
   returns a message or None (pytest-benchmark's ``RegressionCheck`` habit).
2. :func:`to_markdown`, :func:`to_html`, :func:`to_json`, :func:`to_junit` render a
   :class:`Comparison`; they never decide anything.
3. :func:`exit_code` turns it into 0 (no regression) or 1 (``errors.REGRESSION``).

Metrics, per business endpoint and for ``Aggregated``: ``p50_ms``, ``p95_ms``, ``p99_ms``,
``error_rate`` and ``rps``. Token requests (method ``AUTH``) are not compared: their number
depends on the identity pool, not on the system under test.

Allowance of a metric = max(relative × baseline, absolute, NOISE_K × σ), where σ is the standard
deviation of that metric across the profile's stored baselines (used only when there are at least
NOISE_MIN_BASELINES of them). Throughput and error rate also get NOISE_K × their counting error
(Poisson / binomial, see ``_sampling_error``), so an endpoint with few requests does not flag on chance. A change beyond the allowance in the bad direction is a regression,
in the good direction an improvement. A percentile with fewer than MIN_TAIL_SAMPLES requests
above it (in run or baseline) is shown but not judged ("too few"). Defaults (:data:`DEFAULT_TOLERANCES`): latency +10 % and at
least +5 ms (both must be exceeded), error rate +1 percentage point, throughput −10 %. A profile may
override them with a ``tolerances`` mapping (see docs/reports.md).

This module does not import locust.
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bss_loadtest.core import errors
from bss_loadtest.core.errors import InputError
from bss_loadtest.reports.baseline import DEFAULT_BASELINES_ROOT, LATEST, Baseline, baseline_history, load_baseline
from bss_loadtest.reports.results import (
    AGGREGATED,
    HISTORY_FILE,
    Summary,
    atomic_write_text,
    load_history,
    load_summary,
)

if TYPE_CHECKING:
    import pandas as pd

METRICS = ("p50_ms", "p95_ms", "p99_ms", "error_rate", "rps")
METRIC_LABELS = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99", "error_rate": "error rate", "rps": "throughput"}
HIGHER_IS_WORSE = {"p50_ms": True, "p95_ms": True, "p99_ms": True, "error_rate": True, "rps": False}

NOISE_K = 3.0
"""How many standard deviations of the stored baselines a change must exceed to count."""
NOISE_MIN_BASELINES = 3
"""Fewest stored baselines for their spread to be trusted as the noise of a metric."""
NOISE_WINDOW = 10
"""How many of the newest baselines ``run_compare`` reads to estimate the noise."""
MIN_TAIL_SAMPLES = 20
"""A percentile is judged only when run and baseline each have this many samples above it
(count × (1 − q)): p50 needs 40 requests, p95 400, p99 2,000. Below that a percentile is a
handful of requests deep and its change is mostly sampling noise; the row says "too few"."""
PERCENTILE_OF = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}

DEFAULT_TOLERANCES: dict[str, dict[str, float | None]] = {
    "p50_ms": {"relative": 0.10, "absolute": 5.0},
    "p95_ms": {"relative": 0.10, "absolute": 5.0},
    "p99_ms": {"relative": 0.10, "absolute": 5.0},
    "error_rate": {"relative": None, "absolute": 0.01},
    "rps": {"relative": 0.10, "absolute": None},
}
_ALIASES = {"p50": "p50_ms", "p95": "p95_ms", "p99": "p99_ms", "errors": "error_rate", "throughput": "rps",
            "p50_ms": "p50_ms", "p95_ms": "p95_ms", "p99_ms": "p99_ms", "error_rate": "error_rate", "rps": "rps"}
SMOOTH_S = 15
"""Window (seconds) of the rolling median on the compare report's latency-over-time chart."""
FORMATS = ("md", "html", "json", "junit")
FORMAT_FILES = {"md": "compare.md", "html": "compare.html", "json": "compare.json", "junit": "compare-junit.xml"}

Status = Literal["regression", "improvement", "ok", "no data", "too few"]


# -- rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegressionRule:
    """The tolerance on one metric; ``fails`` returns a message on a regression, else None."""

    metric: str
    relative: float | None = None
    absolute: float | None = None
    noise_k: float = NOISE_K

    @property
    def higher_is_worse(self) -> bool:
        return HIGHER_IS_WORSE[self.metric]

    def allowance(self, baseline: float, sigma: float | None = None, sampling: float | None = None) -> float:
        """max(relative × baseline, absolute, k × σ of the baselines, k × sampling error of this pair)."""
        parts = [0.0]
        if self.relative is not None:
            parts.append(self.relative * abs(baseline))
        if self.absolute is not None:
            parts.append(self.absolute)
        if sigma is not None and sigma > 0:
            parts.append(self.noise_k * sigma)
        if sampling is not None and sampling > 0:
            parts.append(self.noise_k * sampling)
        return max(parts)

    def worsening(self, baseline: float, run: float) -> float:
        """How much worse the run is (positive) or better (negative), in the metric's unit."""
        return run - baseline if self.higher_is_worse else baseline - run

    def fails(self, baseline: float | None, run: float | None, sigma: float | None = None,
              sampling: float | None = None) -> str | None:
        if baseline is None or run is None:
            return None
        worse = self.worsening(baseline, run)
        allowance = self.allowance(baseline, sigma, sampling)
        if worse > allowance:
            return (f"{METRIC_LABELS[self.metric]} {format_metric(self.metric, baseline)} → {format_metric(self.metric, run)} "
                    f"({format_change(self.metric, baseline, run)}; allowed {format_allowance(self.metric, allowance)})")
        return None

    def improves(self, baseline: float | None, run: float | None, sigma: float | None = None,
                 sampling: float | None = None) -> bool:
        if baseline is None or run is None:
            return False
        return -self.worsening(baseline, run) > self.allowance(baseline, sigma, sampling)

    def describe(self) -> str:
        parts = []
        if self.relative is not None:
            parts.append(f"{'+' if self.higher_is_worse else '−'}{self.relative * 100:g} %")
        if self.absolute is not None:
            parts.append(f"+{self.absolute * 100:g} pp" if self.metric == "error_rate" else f"at least {self.absolute:g} ms")
        return " and ".join(parts) or "any change"


def rules_from(tolerances: Mapping[str, Any] | None, *, source: str = "tolerances") -> dict[str, RegressionRule]:
    """Rules for every metric: defaults, overridden by a profile's ``tolerances`` mapping.

    Accepted: ``{"p95_ms": {"relative": 0.1, "absolute": 5}, "error_rate": {"absolute": 0.02},
    "rps": {"relative": 0.15}, "noise_k": 3}`` (keys ``p95`` / ``errors`` / ``throughput`` too; a bare
    number means ``relative``). Unknown keys raise :class:`InputError`.
    """
    merged = {m: dict(v) for m, v in DEFAULT_TOLERANCES.items()}
    noise_k = NOISE_K
    for key, value in (tolerances or {}).items():
        if key == "noise_k":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise InputError(f"{source}.noise_k: must be a non-negative number")
            noise_k = float(value)
            continue
        metric = _ALIASES.get(str(key))
        if metric is None:
            raise InputError(f"{source}.{key}: unknown metric (known: {', '.join(METRICS)}, noise_k)")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            merged[metric] = {"relative": float(value), "absolute": None}
            continue
        if not isinstance(value, Mapping):
            raise InputError(f"{source}.{key}: must be a number or a mapping with relative/absolute")
        for part, number in value.items():
            if part not in ("relative", "absolute"):
                raise InputError(f"{source}.{key}.{part}: unknown key (known: relative, absolute)")
            if number is not None and (not isinstance(number, (int, float)) or isinstance(number, bool) or number < 0):
                raise InputError(f"{source}.{key}.{part}: must be a non-negative number or null")
            merged[metric][part] = None if number is None else float(number)
    return {m: RegressionRule(m, v["relative"], v["absolute"], noise_k) for m, v in merged.items()}


# -- the comparison --------------------------------------------------------------------------


@dataclass
class MetricComparison:
    """One metric of one endpoint: baseline and run values and the verdict."""

    endpoint: str
    metric: str
    baseline: float | None
    run: float | None
    delta: float | None
    delta_pct: float | None
    allowance: float | None
    sigma: float | None
    status: Status
    message: str | None = None
    sampling: float | None = None
    """Standard error of the difference from counting alone (rps: Poisson; error rate: binomial)."""


@dataclass
class Note:
    level: Literal["warning", "info"]
    message: str


@dataclass
class Comparison:
    """Everything compare found; renderers and :func:`exit_code` read only this."""

    profile: str
    run_id: str
    baseline_run_id: str
    baseline_path: str | None
    baseline_saved_at: str | None
    host: str | None
    baseline_host: str | None
    rows: list[MetricComparison]
    notes: list[Note] = field(default_factory=list)
    missing_in_run: list[str] = field(default_factory=list)
    new_in_run: list[str] = field(default_factory=list)
    noise_baselines: int = 0
    rules: dict[str, str] = field(default_factory=dict)

    @property
    def regressions(self) -> list[MetricComparison]:
        return [r for r in self.rows if r.status == "regression"]

    @property
    def improvements(self) -> list[MetricComparison]:
        return [r for r in self.rows if r.status == "improvement"]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    @property
    def warnings(self) -> list[str]:
        return [n.message for n in self.notes if n.level == "warning"]

    def endpoints(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.rows:
            seen.setdefault(r.endpoint, None)
        return list(seen)

    def verdict(self) -> str:
        if self.regressed:
            endpoints = {r.endpoint for r in self.regressions}
            return f"REGRESSION: {len(self.regressions)} metric(s) on {len(endpoints)} endpoint(s) beyond tolerance"
        extra = f", {len(self.improvements)} improvement(s)" if self.improvements else ""
        return f"OK: no regression beyond tolerance{extra}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict()
        data["regressed"] = self.regressed
        data["exit_code"] = exit_code(self)
        return data


def _endpoint_frame(summary: Summary) -> pd.DataFrame:
    import pandas as pd

    rows = [{"key": r.key, "count": r.count, **{m: getattr(r, m) for m in METRICS}}
            for r in [*summary.endpoint_rows(), summary.totals] if r.method != "AUTH"]
    return pd.DataFrame(rows, columns=["key", "count", *METRICS]).set_index("key")


def _noise(history: Sequence[Baseline]) -> tuple[dict[tuple[str, str], float], int]:
    """σ of each (endpoint, metric) across the baselines that have it, if there are enough of them."""
    if len(history) < NOISE_MIN_BASELINES:
        return {}, len(history)
    import pandas as pd

    frames = [_endpoint_frame(b.summary).assign(_baseline=i) for i, b in enumerate(history)]
    data = pd.concat(frames)
    grouped = data.groupby(level=0)[list(METRICS)]
    std = grouped.std(ddof=1)
    count = grouped.count()
    sigma: dict[tuple[str, str], float] = {}
    for key in std.index:
        for metric in METRICS:
            value = std.at[key, metric]
            if count.at[key, metric] >= NOISE_MIN_BASELINES and value == value:
                sigma[(key, metric)] = float(value)
    return sigma, len(history)


def _value(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _sampling_error(metric: str, n_run: int, n_base: int, run_value: float, base_value: float,
                    run_duration: float, base_duration: float) -> float | None:
    """Standard error of (run − baseline) that counting alone produces.

    Requests arrive at random, so a count n has Poisson noise √n: the rps difference has
    σ = √(n_run / T_run² + n_base / T_base²). An error rate is a binomial proportion: with the pooled
    rate p, σ = √(p (1 − p) (1/n_run + 1/n_base)). Percentiles have no such closed form without the
    histograms; they are guarded by MIN_TAIL_SAMPLES instead.
    """
    if n_run <= 0 or n_base <= 0:
        return None
    if metric == "rps" and run_duration > 0 and base_duration > 0:
        return math.sqrt(n_run / run_duration**2 + n_base / base_duration**2)
    if metric == "error_rate":
        pooled = (run_value * n_run + base_value * n_base) / (n_run + n_base)
        return math.sqrt(max(pooled * (1 - pooled), 0.0) * (1 / n_run + 1 / n_base))
    return None


def compare(
    run: Summary,
    baseline: Baseline,
    history: Sequence[Baseline] = (),
    tolerances: Mapping[str, Any] | None = None,
) -> Comparison:
    """Compare ``run`` with ``baseline``; ``history`` (the profile's stored baselines) widens each
    metric's allowance to its observed noise. ``tolerances`` overrides ``run.tolerances``, which
    overrides :data:`DEFAULT_TOLERANCES`."""
    rules = rules_from(tolerances if tolerances is not None else run.tolerances,
                       source="tolerances" if tolerances is not None else f"{run.run_id}: summary.tolerances")
    sigma, n_history = _noise(list(history))
    base = baseline.summary
    run_frame = _endpoint_frame(run)
    base_frame = _endpoint_frame(base)
    merged = run_frame.merge(base_frame, how="outer", left_index=True, right_index=True, suffixes=("_run", "_base"))
    missing = sorted(k for k in merged.index if k not in run_frame.index or run_frame.at[k, "count"] == 0)
    missing = [k for k in missing if k in base_frame.index and base_frame.at[k, "count"] > 0]
    new = sorted(k for k in merged.index if k not in base_frame.index or base_frame.at[k, "count"] == 0)
    new = [k for k in new if k in run_frame.index and run_frame.at[k, "count"] > 0]

    order = sorted(k for k in merged.index if k != AGGREGATED and k not in missing and k not in new) + [AGGREGATED]
    rows: list[MetricComparison] = []
    for key in order:
        if key not in merged.index:
            continue
        for metric in METRICS:
            b = _value(merged.at[key, f"{metric}_base"])
            r = _value(merged.at[key, f"{metric}_run"])
            rule = rules[metric]
            s = sigma.get((key, metric))
            if b is None or r is None:
                rows.append(MetricComparison(key, metric, b, r, None, None, None, s, "no data"))
                continue
            q = PERCENTILE_OF.get(metric)
            if q is not None and min(merged.at[key, "count_run"], merged.at[key, "count_base"]) * (1 - q) < MIN_TAIL_SAMPLES:
                rows.append(MetricComparison(key, metric, b, r, r - b, ((r - b) / b * 100.0) if b else None, None, s, "too few",
                                             f"fewer than {MIN_TAIL_SAMPLES} samples above {METRIC_LABELS[metric]}; not judged"))
                continue
            n_run, n_base = int(merged.at[key, "count_run"]), int(merged.at[key, "count_base"])
            e = _sampling_error(metric, n_run, n_base, r, b, run.duration_s, base.duration_s)
            message = rule.fails(b, r, s, e)
            status: Status = "regression" if message else ("improvement" if rule.improves(b, r, s, e) else "ok")
            rows.append(MetricComparison(
                endpoint=key, metric=metric, baseline=b, run=r, delta=r - b,
                delta_pct=((r - b) / b * 100.0) if b else None, allowance=rule.allowance(b, s, e),
                sigma=s, status=status, message=message, sampling=e,
            ))

    notes: list[Note] = []
    for key in missing:
        notes.append(Note("warning", f"{key}: not exercised in this run (present in the baseline)"))
    for key in new:
        notes.append(Note("info", f"{key}: new in this run (not in the baseline); not compared"))
    for label, ours, theirs in (("profile", run.profile, base.profile), ("profile hash", run.profile_hash, base.profile_hash),
                                ("host", run.host, base.host), ("suite version", run.suite_version, base.suite_version)):
        if ours != theirs:
            notes.append(Note("warning", f"{label} differs: run {ours or '–'} vs baseline {theirs or '–'}"))
    if run.time_scale != base.time_scale:
        notes.append(Note("warning", f"time scale differs: run {run.time_scale:g} vs baseline {base.time_scale:g}"))
    if run.status == "partial":
        notes.append(Note("warning", f"the run is partial: {run.partial_reason}"))
    if base.status == "partial":
        notes.append(Note("warning", f"the baseline is a partial run: {base.partial_reason}"))
    if run.generator.cpu_saturated:
        notes.append(Note("warning", "the run's load generator was CPU-saturated; its latencies may be overstated"))
    if base.generator.cpu_saturated:
        notes.append(Note("warning", "the baseline's load generator was CPU-saturated"))
    if n_history >= NOISE_MIN_BASELINES:
        notes.append(Note("info", f"allowances widened to {NOISE_K:g}σ of {n_history} stored baselines where that is larger"))
    elif n_history:
        notes.append(Note("info", f"only {n_history} stored baseline(s): fixed tolerances only (noise needs {NOISE_MIN_BASELINES})"))
    return Comparison(
        profile=run.profile, run_id=run.run_id, baseline_run_id=baseline.run_id,
        baseline_path=str(baseline.path) if baseline.path else None,
        baseline_saved_at=baseline.saved_at.isoformat().replace("+00:00", "Z"),
        host=run.host, baseline_host=base.host, rows=rows, notes=notes,
        missing_in_run=missing, new_in_run=new, noise_baselines=n_history,
        rules={m: r.describe() for m, r in rules.items()},
    )


def exit_code(comparison: Comparison) -> int:
    """0 without a regression, :data:`errors.REGRESSION` (1) with one."""
    return errors.REGRESSION if comparison.regressed else errors.OK


# -- formatting helpers ----------------------------------------------------------------------


def format_metric(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric == "error_rate":
        return f"{value * 100:.2f} %"
    if metric == "rps":
        return f"{value:.2f}/s"
    return f"{value:.1f} ms"


def format_change(metric: str, baseline: float | None, run: float | None) -> str:
    if baseline is None or run is None:
        return "–"
    if metric == "error_rate":
        return f"{(run - baseline) * 100:+.2f} pp"
    delta = run - baseline
    unit = "/s" if metric == "rps" else " ms"
    rel = f", {delta / baseline * 100:+.1f} %" if baseline else ""
    return f"{delta:+.{2 if metric == 'rps' else 1}f}{unit}{rel}"


def format_allowance(metric: str, allowance: float | None) -> str:
    if allowance is None:
        return "–"
    if metric == "error_rate":
        return f"±{allowance * 100:.2f} pp"
    return f"±{allowance:.2f}/s" if metric == "rps" else f"±{allowance:.1f} ms"


_MARK = {"regression": "▲ regression", "improvement": "▼ improved", "ok": "", "no data": "no data", "too few": "too few samples"}


# -- renderers -------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


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
    warnings = [n for n in c.notes if n.level == "warning"]
    if warnings:
        out += ["### Warnings", ""] + [f"- ⚠️ {_md(n.message)}" for n in warnings] + [""]
    out += ["### All endpoints", "", f"baseline → run; ▲ regression, ▼ improvement, · too few samples to judge (< {MIN_TAIL_SAMPLES} above the percentile)", "",
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
            mark = {"regression": " ▲", "improvement": " ▼", "too few": " ·"}.get(r.status, "")
            cells.append(f"{format_metric(m, r.baseline)} → {format_metric(m, r.run)}{mark}")
        name = f"**{_md(key)}**" if key == AGGREGATED else _md(key)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("")
    infos = [n for n in c.notes if n.level == "info"]
    if infos:
        out += [f"- ℹ️ {_md(n.message)}" for n in infos] + [""]
    out.append("Tolerances: " + "; ".join(f"{METRIC_LABELS[m]} {_md(d)}" for m, d in c.rules.items())
               + f"; widened to {NOISE_K:g}σ of the stored baselines when at least {NOISE_MIN_BASELINES} exist.")
    return "\n".join(out) + "\n"


def to_json(comparison: Comparison) -> str:
    """The comparison as JSON (verdict, rows, notes, rules)."""
    return json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False) + "\n"


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
            out.text = (f"{format_metric(r.metric, r.baseline)} -> {format_metric(r.metric, r.run)} "
                        f"({format_change(r.metric, r.baseline, r.run)}; allowed {format_allowance(r.metric, r.allowance)}) {r.status}")
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


def _p95_bars(c: Comparison) -> str:
    from bss_loadtest.reports.report import figure_img, new_figure

    rows = [r for r in c.rows if r.metric == "p95_ms" and r.baseline is not None and r.run is not None]
    if not rows:
        return ""
    labels = [r.endpoint for r in rows]
    y = list(range(len(rows)))
    height, width = max(2.5, 0.28 * len(rows) + 1.2), 7.5
    fig = new_figure(figsize=(width, height))
    # Fixed margins, not a layout engine: measuring the labels would cost a second draw.
    label_in = 0.056 * max(len(label) for label in labels) + 0.15  # 7 pt DejaVu Sans ≈ 0.056 in per character
    fig.subplots_adjust(left=min(0.6, label_in / width), right=0.97, top=1 - 0.35 / height, bottom=0.6 / height)
    ax = fig.subplots()
    ax.barh([v + 0.2 for v in y], [r.baseline for r in rows], height=0.4, color="#9aa5b8", label="baseline")
    colors = ["#dc2626" if r.status == "regression" else ("#16a34a" if r.status == "improvement" else "#2563eb") for r in rows]
    ax.barh([v - 0.2 for v in y], [r.run for r in rows], height=0.4, color=colors, label="run")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("p95 (ms); red = regression, green = improvement")
    ax.set_title("p95 per endpoint: run vs baseline", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, axis="x", color="#e5e7eb", lw=0.6)
    return f"<figure>{figure_img(fig, 'p95 per endpoint, run versus baseline')}</figure>"


def _latency_over_time(run_history: pd.DataFrame | None, baseline_history: pd.DataFrame | None) -> str:
    from bss_loadtest.reports.report import figure_img, new_figure
    from bss_loadtest.reports.results import aggregated_history

    series = [(label, aggregated_history(df), color) for label, df, color in
              (("baseline", baseline_history, "#9aa5b8"), ("run", run_history, "#2563eb")) if df is not None and len(df)]
    if not series:
        return ""
    fig = new_figure(figsize=(6.5, 4.2))
    fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.13)
    ax = fig.subplots()
    for label, df, color in series:
        # Per-second percentiles of a few dozen requests jump around; a rolling median shows the level.
        x = df["elapsed_s"].to_numpy()
        ax.plot(x, df["p95_ms"].rolling(SMOOTH_S, min_periods=1).median().to_numpy(), lw=1.2, color=color, label=f"{label} p95")
        ax.plot(x, df["p50_ms"].rolling(SMOOTH_S, min_periods=1).median().to_numpy(), lw=0.9, ls=":", color=color, label=f"{label} p50")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Aggregated latency over time ({SMOOTH_S} s rolling median)", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(True, color="#e5e7eb", lw=0.6)
    return f"<figure>{figure_img(fig, 'aggregated latency over time, run and baseline')}</figure>"


def to_html(comparison: Comparison, run_history_df: pd.DataFrame | None = None,
            baseline_history_df: pd.DataFrame | None = None) -> str:
    """Self-contained HTML: verdict, charts side by side, regressions, all rows, notes."""
    from bss_loadtest.reports.report import page, table

    c = comparison
    cls = "bad" if c.regressed else "ok"
    body = [f"<h1>Compare: run {escape(c.run_id)} vs baseline {escape(c.baseline_run_id)}</h1>",
            f'<p>Profile <b>{escape(c.profile)}</b>, host {escape(c.host or "–")}; baseline saved '
            f'{escape(c.baseline_saved_at or "–")} <span class="muted">({escape(c.baseline_path or "")})</span></p>',
            f'<div class="banner {cls}">{escape(c.verdict())}</div>']
    for n in c.notes:
        if n.level == "warning":
            body.append(f'<div class="banner warn">{escape(n.message)}</div>')
    charts = _p95_bars(c) + _latency_over_time(run_history_df, baseline_history_df)
    if charts:
        body.append(f'<div class="charts">{charts}</div>')
    headers = ["endpoint", "metric", "baseline", "run", "change", "allowed", "σ (baselines)", "verdict"]

    def cells(r: MetricComparison) -> list[str]:
        return [escape(r.endpoint), METRIC_LABELS[r.metric], escape(format_metric(r.metric, r.baseline)),
                escape(format_metric(r.metric, r.run)), escape(format_change(r.metric, r.baseline, r.run)),
                escape(format_allowance(r.metric, r.allowance)),
                "–" if r.sigma is None else escape(format_metric(r.metric, r.sigma)), escape(_MARK[r.status])]

    if c.regressions:
        body.append("<h2>Regressions</h2>" + table(headers, [cells(r) for r in c.regressions], left=2,
                                                    row_classes=["regression"] * len(c.regressions)))
    body.append("<h2>All metrics</h2>" + table(headers, [cells(r) for r in c.rows], left=2,
                                               row_classes=[r.status if r.status in ("regression", "improvement") else "" for r in c.rows]))
    infos = [n for n in c.notes if n.level == "info"]
    if infos:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n.message)}</li>" for n in infos) + "</ul>")
    body.append("<p class=\"muted\">Tolerances: " + escape("; ".join(f"{METRIC_LABELS[m]} {d}" for m, d in c.rules.items()))
                + f"; widened to {NOISE_K:g}σ of the stored baselines when at least {NOISE_MIN_BASELINES} exist.</p>")
    return page(f"Compare {c.run_id} vs {c.baseline_run_id}", "\n".join(body))


# -- the CLI's entry point -------------------------------------------------------------------


def run_compare(
    run_dir: str | os.PathLike[str],
    baseline: str | os.PathLike[str] = LATEST,
    *,
    baselines_root: str | os.PathLike[str] = DEFAULT_BASELINES_ROOT,
    out_dir: str | os.PathLike[str] | None = None,
    formats: Iterable[str] = FORMATS,
    tolerances: Mapping[str, Any] | None = None,
) -> tuple[Comparison, dict[str, Path]]:
    """Load the run and its baseline, compare, write the chosen formats atomically; return both.

    ``baseline`` is a path or ``"latest"`` (newest of the run's profile under ``baselines_root``).
    Outputs go to ``out_dir`` (default ``<run_dir>/compare/``) as compare.md, compare.html,
    compare.json and compare-junit.xml. Bad input raises :class:`InputError` (exit code 2); a
    missing baseline raises its subclass ``baseline.NoBaselineError``. The caller exits with
    :func:`exit_code` of the returned comparison.
    """
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"unknown compare format(s) {', '.join(unknown)} (known: {', '.join(FORMATS)})")
    run_path = Path(run_dir)
    run = load_summary(run_path)
    chosen = load_baseline(baseline, profile=run.profile, baselines_root=baselines_root)
    history = baseline_history(run.profile, baselines_root, last_n=NOISE_WINDOW)
    comparison = compare(run, chosen, history, tolerances)

    directory = Path(out_dir) if out_dir is not None else (run_path if run_path.is_dir() else run_path.parent) / "compare"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from bss_loadtest.reports.results import ResultsWriteError

        raise ResultsWriteError(f"{directory}: cannot create directory: {exc.strerror or exc}") from exc
    written: dict[str, Path] = {}
    for fmt in formats:
        if fmt == "md":
            text = to_markdown(comparison)
        elif fmt == "json":
            text = to_json(comparison)
        elif fmt == "junit":
            text = to_junit(comparison)
        else:
            run_history = None
            history_file = (run_path if run_path.is_dir() else run_path.parent) / HISTORY_FILE
            if history_file.exists():
                run_history = load_history(history_file)
            text = to_html(comparison, run_history, chosen.history_frame())
        written[fmt] = atomic_write_text(directory / FORMAT_FILES[fmt], text)
    return comparison, written
