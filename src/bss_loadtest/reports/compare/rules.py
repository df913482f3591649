"""Regression rules: the tolerance vocabulary, its defaults and validation, and one rule per metric.

Allowance of a metric = max(relative × baseline, absolute, NOISE_K × σ), where σ is the standard
deviation of that metric across the profile's stored baselines, or the counting error of the pair
(see :mod:`bss_loadtest.reports.compare.compute`). A change beyond the allowance in the bad direction
is a regression (:meth:`RegressionRule.fails` returns its message), in the good direction an
improvement. Defaults: latency +10 % and at least +5 ms (both must be exceeded), error rate +1
percentage point, throughput −10 %.

Tolerances are given in one vocabulary, :class:`CompareTolerances`::

    {"p95_ms": {"relative": 0.1, "absolute": 5}, "error_rate": {"absolute": 0.02},
     "rps": {"relative": 0.15}, "noise_k": 3}

It is what ``summary.json``'s ``tolerances`` holds: a profile's ``tolerances`` (percentages, see
:class:`bss_loadtest.core.profiles.Tolerances`) are turned into it by ``as_compare_mapping()``.
A metric or part left out keeps its default.

This module does not import locust.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bss_loadtest.core.errors import InputError

METRICS = ("p50_ms", "p95_ms", "p99_ms", "error_rate", "rps")
METRIC_LABELS = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99", "error_rate": "error rate", "rps": "throughput"}
HIGHER_IS_WORSE = {"p50_ms": True, "p95_ms": True, "p99_ms": True, "error_rate": True, "rps": False}

NOISE_K = 3.0
"""How many standard deviations of the stored baselines a change must exceed to count."""

_NonNegative = Annotated[float, Field(strict=True, ge=0)]


class MetricTolerance(BaseModel):
    """The tolerance on one metric; a part that is null does not widen the allowance."""

    model_config = ConfigDict(extra="forbid")

    relative: _NonNegative | None = Field(default=None, description="Allowed change as a fraction of the baseline.")
    absolute: _NonNegative | None = Field(
        default=None, description="Allowed change in the metric's unit: ms, a fraction (error rate), requests/s."
    )


def _latency() -> MetricTolerance:
    return MetricTolerance(relative=0.10, absolute=5.0)


class CompareTolerances(BaseModel):
    """The tolerances compare reads, per metric; the defaults are compare's."""

    model_config = ConfigDict(extra="forbid")

    p50_ms: MetricTolerance = Field(default_factory=_latency, description="Median latency: +10 % and at least +5 ms.")
    p95_ms: MetricTolerance = Field(default_factory=_latency, description="p95 latency: +10 % and at least +5 ms.")
    p99_ms: MetricTolerance = Field(default_factory=_latency, description="p99 latency: +10 % and at least +5 ms.")
    error_rate: MetricTolerance = Field(
        default_factory=lambda: MetricTolerance(absolute=0.01), description="Error rate: +1 percentage point."
    )
    rps: MetricTolerance = Field(default_factory=lambda: MetricTolerance(relative=0.10), description="Throughput: −10 %.")
    noise_k: _NonNegative = Field(default=NOISE_K, description="Standard deviations of the stored baselines to allow.")


DEFAULT_TOLERANCES: dict[str, dict[str, float | None]] = CompareTolerances().model_dump(exclude={"noise_k"})


@dataclass(frozen=True)
class RegressionRule:
    """The tolerance on one metric; ``fails`` returns a message on a regression, else None."""

    metric: str
    _: KW_ONLY
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
            return f"{METRIC_LABELS[self.metric]} {describe_change(self.metric, baseline, run, allowance, arrow='→')}"
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
    """A rule for every metric from a :class:`CompareTolerances` mapping (None: the defaults).

    A problem raises :class:`InputError` naming ``source`` and the key:
    ``tolerances.p96: unknown metric (known: p50_ms, ...)``.
    """
    try:
        given = CompareTolerances.model_validate({} if tolerances is None else tolerances)
    except ValidationError as exc:
        raise InputError(_tolerance_problem(exc, source)) from None
    defaults = CompareTolerances()
    rules = {}
    for metric in METRICS:
        tolerance = getattr(defaults, metric)
        if metric in given.model_fields_set:
            tolerance = tolerance.model_copy(update=getattr(given, metric).model_dump(exclude_unset=True))
        rules[metric] = RegressionRule(metric, relative=tolerance.relative, absolute=tolerance.absolute,
                                       noise_k=given.noise_k)
    return rules


def _tolerance_problem(exc: ValidationError, source: str) -> str:
    """One line from pydantic's first error, in the words of this vocabulary."""
    errors = exc.errors()
    error = errors[0]
    loc = tuple(str(part) for part in error["loc"])
    where = ".".join((source, *loc))
    if error["type"] == "extra_forbidden":
        problem = (f"unknown metric (known: {', '.join(METRICS)}, noise_k)" if len(loc) == 1
                   else "unknown key (known: relative, absolute)")
    elif error["type"] == "model_type":
        problem = "must be a mapping with relative/absolute" if loc else "must be a mapping of metric to tolerance"
    elif loc == ("noise_k",):
        problem = "must be a non-negative number"
    else:
        problem = "must be a non-negative number or null"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {problem}{more}"


# -- how a metric is written -----------------------------------------------------------------


def _amount(metric: str, value: float, *, sign: str = "", unit_of_rate: str = " pp") -> str:
    """``value`` in the metric's unit: an error rate in percent (points, for a difference), rps, ms."""
    if metric == "error_rate":
        return f"{value * 100:{sign}.2f}{unit_of_rate}"
    if metric == "rps":
        return f"{value:{sign}.2f}/s"
    return f"{value:{sign}.1f} ms"


def format_metric(metric: str, value: float | None) -> str:
    return "–" if value is None else _amount(metric, value, unit_of_rate=" %")


def format_change(metric: str, baseline: float | None, run: float | None) -> str:
    if baseline is None or run is None:
        return "–"
    delta = run - baseline
    rel = f", {delta / baseline * 100:+.1f} %" if baseline and metric != "error_rate" else ""
    return _amount(metric, delta, sign="+") + rel


def format_allowance(metric: str, allowance: float | None) -> str:
    return "–" if allowance is None else "±" + _amount(metric, allowance)


def describe_change(metric: str, baseline: float | None, run: float | None, allowance: float | None, *,
                    arrow: str) -> str:
    """``100.0 ms → 130.0 ms (+30.0 ms, +30.0 %; allowed ±10.0 ms)``."""
    return (f"{format_metric(metric, baseline)} {arrow} {format_metric(metric, run)} "
            f"({format_change(metric, baseline, run)}; allowed {format_allowance(metric, allowance)})")
