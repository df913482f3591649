"""k6-style thresholds: parsing, evaluation over :class:`~bss_loadtest.core.stats.RunStats`, rendering.

A profile declares thresholds exactly as a k6 script does::

    thresholds:
      http_req_duration: ["p(95)<500"]
      http_req_duration{name:GET /api/v1/customers/{id}}: ["p(99)<800"]
      http_req_failed: [{threshold: "rate<0.05", abortOnFail: true, delayAbortEval: "1m"}]
      http_req_failed{failure:rate_limited}: ["rate<0.01"]
      http_reqs: ["rate>10"]

Metrics and their statistics:

- ``http_req_duration`` (milliseconds): ``avg``, ``min``, ``med``, ``max``, ``p(N)``.
- ``http_req_failed``: ``rate`` (failures / requests) and ``count`` (failures).
- ``http_reqs``: ``count`` and ``rate`` (alias ``rps``: requests per second).

Scopes use k6's tag syntax: ``{name:<METHOD path>}`` (one endpoint), ``{user_class:<Name>}``,
``{failure:<failure class>}`` (``http_req_failed`` only: that class's failures over all requests).
No scope means the whole run (business requests; token requests excluded).

A threshold whose scope made no request fails: "no data" never passes as zero.
This module is pure: it does not import locust.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bss_loadtest.core.errors import quote
from bss_loadtest.core.failures import FAILURE_CLASSES
from bss_loadtest.core.tables import text_table

if TYPE_CHECKING:
    from bss_loadtest.core.stats import Aggregate, RunStats

METRIC_STATISTICS: dict[str, tuple[str, ...]] = {
    "http_req_duration": ("avg", "min", "med", "max", "p(N)"),
    "http_req_failed": ("rate", "count"),
    "http_reqs": ("count", "rate", "rps"),
}
"""Every metric a threshold may name, with the statistics it offers."""

SCOPE_TAGS = ("name", "user_class", "failure")
"""Tags a threshold scope may use."""

OBJECT_KEYS = ("threshold", "abortOnFail", "delayAbortEval")
"""Keys of the object form of a threshold expression."""

OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_EXPRESSION = re.compile(
    r"^\s*(?P<stat>[A-Za-z_][A-Za-z0-9_.]*(?:\(\s*(?P<arg>[^)]*?)\s*\))?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<limit>\S.*?)\s*$"
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: str | float | int) -> float:
    """Seconds in a k6 duration: ``"1h2m3s"``, ``"90s"``, ``"2m"``, ``"500ms"`` or a number of seconds.

    Raises ``ValueError`` with a message that says what forms are accepted.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {quote(value)} (use e.g. 30s, 2m, 1h30m or a number of seconds)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(number + unit for number, unit in parts) != text:
                raise ValueError(
                    f"invalid duration {quote(value)} (use e.g. 30s, 2m, 1h30m or a number of seconds)"
                ) from None
            seconds = sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)
    else:
        raise ValueError(
            f"invalid duration {quote(value)} (use e.g. 30s, 2m, 1h30m or a number of seconds)"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"invalid duration {quote(value)}: must be a finite, non-negative number of seconds")
    return seconds


