"""The comparison itself: line a run's endpoints up with a baseline's and judge every metric.

:func:`compare` builds a :class:`Comparison`; renderers and :func:`exit_code` read only that.
Metrics, per business endpoint and for ``Aggregated``: ``p50_ms``, ``p95_ms``, ``p99_ms``,
``error_rate`` and ``rps``. Token requests (method ``AUTH``) and connection setups (``CONNECT``)
are not compared: their number depends on the identity pool and the users, not on the system
under test.

A metric's allowance is widened to NOISE_K × σ of the stored baselines (when there are at least
NOISE_MIN_BASELINES of them) and, for throughput and error rate, to NOISE_K × their counting error
(Poisson / binomial, see :func:`_sampling_error`), so an endpoint with few requests does not flag
on chance. A percentile with fewer than MIN_TAIL_SAMPLES requests above it (in run or baseline)
is shown but not judged ("too few").

For each regressed endpoint the comparison keeps the slowest requests of both runs with their
trace ids (:class:`RegressedTraces`), linked by each run's own ``trace_url``.

This module does not import locust.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bss_loadtest.core import errors
from bss_loadtest.core.stats import SIDE_REQUEST_TYPES
from bss_loadtest.reports.baseline import Baseline
from bss_loadtest.reports.compare.rules import METRIC_LABELS, METRICS, NOISE_K, RegressionRule, rules_from
from bss_loadtest.reports.report import TraceRow, trace_rows
from bss_loadtest.reports.results import AGGREGATED, Summary

NOISE_MIN_BASELINES = 3
"""Fewest stored baselines for their spread to be trusted as the noise of a metric."""
MIN_TAIL_SAMPLES = 20
"""A percentile is judged only when run and baseline each have this many samples above it
(count × (1 − q)): p50 needs 40 requests, p95 400, p99 2,000. Below that a percentile is a
handful of requests deep and its change is mostly sampling noise; the row says "too few"."""
PERCENTILE_OF = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}
COMPARE_TRACES_N = 3
"""Slowest requests shown per regressed endpoint, of the run and of the baseline each."""

Status = Literal["regression", "improvement", "ok", "no data", "too few"]


@dataclass(kw_only=True)
class MetricComparison:
    """One metric of one endpoint: baseline and run values and the verdict."""

    endpoint: str
    metric: str
    baseline: float | None
    run: float | None
    delta: float | None = None
    delta_pct: float | None = None
    allowance: float | None = None
    sigma: float | None = None
    status: Status
    message: str | None = None
    sampling: float | None = None
    """Standard error of the difference from counting alone (rps: Poisson; error rate: binomial)."""


@dataclass(kw_only=True)
class Note:
    level: Literal["warning", "info"]
    message: str


@dataclass(kw_only=True)
class RegressedTraces:
    """The slowest requests of a regressed endpoint in the run and in the baseline, with their traces."""

    endpoint: str
    run: list[TraceRow]
    baseline: list[TraceRow]


@dataclass(kw_only=True)
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
    traces: list[RegressedTraces] = field(default_factory=list)

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

    @property
    def infos(self) -> list[str]:
        return [n.message for n in self.notes if n.level == "info"]

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


def exit_code(comparison: Comparison) -> int:
    """0 without a regression, :data:`errors.REGRESSION` (1) with one."""
    return errors.REGRESSION if comparison.regressed else errors.OK


def _endpoint_table(summary: Summary) -> dict[str, dict[str, Any]]:
    """Business endpoints and Aggregated by key: the count and every metric (None where missing)."""
    return {r.key: {"count": r.count, **{m: getattr(r, m) for m in METRICS}}
            for r in [*summary.endpoint_rows(), summary.totals] if r.method not in SIDE_REQUEST_TYPES}


def _std(values: Sequence[float]) -> float:
    """The sample standard deviation (ddof 1) of two or more values, computed as pandas' grouped
    ``std`` computes it (Welford's updates, then the square root), so the same baselines give the
    same σ, to the last bit, as before pandas was dropped from compare."""
    count, mean, m2 = 0, 0.0, 0.0
    for value in values:
        count += 1
        previous = mean
        mean += (value - previous) / count
        m2 += (value - mean) * (value - previous)
    return math.sqrt(m2 / (count - 1))


def _noise(history: Sequence[Baseline]) -> tuple[dict[tuple[str, str], float], int]:
    """σ of each (endpoint, metric) across the baselines that have it, if there are enough of them."""
    if len(history) < NOISE_MIN_BASELINES:
        return {}, len(history)
    values: dict[tuple[str, str], list[float]] = {}
    for b in history:
        for key, row in _endpoint_table(b.summary).items():
            for metric in METRICS:
                value = row[metric]
                if value is not None:
                    values.setdefault((key, metric), []).append(float(value))
    sigma: dict[tuple[str, str], float] = {}
    for (key, metric), seen in sorted(values.items()):
        if len(seen) >= NOISE_MIN_BASELINES:
            value = _value(_std(seen))
            if value is not None:
                sigma[(key, metric)] = value
    return sigma, len(history)


def _value(value: Any) -> float | None:
    """A finite float, or None (missing, NaN, or a computation that overflowed)."""
    if value is None:
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


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


@dataclass(frozen=True, kw_only=True)
class _Pair:
    """One endpoint's request counts and durations in run and baseline: what a verdict needs besides values."""

    n_run: int
    n_base: int
    run_duration: float
    base_duration: float


def _judge(key: str, metric: str, base: float | None, run: float | None, rule: RegressionRule,
           sigma: float | None, pair: _Pair) -> MetricComparison:
    """The verdict on one metric of one endpoint."""
    if base is None or run is None:
        return MetricComparison(endpoint=key, metric=metric, baseline=base, run=run, sigma=sigma, status="no data")
    # Finite or None: the values are finite, but a difference or a ratio of extreme ones is not.
    delta = {"delta": _value(run - base), "delta_pct": _value((run - base) / base * 100.0) if base else None}
    q = PERCENTILE_OF.get(metric)
    if q is not None and min(pair.n_run, pair.n_base) * (1 - q) < MIN_TAIL_SAMPLES:
        return MetricComparison(endpoint=key, metric=metric, baseline=base, run=run, **delta, sigma=sigma,
                                status="too few",
                                message=f"fewer than {MIN_TAIL_SAMPLES} samples above {METRIC_LABELS[metric]}; not judged")
    e = _sampling_error(metric, pair.n_run, pair.n_base, run, base, pair.run_duration, pair.base_duration)
    message = rule.fails(base, run, sigma, e)
    status: Status = "regression" if message else ("improvement" if rule.improves(base, run, sigma, e) else "ok")
    return MetricComparison(endpoint=key, metric=metric, baseline=base, run=run, **delta,
                            allowance=_value(rule.allowance(base, sigma, e)), sigma=sigma, status=status,
                            message=message, sampling=_value(e))


def _notes(run: Summary, base: Summary, missing: list[str], new: list[str], n_history: int) -> list[Note]:
    """What the reader should know besides the verdicts: endpoints that came or went, differences, noise."""
    notes = [Note(level="warning", message=f"{key}: not exercised in this run (present in the baseline)") for key in missing]
    notes += [Note(level="info", message=f"{key}: new in this run (not in the baseline); not compared") for key in new]
    warnings: list[str] = []
    for label, ours, theirs in (("profile", run.profile, base.profile), ("profile hash", run.profile_hash, base.profile_hash),
                                ("host", run.host, base.host), ("suite version", run.suite_version, base.suite_version)):
        if ours != theirs:
            warnings.append(f"{label} differs: run {ours or '–'} vs baseline {theirs or '–'}")
    if run.time_scale != base.time_scale:
        warnings.append(f"time scale differs: run {run.time_scale:g} vs baseline {base.time_scale:g}")
    if run.status == "partial":
        warnings.append(f"the run is partial: {run.partial_reason}")
    if base.status == "partial":
        warnings.append(f"the baseline is a partial run: {base.partial_reason}")
    if run.generator.cpu_saturated:
        warnings.append("the run's load generator was CPU-saturated; its latencies may be overstated")
    if base.generator.cpu_saturated:
        warnings.append("the baseline's load generator was CPU-saturated")
    notes += [Note(level="warning", message=w) for w in warnings]
    if n_history >= NOISE_MIN_BASELINES:
        notes.append(Note(level="info", message=f"allowances widened to {NOISE_K:g}σ of {n_history} stored baselines "
                                                "where that is larger"))
    elif n_history:
        notes.append(Note(level="info", message=f"only {n_history} stored baseline(s): fixed tolerances only "
                                                f"(noise needs {NOISE_MIN_BASELINES})"))
    return notes


def regressed_traces(run: Summary, base: Summary, rows: Sequence[MetricComparison]) -> list[RegressedTraces]:
    """Per regressed endpoint (in the order of ``rows``), its slowest kept requests in both runs."""
    out = []
    for key in dict.fromkeys(r.endpoint for r in rows if r.status == "regression"):
        mine = trace_rows(run, run.slowest_requests(key)[:COMPARE_TRACES_N])
        theirs = trace_rows(base, base.slowest_requests(key)[:COMPARE_TRACES_N])
        if mine or theirs:
            out.append(RegressedTraces(endpoint=key, run=mine, baseline=theirs))
    return out


def compare(
    run: Summary,
    baseline: Baseline,
    history: Sequence[Baseline] = (),
    tolerances: Mapping[str, Any] | None = None,
) -> Comparison:
    """Compare ``run`` with ``baseline``; ``history`` (the profile's stored baselines) widens each
    metric's allowance to its observed noise. ``tolerances`` (a :class:`~.rules.CompareTolerances`
    mapping) overrides ``run.tolerances``, which overrides the defaults."""
    rules = rules_from(tolerances if tolerances is not None else run.tolerances,
                       source="tolerances" if tolerances is not None else f"{run.run_id}: summary.tolerances")
    sigma, n_history = _noise(list(history))
    base = baseline.summary
    run_table = _endpoint_table(run)
    base_table = _endpoint_table(base)
    keys = sorted(run_table.keys() | base_table.keys())
    missing = [k for k in keys if (k not in run_table or run_table[k]["count"] == 0)
               and k in base_table and base_table[k]["count"] > 0]
    new = [k for k in keys if (k not in base_table or base_table[k]["count"] == 0)
           and k in run_table and run_table[k]["count"] > 0]

    order = [k for k in keys if k != AGGREGATED and k not in missing and k not in new] + [AGGREGATED]
    rows: list[MetricComparison] = []
    absent: dict[str, Any] = {}
    for key in order:
        if key not in run_table and key not in base_table:
            continue
        mine, theirs = run_table.get(key, absent), base_table.get(key, absent)
        pair = _Pair(n_run=int(mine.get("count") or 0), n_base=int(theirs.get("count") or 0),
                     run_duration=run.duration_s, base_duration=base.duration_s)
        for metric in METRICS:
            rows.append(_judge(key, metric, _value(theirs.get(metric)), _value(mine.get(metric)),
                               rules[metric], sigma.get((key, metric)), pair))

    return Comparison(
        profile=run.profile, run_id=run.run_id, baseline_run_id=baseline.run_id,
        baseline_path=str(baseline.path) if baseline.path else None,
        baseline_saved_at=baseline.saved_at.isoformat().replace("+00:00", "Z"),
        host=run.host, baseline_host=base.host, rows=rows,
        notes=_notes(run, base, missing, new, n_history),
        missing_in_run=missing, new_in_run=new, noise_baselines=n_history,
        rules={m: r.describe() for m, r in rules.items()},
        traces=regressed_traces(run, base, rows),
    )