class ThresholdError(ValueError):
    """A malformed threshold. ``path`` locates it under ``thresholds`` (metric key, index, [key])."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass(frozen=True)
class Scope:
    """What part of the run a threshold looks at: the whole run, an endpoint, a user class or a failure class."""

    tag: str | None = None
    """``None`` (whole run), ``"name"``, ``"user_class"`` or ``"failure"``."""
    value: str | None = None

    def __str__(self) -> str:
        return "" if self.tag is None else f"{self.tag}:{self.value}"

    def describe(self) -> str:
        if self.tag is None:
            return "the run"
        if self.tag == "name":
            return self.value or ""
        if self.tag == "user_class":
            return f"user class {self.value}"
        return "the run"


@dataclass(frozen=True)
class ThresholdResult:
    """The verdict on one threshold."""

    metric: str
    expression: str
    scope: str | None
    observed: float | None
    passed: bool
    reason: str | None
    abort_on_fail: bool
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The row of ``summary.json``'s ``thresholds`` list."""
        return {
            "metric": self.metric,
            "expression": self.expression,
            "scope": self.scope,
            "observed": self.observed,
            "passed": self.passed,
            "reason": self.reason,
            "abort_on_fail": self.abort_on_fail,
        }


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold expression on one metric and scope."""

    metric: str
    scope: Scope
    expression: str
    """The expression as written, e.g. ``"p(95)<500"``."""
    statistic: str
    """``avg``, ``min``, ``med``, ``max``, ``p``, ``rate`` or ``count`` (``rps`` is stored as ``rate``)."""
    op: str
    limit: float
    percentile: float | None = None
    """For ``p(N)``: N (0-100)."""
    abort_on_fail: bool = False
    delay_abort_eval_s: float = 0.0
    key: str = field(default="", compare=False)
    """The mapping key as written (metric with scope)."""

    def describe(self) -> str:
        """``http_req_failed{failure:auth} rate<0.001``: the key as written and the expression."""
        return f"{self.key or self.metric} {self.expression}"

    @property
    def unit(self) -> str:
        if self.metric == "http_req_duration":
            return "ms"
        if self.metric == "http_reqs" and self.statistic == "rate":
            return "/s"
        if self.metric == "http_req_failed" and self.statistic == "rate":
            return "rate"
        return ""

    def scaled(self, time_scale: float) -> Threshold:
        """The same threshold with ``delayAbortEval`` multiplied by ``time_scale``."""
        return replace(self, delay_abort_eval_s=self.delay_abort_eval_s * time_scale)

    # -- evaluation ---------------------------------------------------------------------------

    def _aggregate(self, stats: RunStats) -> Aggregate | None:
        if self.scope.tag == "name":
            return stats.endpoint(self.scope.value or "")
        if self.scope.tag == "user_class":
            return stats.user_class(self.scope.value or "")
        return stats.total

    def observe(self, stats: RunStats, *, elapsed_s: float | None = None) -> tuple[float | None, str | None]:
        """(observed value, None) or (None, why there is no value)."""
        aggregate = self._aggregate(stats)
        if aggregate is None or aggregate.count == 0:
            return None, f"no requests for {self.scope.describe()}"
        if self.metric == "http_req_duration":
            if self.statistic == "p":
                value = aggregate.percentile((self.percentile or 0.0) / 100.0)
            elif self.statistic == "med":
                value = aggregate.percentile(0.5)
            else:
                value = {"avg": aggregate.avg_ms, "min": aggregate.min_ms, "max": aggregate.max_ms}[self.statistic]
            return value, None
        if self.metric == "http_req_failed":
            if self.scope.tag == "failure":
                failures = aggregate.failures_by_class.get(self.scope.value or "", 0)
            else:
                failures = aggregate.failures
            if self.statistic == "count":
                return float(failures), None
            return failures / aggregate.count, None
        # http_reqs
        if self.statistic == "count":
            return float(aggregate.count), None
        duration = elapsed_s if elapsed_s is not None else stats.duration_s()
        if not duration or duration <= 0:
            return None, "run too short to measure a request rate"
        return aggregate.count / duration, None

    def evaluate(self, stats: RunStats, *, elapsed_s: float | None = None) -> ThresholdResult:
        """Judge this threshold on ``stats`` (``elapsed_s`` overrides the duration used for rates)."""
        observed, reason = self.observe(stats, elapsed_s=elapsed_s)
        if observed is None:
            passed = False
        else:
            passed = bool(OPERATORS[self.op](observed, self.limit))
            if not passed:
                reason = f"{format_value(observed, self.unit)} is not {self.op} {format_number(self.limit)}"
        return ThresholdResult(
            metric=self.metric,
            expression=self.expression,
            scope=str(self.scope) or None,
            observed=observed,
            passed=passed,
            reason=reason,
            abort_on_fail=self.abort_on_fail,
            unit=self.unit,
        )

    def should_abort(self, stats: RunStats, elapsed_s: float) -> bool:
        """True when this is an ``abortOnFail`` threshold, ``delayAbortEval`` has passed and it is crossed.

        A scope without requests yet does not abort the run (there is nothing crossed to act on);
        it still fails in the final evaluation.
        """
        if not self.abort_on_fail or elapsed_s < self.delay_abort_eval_s:
            return False
        observed, _ = self.observe(stats, elapsed_s=elapsed_s)
        return observed is not None and not OPERATORS[self.op](observed, self.limit)


# -- parsing ---------------------------------------------------------------------------------


def parse_key(key: str) -> tuple[str, Scope]:
    """Split ``"http_req_duration{name:GET /api/v1/customers/{id}}"`` into metric and scope.

    The scope is everything between the first ``{`` and the last ``}``, so that path templates
    with braces survive. Raises ``ValueError`` for an unknown metric or a malformed scope.
    """
    if not isinstance(key, str):
        raise ValueError(f"threshold key must be a string, got {quote(key)}")
    text = key.strip()
    brace = text.find("{")
    metric = text if brace < 0 else text[:brace].strip()
    if metric not in METRIC_STATISTICS:
        raise ValueError(f"unknown metric {quote(metric)} (known: {', '.join(METRIC_STATISTICS)})")
    if brace < 0:
        return metric, Scope()
    if not text.endswith("}"):
        raise ValueError(f"malformed scope in {quote(key)}: expected {{tag:value}} at the end")
    inner = text[brace + 1 : -1].strip()
    tag, colon, value = inner.partition(":")
    tag, value = tag.strip(), value.strip()
    if not colon or not tag or not value:
        raise ValueError(f"malformed scope {{{inner}}} in {quote(key)}: expected {{tag:value}}, e.g. {{name:GET /api/v1/customers/{{id}}}}")
    if tag not in SCOPE_TAGS:
        raise ValueError(f"unknown scope tag {quote(tag)} (known: {', '.join(SCOPE_TAGS)})")
    if tag == "failure":
        if metric != "http_req_failed":
            raise ValueError(f"scope {{failure:...}} applies only to http_req_failed, not {metric}")
        if value not in FAILURE_CLASSES:
            raise ValueError(f"unknown failure class {quote(value)} (known: {', '.join(FAILURE_CLASSES)})")
    if tag == "name" and " " not in value:
        raise ValueError(f"endpoint scope {quote(value)} must be 'METHOD /path', e.g. 'GET /api/v1/customers/{{id}}'")
    return metric, Scope(tag, value)


def parse_expression(metric: str, expression: str) -> tuple[str, float | None, str, float]:
    """(statistic, percentile, operator, limit) of ``"p(95)<500"`` on ``metric``; ``ValueError`` if malformed."""
    if not isinstance(expression, str):
        raise ValueError(f"threshold expression must be a string, got {quote(expression)}")
    match = _EXPRESSION.match(expression)
    if match is None:
        raise ValueError(
            f"malformed threshold expression {quote(expression)} "
            "(expected <statistic><operator><number>, e.g. 'p(95)<500')"
        )
    stat, arg, op, limit_text = match["stat"], match["arg"], match["op"], match["limit"]
    allowed = METRIC_STATISTICS[metric]
    name = stat.split("(")[0].lower()
    percentile: float | None = None
    if name == "p" and "p(N)" in allowed:
        if arg is None or not re.fullmatch(_NUMBER, arg) or not 0 <= float(arg) <= 100:
            raise ValueError(f"invalid percentile in {quote(expression)}: p(N) needs N between 0 and 100, e.g. p(95)")
        percentile = float(arg)
    elif arg is not None or name not in allowed:
        raise ValueError(f"unknown statistic {quote(stat)} for {metric} (allowed: {', '.join(allowed)})")
    if not re.fullmatch(_NUMBER, limit_text):
        raise ValueError(f"malformed threshold expression {quote(expression)}: {quote(limit_text)} is not a number")
    limit = float(limit_text)
    if name == "rps":
        name = "rate"
    return name, percentile, op, limit


def _parse_one(key: str, metric: str, scope: Scope, index: int, spec: Any) -> Threshold:
    path: tuple[str | int, ...] = (key, index)
    abort_on_fail = False
    delay = 0.0
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in OBJECT_KEYS]
        if unknown:
            raise ThresholdError(f"unknown key (allowed: {', '.join(OBJECT_KEYS)})", (*path, str(unknown[0])))
        if "threshold" not in spec:
            raise ThresholdError("required key is missing", (*path, "threshold"))
        expression = spec["threshold"]
        abort_on_fail = spec.get("abortOnFail", False)
        if not isinstance(abort_on_fail, bool):
            raise ThresholdError(f"must be true or false, got {quote(abort_on_fail)}", (*path, "abortOnFail"))
        if "delayAbortEval" in spec:
            try:
                delay = parse_duration(spec["delayAbortEval"])
            except ValueError as exc:
                raise ThresholdError(str(exc), (*path, "delayAbortEval")) from None
        expression_path = (*path, "threshold")
    else:
        expression = spec
        expression_path = path
    try:
        statistic, percentile, op, limit = parse_expression(metric, expression)
    except ValueError as exc:
        raise ThresholdError(str(exc), expression_path) from None
    return Threshold(
        metric=metric,
        scope=scope,
        expression=expression.strip(),
        statistic=statistic,
        op=op,
        limit=limit,
        percentile=percentile,
        abort_on_fail=abort_on_fail,
        delay_abort_eval_s=delay,
        key=key,
    )


def parse_thresholds(
    mapping: Mapping[str, Any] | None, *, errors: list[ThresholdError] | None = None
) -> list[Threshold]:
    """Parse a k6 ``thresholds`` mapping (metric with optional scope → list of expressions).

    Raises :class:`ThresholdError` (a ``ValueError`` whose ``path`` locates the bad entry) for
    the first malformed one; when ``errors`` is given, appends every error there instead and
    returns the thresholds that parsed.
    """
    thresholds: list[Threshold] = []

    def fail(error: ThresholdError) -> None:
        if errors is None:
            raise error
        errors.append(error)

    if not mapping:
        return thresholds
    if not isinstance(mapping, Mapping):
        fail(ThresholdError("must be a mapping of metric → list of expressions", ()))
        return thresholds
    for key, specs in mapping.items():
        try:
            metric, scope = parse_key(key)
        except ValueError as exc:
            fail(ThresholdError(str(exc), (str(key),)))
            continue
        if isinstance(specs, (str, Mapping)):
            specs = [specs]  # k6 wants a list; one expression alone is unambiguous
        if not isinstance(specs, Sequence) or not specs:
            fail(ThresholdError("must be a non-empty list of expressions", (key,)))
            continue
        for index, spec in enumerate(specs):
            try:
                thresholds.append(_parse_one(key, metric, scope, index, spec))
            except ThresholdError as exc:
                fail(exc)
    return thresholds


def evaluate_all(
    thresholds: Iterable[Threshold], stats: RunStats, *, elapsed_s: float | None = None
) -> list[ThresholdResult]:
    """Evaluate every threshold on ``stats``, in declaration order."""
    return [threshold.evaluate(stats, elapsed_s=elapsed_s) for threshold in thresholds]


# -- rendering -------------------------------------------------------------------------------


def format_number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.0f}"


def format_value(value: float | None, unit: str) -> str:
    """``612 ms``, ``3.20%``, ``15.3/s``, ``42`` or ``-``."""
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "rate":
        return f"{value:.4g} ({value * 100:.2f}%)"
    if unit == "/s":
        return f"{value:.2f}/s"
    return f"{value:g}"


def format_table(results: Sequence[ThresholdResult]) -> str:
    """A console table: metric with scope, expression, observed value with unit, PASS/FAIL, reason."""
    header = ("metric", "expression", "observed", "result", "reason")
    rows = [
        (
            f"{r.metric}{{{r.scope}}}" if r.scope else r.metric,
            r.expression + (" (abortOnFail)" if r.abort_on_fail else ""),
            format_value(r.observed, r.unit),
            "PASS" if r.passed else "FAIL",
            r.reason or "",
        )
        for r in results
    ]
    if not rows:
        return "no thresholds declared"
    passed = sum(1 for r in results if r.passed)
    return text_table(header, rows, rule="-") + f"\n{passed}/{len(results)} thresholds passed"
