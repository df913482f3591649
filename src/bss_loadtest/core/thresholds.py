"""k6-style thresholds: parsing, evaluation over :class:`~bss_loadtest.core.stats.RunStats`, rendering.

A profile declares thresholds exactly as a k6 script does::

    thresholds:
      http_req_duration: ["p(95)<500"]
      http_req_duration{name:GET /api/v1/customers/{id}}: ["p(99)<800"]
      http_req_duration{expected_response:true}: ["p(95)<400"]
      http_req_failed: [{threshold: "rate<0.05", abortOnFail: true, delayAbortEval: "1m"}]
      http_req_failed{failure:rate_limited}: ["rate<0.01"]
      http_reqs: ["rate>10"]
      checks: ["rate>0.99"]
      errors: ["rate<0.01"]
      iteration_duration{scenario:checkout}: ["p(95)<2000"]
      dropped_iterations: ["count<1"]
      http_req_duration{stage:steady}: ["p(95)<500"]
      http_req_duration{group:::order_to_payment}: [{threshold: "p(95)<800", window: "1m"}]

Metrics and their statistics (k6's metric types):

- ``http_req_duration`` (Trend, ms): ``avg``, ``min``, ``med``, ``max``, ``p(N)``.
- ``http_req_failed`` (Rate): ``rate`` (failed requests / requests) and ``count`` (failed requests).
- ``http_reqs`` (Counter): ``count`` and ``rate`` (alias ``rps``: requests per second).
- ``checks`` (Rate): ``rate``, the share of checks that passed. Every expected-status and body check
  the client makes on a request is a check (``context["checks"] = (passed, failed)``); a request
  without them counts as one check, passed unless it failed. Token requests make none.
- ``errors`` (Rate): ``rate``, the share of checks that **failed**, i.e. ``1 - checks``: the custom
  Rate every one of the BSS team's k6 scripts feeds with ``errors.add(!ok)``.
- ``iterations`` (Counter): ``count``, ``rate``. An iteration is one task of a user class or one
  pass of a journey, as the executor engine records it.
- ``iteration_duration`` (Trend, ms): ``avg``, ``min``, ``med``, ``max``, ``p(N)``.
- ``dropped_iterations`` (Counter): ``count``, ``rate``: arrivals that found every VU busy.
- ``vus``, ``vus_max`` (Gauge): ``value`` (the latest), ``min``, ``max`` over the run. Set by the
  executor engine; a plain ``stages`` profile uses the users running (``vus_max``: the most so far).

``http_req_waiting`` and k6's other request phases (``http_req_blocked``, ``_connecting``,
``_tls_handshaking``, ``_sending``, ``_receiving``) cannot be evaluated: the client
(geventhttpclient, Locust's FastHttpUser) times the whole response and not its phases, so each is
one error pointing to ``http_req_duration``. As k6's, ``http_req_duration`` leaves a connection's
setup out (it is a ``CONNECT host:port`` row of its own, in no total). So are ``data_sent``, ``data_received`` and
``group_duration``, which the suite does not measure. An unknown metric is an error with the
nearest known name.

Scopes use k6's tag syntax, one tag per key:

- on ``http_req_duration``, ``http_req_failed`` and ``http_reqs``: ``{name:<METHOD path>}`` (one
  endpoint), ``{user_class:<Name>}``, ``{method:GET}``, ``{status:200}`` (``0``: no answer came, as
  k6), ``{expected_response:true|false}`` (the status was one the endpoint expects),
  ``{scenario:<name>}`` (``default`` in a profile without scenarios), ``{group:::<name>}`` (a step of
  a journey, k6's group path with its leading ``::``), ``{stage:...}`` (below), and on
  ``http_req_failed`` only ``{failure:<failure class>}`` (that class's failures over all requests);
- on ``checks``, ``errors``, ``iterations``, ``iteration_duration`` and ``dropped_iterations``:
  ``{scenario:<name>}``;
- ``vus`` and ``vus_max`` take no tag.

No scope means the whole run (business requests; token requests excluded).

Beyond k6 (on the ``http_req_*`` metrics only), which judges the whole run:

- Windowed thresholds: the object form's ``window`` (``{threshold: "p(95)<500", window: "1m"}``)
  fails when any one window of that length, aligned to the run's start, crosses the limit; the
  value shown is the worst window's, and the result says which (``window_start_s``). The windows
  are made of the run's 1-second intervals, so a window is at least ``1s``; ``--time-scale``
  scales it with the stages. A last window cut short by the end of the load (the second of the
  run's last request: the cleanup and the workers' flush after it are no load) is judged only when
  it lasted at least half the window (or is the run's only one): a 2-second tail gives no verdict.
  A window without requests has no ``http_req_duration`` or ``http_req_failed`` value (it is
  skipped) and an ``http_reqs`` count of 0. While the run goes, a window is judged once its
  intervals have closed (15 s behind), so ``abortOnFail`` acts on complete windows.
- Stage scopes: ``{stage:N}`` is the profile's ``stages[N]`` (0-based, as in every message of the
  suite about stages), ``{stage:<name>}`` the stage of that ``name``, ``{stage:steady}`` every stage
  whose target does not move (its users at the start equal its target, above 0), each judged on
  its own, the worst shown. A stage the run did not reach has no requests (and so fails).

A threshold whose scope made no request fails: "no data" never passes as zero. One exception: a
count (``http_reqs`` count or rate, ``http_req_failed`` count) on a tag scope (``method``, ``status``,
``expected_response``, ``scenario``, ``group``) of a run that made requests is 0 when none of them
had that value: ``http_req_failed{status:503}: ["count<1"]`` passes a run without any 503.
This module is pure: it does not import locust.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bss_loadtest.core.errors import quote
from bss_loadtest.core.failures import FAILURE_CLASSES
from bss_loadtest.core.stats import DEFAULT_SCENARIO, Slicing, Tracking
from bss_loadtest.core.tables import text_table

if TYPE_CHECKING:
    from bss_loadtest.core.stats import Aggregate, Histogram, RunStats

TREND = ("avg", "min", "med", "max", "p(N)")
METRIC_STATISTICS: dict[str, tuple[str, ...]] = {
    "http_req_duration": TREND,
    "http_req_failed": ("rate", "count"),
    "http_reqs": ("count", "rate", "rps"),
    "checks": ("rate",),
    "errors": ("rate",),
    "iterations": ("count", "rate"),
    "iteration_duration": TREND,
    "dropped_iterations": ("count", "rate"),
    "vus": ("value", "min", "max"),
    "vus_max": ("value", "min", "max"),
}
"""Every metric a threshold may name, with the statistics it offers."""

REQUEST_METRICS = ("http_req_duration", "http_req_failed", "http_reqs")
"""The metrics of requests: every tag, windows and stage scopes apply to them."""

UNSUPPORTED_METRICS: dict[str, str] = {
    **{
        f"http_req_{phase}": (
            f"http_req_{phase} cannot be evaluated: the client (geventhttpclient, Locust's FastHttpUser) "
            "times the whole response, not its phases apart; use http_req_duration"
        )
        for phase in ("waiting", "blocked", "connecting", "tls_handshaking", "sending", "receiving")
    },
    "data_sent": "data_sent cannot be evaluated: the suite does not count bytes; use http_reqs",
    "data_received": "data_received cannot be evaluated: the suite does not count bytes; use http_reqs",
    "group_duration": (
        "group_duration cannot be evaluated: the suite does not time groups; "
        "use iteration_duration, or http_req_duration{group:::<name>} for a group's requests"
    ),
}
"""k6 built-in metrics the suite cannot evaluate, with the one line that says so."""

SCOPE_TAGS = ("name", "user_class", "failure", "method", "status", "expected_response", "scenario", "group", "stage")
"""Tags a threshold scope may use."""

METRIC_TAGS: dict[str, tuple[str, ...]] = {
    **{metric: SCOPE_TAGS for metric in REQUEST_METRICS},
    **{metric: ("scenario",) for metric in ("checks", "errors", "iterations", "iteration_duration", "dropped_iterations")},
    "vus": (),
    "vus_max": (),
}
"""The tags each metric accepts (``failure`` only on ``http_req_failed``)."""

TRACKED_TAGS = ("method", "status", "expected_response", "scenario", "group")
"""Request tags whose aggregates RunStats keeps only when a threshold names them."""

STEADY = "steady"
OBJECT_KEYS = ("threshold", "abortOnFail", "delayAbortEval", "window")
"""Keys of the object form of a threshold expression."""

MIN_WINDOW_S = 1.0
"""The shortest window: the run's statistics are kept per second."""

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

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
_SECOND_TAG = re.compile(r",\s*(" + "|".join(SCOPE_TAGS) + r"|[a-z_]+)\s*:")


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'checks'?"`` when a known word is close, else ``""``."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean {quote(close[0])}?" if close else ""


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
    """What part of the run a threshold looks at: the whole run, or the samples of one tag value."""

    tag: str | None = None
    """``None`` (whole run) or one of :data:`SCOPE_TAGS`."""
    value: str | None = None

    def __str__(self) -> str:
        return "" if self.tag is None else f"{self.tag}:{self.value}"

    def describe(self) -> str:
        if self.tag is None or self.tag == "failure":
            return "the run"
        if self.tag == "name":
            return self.value or ""
        if self.tag == "user_class":
            return f"user class {self.value}"
        if self.tag == "stage":
            return "the steady stages" if self.value == STEADY else f"stage {self.value}"
        return f"{{{self}}}"


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
    window_s: float | None = None
    """A windowed threshold: its window (seconds, time-scaled)."""
    window_start_s: float | None = None
    """The worst window's start, seconds from the run's start (None before any was judged)."""
    stage: int | None = None
    """A stage scope: the stage judged (for ``steady``, the worst), its index in the profile."""

    def to_dict(self) -> dict[str, Any]:
        """The row of ``summary.json``'s ``thresholds`` list (``window_s``, ``window_start_s`` and
        ``stage`` only where they apply)."""
        row: dict[str, Any] = {
            "metric": self.metric,
            "expression": self.expression,
            "scope": self.scope,
            "observed": self.observed,
            "passed": self.passed,
            "reason": self.reason,
            "abort_on_fail": self.abort_on_fail,
        }
        if self.window_s is not None:
            row["window_s"] = self.window_s
            row["window_start_s"] = self.window_start_s
        if self.scope is not None and self.scope.startswith("stage:"):
            row["stage"] = self.stage
        return row

    def label(self) -> str:
        """``http_req_duration{name:GET /x}``, with ``[window 1m]`` for a windowed threshold."""
        text = f"{self.metric}{{{self.scope}}}" if self.scope else self.metric
        return text + (f" [window {format_seconds(self.window_s)}]" if self.window_s is not None else "")


@dataclass(frozen=True)
class _Observation:
    value: float | None
    reason: str | None
    window_start_s: float | None = None
    stage: int | None = None
    where: str = ""


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold expression on one metric and scope."""

    metric: str
    scope: Scope
    expression: str
    """The expression as written, e.g. ``"p(95)<500"``."""
    statistic: str
    """``avg``, ``min``, ``med``, ``max``, ``p``, ``rate``, ``count`` or ``value`` (``rps`` is stored as ``rate``)."""
    op: str
    limit: float
    percentile: float | None = None
    """For ``p(N)``: N (0-100)."""
    abort_on_fail: bool = False
    delay_abort_eval_s: float = 0.0
    window_s: float | None = None
    """The object form's ``window`` in seconds (time-scaled), or None: the whole run."""
    key: str = field(default="", compare=False)
    """The mapping key as written (metric with scope)."""

    def describe(self) -> str:
        """``http_req_failed{failure:auth} rate<0.001``: the key as written and the expression."""
        window = f" (window {format_seconds(self.window_s)})" if self.window_s is not None else ""
        return f"{self.key or self.metric} {self.expression}{window}"

    @property
    def unit(self) -> str:
        if self.metric in ("http_req_duration", "iteration_duration"):
            return "ms"
        if self.metric in ("http_reqs", "iterations", "dropped_iterations") and self.statistic == "rate":
            return "/s"
        if self.metric in ("http_req_failed", "checks", "errors") and self.statistic == "rate":
            return "rate"
        return ""

    @property
    def sliced(self) -> bool:
        """Judged per window or per stage, not over the whole run."""
        return self.window_s is not None or self.scope.tag == "stage"

    def scaled(self, time_scale: float) -> Threshold:
        """The same threshold with ``delayAbortEval`` and ``window`` multiplied by ``time_scale``
        (a window never shorter than :data:`MIN_WINDOW_S`)."""
        window = None if self.window_s is None else max(self.window_s * time_scale, MIN_WINDOW_S)
        return replace(self, delay_abort_eval_s=self.delay_abort_eval_s * time_scale, window_s=window)

    # -- evaluation ---------------------------------------------------------------------------

    def _request_scope(self) -> str:
        """The scope of the requests read (a ``failure`` or ``stage`` scope reads the whole run's)."""
        return "" if self.scope.tag in (None, "failure", "stage") else str(self.scope)

    def request_value(self, aggregate: Aggregate | None, duration_s: float | None) -> float | None:
        """This threshold's statistic of a request aggregate over ``duration_s`` (for rates)."""
        if aggregate is None:
            return None
        if self.metric == "http_reqs":
            if self.statistic == "count":
                return float(aggregate.count)
            return aggregate.count / duration_s if duration_s and duration_s > 0 else None
        if aggregate.count == 0:
            return None
        if self.metric == "http_req_duration":
            return _trend_value(self, aggregate.histogram)
        failures = (aggregate.failures_by_class.get(self.scope.value or "", 0) if self.scope.tag == "failure"
                    else aggregate.failures)
        return float(failures) if self.statistic == "count" else failures / aggregate.count

    def worse(self, a: float, b: float) -> bool:
        """Whether value ``a`` crosses this threshold further than ``b`` (the worst slice is shown)."""
        if self.op in ("<", "<="):
            return a > b
        if self.op in (">", ">="):
            return a < b
        if self.op == "==":
            return abs(a - self.limit) > abs(b - self.limit)
        return a == self.limit and b != self.limit

    def slicing(self, origin: float | None, stages: Sequence[StageSpan] = ()) -> Slicing | None:
        """How this threshold cuts the run (None for a whole-run one, or without what it needs:
        the run's start, or for a stage scope the stages)."""
        if not self.sliced or origin is None:
            return None
        scope = self._request_scope()
        if self.window_s is not None:
            return Slicing(scope=scope, value=self.request_value, worse=self.worse, origin=origin,
                           window_s=self.window_s)
        chosen = stages_named(self.scope.value or "", stages)
        if not chosen:
            return None
        base = math.floor(origin)  # as the windows: the run's intervals are whole seconds
        ranges = tuple((base + s.start_s, base + s.end_s, s.describe(), s.index) for s in chosen)
        return Slicing(scope=scope, value=self.request_value, worse=self.worse, origin=origin, ranges=ranges)

    def _observe(self, stats: RunStats, elapsed_s: float | None) -> _Observation:
        metric, scope = self.metric, self.scope
        if self.sliced:
            return self._observe_sliced(stats)
        if metric in REQUEST_METRICS:
            aggregate = stats.scope(self._request_scope())
            if aggregate is None or aggregate.count == 0:
                tracked = scope.tag in TRACKED_TAGS and str(scope) in stats.tracking.scopes
                if tracked and metric != "http_req_duration" and stats.total.count and (
                        metric == "http_reqs" or self.statistic == "count"):
                    # No request of the run had that tag value: a count of 0 (and 0/s), e.g. no 503 at all.
                    return _Observation(0.0, None)
                return _Observation(None, f"no requests for {scope.describe()}")
            duration = elapsed_s if elapsed_s is not None else stats.duration_s()
            value = self.request_value(aggregate, duration)
            if value is None:
                return _Observation(None, "run too short to measure a request rate")
            return _Observation(value, None)
        scenario = scope.value if scope.tag == "scenario" else None
        where = f"scenario {scenario}" if scenario is not None else "the run"
        if metric in ("checks", "errors"):
            passed, failed = stats.checks_of(scenario)
            if passed + failed == 0:
                return _Observation(None, f"no checks for {where}")
            return _Observation((passed if metric == "checks" else failed) / (passed + failed), None)
        if metric in ("vus", "vus_max"):
            gauge = stats.vus_gauge() if metric == "vus" else stats.vus_max_gauge()
            if gauge is None:
                return _Observation(None, "no VU count sampled yet")
            return _Observation(float(dict(zip(("value", "min", "max"), gauge))[self.statistic]), None)
        # iterations, iteration_duration, dropped_iterations: of one scenario, or of the run
        if scenario is not None:
            per_scenario = stats.scenarios.get(scenario)
            if per_scenario is None:
                return _Observation(None, f"no iterations for {where}")
            histogram, dropped = per_scenario.iterations, per_scenario.dropped
        else:
            histogram, dropped = stats.iterations, stats.dropped
        if metric == "iteration_duration":
            if not histogram.count:
                return _Observation(None, f"no iterations for {where}")
            return _Observation(_trend_value(self, histogram), None)
        if metric == "iterations" and not histogram.count and scenario is None:
            return _Observation(None, f"no iterations for {where}")
        if scenario is None and not (histogram.count or dropped or stats.total.count):
            return _Observation(None, "no iterations or requests in the run")  # a run that did nothing
        count = float(histogram.count if metric == "iterations" else dropped)
        if self.statistic == "count":
            return _Observation(count, None)
        duration = elapsed_s if elapsed_s is not None else stats.activity_s()
        if not duration or duration <= 0:
            return _Observation(None, "run too short to measure a rate")
        return _Observation(count / duration, None)

    def _observe_sliced(self, stats: RunStats) -> _Observation:
        verdict = stats.slice_verdict(self)
        kind = "window" if self.window_s is not None else "stage"
        if verdict is None:
            missing = ("the run's start is unknown" if kind == "window"
                       else "no profile stages to read (manual mode, or a profile of scenarios)")
            return _Observation(None, f"cannot judge per {kind}: {missing}")
        worst, judged = verdict
        slicing = stats.tracking.slicings[self]
        if worst is None:
            if kind == "window":
                why = "no complete window yet" if stats.ended_at is None else "no requests in any window"
            else:
                why = (f"no requests in {self.scope.describe()}" if stats.ended_at is not None or judged
                       else f"{self.scope.describe()} not complete yet")
            return _Observation(None, why)
        if kind == "window":
            offset = worst.start - math.floor(slicing.origin)
            where = f"in the window at {format_seconds(offset)}–{format_seconds(worst.end - math.floor(slicing.origin))}"
            return _Observation(worst.value, None, window_start_s=round(offset, 3), where=where)
        return _Observation(worst.value, None, stage=worst.ident, where=f"in {worst.label}")

    def observe(self, stats: RunStats, *, elapsed_s: float | None = None) -> tuple[float | None, str | None]:
        """(observed value, None) or (None, why there is no value)."""
        observation = self._observe(stats, elapsed_s)
        return observation.value, observation.reason

    def evaluate(self, stats: RunStats, *, elapsed_s: float | None = None) -> ThresholdResult:
        """Judge this threshold on ``stats`` (``elapsed_s`` overrides the duration used for rates).

        A windowed or stage threshold is judged on the slices closed so far while the run goes,
        and on all of them once ``stats.ended_at`` is set."""
        observation = self._observe(stats, elapsed_s)
        observed, reason = observation.value, observation.reason
        if observed is None:
            passed = False
        else:
            passed = bool(OPERATORS[self.op](observed, self.limit))
            if not passed:
                reason = f"{format_value(observed, self.unit)} is not {self.op} {format_number(self.limit)}"
                if observation.where:
                    reason += f" {observation.where}"
        return ThresholdResult(
            metric=self.metric,
            expression=self.expression,
            scope=str(self.scope) or None,
            observed=observed,
            passed=passed,
            reason=reason,
            abort_on_fail=self.abort_on_fail,
            unit=self.unit,
            window_s=self.window_s,
            window_start_s=observation.window_start_s,
            stage=observation.stage,
        )

    def should_abort(self, stats: RunStats, elapsed_s: float) -> bool:
        """True when this is an ``abortOnFail`` threshold, ``delayAbortEval`` has passed and it is crossed.

        A scope without requests yet does not abort the run (there is nothing crossed to act on);
        it still fails in the final evaluation. A windowed or stage threshold aborts on a window
        or stage already closed.
        """
        if not self.abort_on_fail or elapsed_s < self.delay_abort_eval_s:
            return False
        observed, _ = self.observe(stats, elapsed_s=elapsed_s)
        return observed is not None and not OPERATORS[self.op](observed, self.limit)


def _trend_value(threshold: Threshold, histogram: Histogram) -> float | None:
    if threshold.statistic == "p":
        return histogram.percentile((threshold.percentile or 0.0) / 100.0)
    if threshold.statistic == "med":
        return histogram.percentile(0.5)
    if threshold.statistic == "avg":
        return histogram.total_ms / histogram.count if histogram.count else None
    return {"min": histogram.min_ms, "max": histogram.max_ms}[threshold.statistic]


# -- stages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSpan:
    """One stage on the run's time axis, as a stage scope reads it (from ``core.plan.PlannedStage``
    and the profile stage's ``name``)."""

    index: int
    start_s: float
    end_s: float
    start_users: int
    target: int
    name: str | None = None

    @property
    def steady(self) -> bool:
        """Its target does not move: as many users at its start as at its end (and some)."""
        return self.start_users == self.target > 0

    def describe(self) -> str:
        return f"stage {self.index}" + (f" ({self.name})" if self.name else "")


def stage_spans(plan: Any, profile: Any = None) -> list[StageSpan]:
    """The stages of a ``StagePlan`` (with the names of ``profile.stages``), for stage scopes."""
    planned = getattr(plan, "stages", None) or ()
    declared = list(getattr(profile, "stages", None) or ())
    spans = []
    for stage in planned:
        name = getattr(declared[stage.index], "name", None) if stage.index < len(declared) else None
        spans.append(StageSpan(stage.index, stage.start_s, stage.end_s, stage.start_users, stage.target, name))
    return spans


def stages_named(value: str, stages: Sequence[StageSpan]) -> list[StageSpan]:
    """The stages ``{stage:value}`` names: an index, ``steady``, or a stage's name."""
    if value.isdigit():
        return [s for s in stages if s.index == int(value)]
    if value == STEADY:
        return [s for s in stages if s.steady]
    return [s for s in stages if s.name == value]


def scope_problem(
    threshold: Threshold,
    stage_names: Sequence[str | None],
    scenario_names: Sequence[str],
    stage_targets: Sequence[int] | None = None,
) -> str | None:
    """Why ``threshold``'s scope names nothing in a profile with these stages (their ``name`` s, in
    order; and their targets, to find the steady ones) and scenarios (empty: the profile has none,
    and its scenario is ``default``); None when it is fine. For profile validation."""
    scope = threshold.scope
    if scope.tag == "scenario":
        known = list(scenario_names) or [DEFAULT_SCENARIO]
        if scope.value not in known:
            return f"unknown scenario {quote(scope.value)} (this profile's: {', '.join(known)}){did_you_mean(scope.value or '', known)}"
        return None
    if scope.tag != "stage":
        return None
    value = scope.value or ""
    count = len(stage_names)
    if not count:
        return "this profile has no stages: a {stage:...} scope reads the profile's stages (not scenarios')"
    if value.isdigit():
        if int(value) >= count:
            return f"no stage {value}: this profile has {count} stage(s), {{stage:0}} to {{stage:{count - 1}}} (0-based, as stages[N])"
        return None
    if value == STEADY:
        if stage_targets is not None:
            previous, steady = 0, False
            for target in stage_targets:
                steady = steady or (target == previous and target > 0)
                previous = target
            if not steady:
                return "no steady stage (one whose target equals the users at its start): use {stage:N} or a stage's name"
        return None
    names = [n for n in stage_names if n]
    if value not in names:
        hint = f"; named stages: {', '.join(names)}" if names else "; no stage has a name"
        return f"no stage named {quote(value)} (use {{stage:N}}, 0 to {count - 1}, or {{stage:steady}}{hint})"
    return None


def tracking_for(
    thresholds: Iterable[Threshold], *, origin: float | None = None, stages: Sequence[StageSpan] = ()
) -> Tracking:
    """What a run's :class:`~bss_loadtest.core.stats.RunStats` must keep for ``thresholds``: the tag
    scopes they name, the per-second scopes and slicings of the windowed and stage ones (which
    need ``origin``, the run's start, and for stage scopes the ``stages``)."""
    scopes: set[str] = set()
    sliced: set[str] = set()
    check_scenarios = False
    slicings: dict[Threshold, Slicing] = {}
    for threshold in thresholds:
        tag = threshold.scope.tag
        if threshold.metric in ("checks", "errors") and tag == "scenario":
            check_scenarios = True
        if threshold.metric in REQUEST_METRICS and tag in TRACKED_TAGS:
            scopes.add(str(threshold.scope))
        slicing = threshold.slicing(origin, stages)
        if slicing is not None:
            slicings[threshold] = slicing
            if slicing.scope and not slicing.scope.startswith("name:"):
                sliced.add(slicing.scope)
    return Tracking(scopes=frozenset(scopes), sliced_scopes=frozenset(sliced), check_scenarios=check_scenarios,
                    slicings=slicings)


# -- parsing ---------------------------------------------------------------------------------


def _check_scope(metric: str, tag: str, value: str) -> str:
    """The scope value as kept (``GET``, ``true``), or ``ValueError`` naming what is wrong."""
    if tag not in SCOPE_TAGS:
        raise ValueError(f"unknown scope tag {quote(tag)} (known: {', '.join(SCOPE_TAGS)}){did_you_mean(tag, SCOPE_TAGS)}")
    allowed = METRIC_TAGS[metric]
    if tag == "failure" and metric != "http_req_failed":
        raise ValueError(f"scope {{failure:...}} applies only to http_req_failed, not {metric}")
    if tag not in allowed:
        if not allowed:
            raise ValueError(f"{metric} is a gauge of the whole run and takes no tag: use {metric} without {{...}}")
        raise ValueError(
            f"scope {{{tag}:...}} does not apply to {metric} (it takes {', '.join('{' + t + ':...}' for t in allowed)}); "
            f"request tags apply to {', '.join(REQUEST_METRICS)}"
        )
    if tag == "failure" and value not in FAILURE_CLASSES:
        raise ValueError(f"unknown failure class {quote(value)} (known: {', '.join(FAILURE_CLASSES)})")
    if tag == "name" and " " not in value:
        raise ValueError(f"endpoint scope {quote(value)} must be 'METHOD /path', e.g. 'GET /api/v1/customers/{{id}}'")
    if tag == "method":
        if value.upper() not in HTTP_METHODS:
            raise ValueError(f"unknown HTTP method {quote(value)} (known: {', '.join(HTTP_METHODS)})")
        return value.upper()
    if tag == "status":
        if not value.isdigit() or not (int(value) == 0 or 100 <= int(value) <= 599):
            raise ValueError(f"status {quote(value)} must be an HTTP status 100-599, or 0 for no answer (as k6)")
        return str(int(value))
    if tag == "expected_response":
        if value.lower() not in ("true", "false"):
            raise ValueError(f"expected_response {quote(value)} must be true or false")
        return value.lower()
    if tag == "group" and not value.startswith("::"):
        raise ValueError(
            f"group {quote(value)} must be k6's group path with its leading '::', "
            f"e.g. {metric}{{group:::{value.lstrip(':')}}}"
        )
    return value


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
    if metric in UNSUPPORTED_METRICS:
        raise ValueError(UNSUPPORTED_METRICS[metric])
    if metric not in METRIC_STATISTICS:
        hint = did_you_mean(metric, [*METRIC_STATISTICS, *UNSUPPORTED_METRICS])
        raise ValueError(f"unknown metric {quote(metric)} (known: {', '.join(METRIC_STATISTICS)}){hint}")
    if brace < 0:
        return metric, Scope()
    if not text.endswith("}"):
        raise ValueError(f"malformed scope in {quote(key)}: expected {{tag:value}} at the end")
    inner = text[brace + 1 : -1].strip()
    tag, colon, value = inner.partition(":")
    tag, value = tag.strip(), value.strip()
    if not colon or not tag or not value:
        raise ValueError(f"malformed scope {{{inner}}} in {quote(key)}: expected {{tag:value}}, e.g. {{name:GET /api/v1/customers/{{id}}}}")
    second = _SECOND_TAG.search(value)
    # k6's {tag:a,other:b}; an endpoint name may hold a comma, so there only a known tag counts.
    if second and (tag != "name" or second.group(1) in SCOPE_TAGS):
        raise ValueError(
            f"{quote(key)} combines tags; the suite judges one tag per key: write {metric}{{{tag}:{value[: second.start()].strip()}}} "  # type: ignore[union-attr]
            "and one key per further tag"
        )
    value = _check_scope(metric, tag, value)
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
    window: float | None = None
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
        if "window" in spec:
            window = _parse_window(metric, scope, spec["window"], (*path, "window"))
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
        window_s=window,
        key=key,
    )


def _parse_window(metric: str, scope: Scope, value: Any, path: tuple[str | int, ...]) -> float:
    if metric not in REQUEST_METRICS:
        raise ThresholdError(f"window applies to {', '.join(REQUEST_METRICS)} only; {metric} is judged over the whole run", path)
    if scope.tag == "stage":
        raise ThresholdError("window and a {stage:...} scope do not combine: use one or the other", path)
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ThresholdError(str(exc), path) from None
    if seconds < MIN_WINDOW_S:
        raise ThresholdError(
            f"a window must be at least {format_seconds(MIN_WINDOW_S)} (the run's statistics are kept per second), "
            f"got {quote(value)}", path)
    return seconds


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


def format_seconds(seconds: float | None) -> str:
    """``90 s`` as ``1m30s``, ``60`` as ``1m``, ``2.5`` as ``2.5s``."""
    if seconds is None:
        return "-"
    minutes, rest = divmod(float(seconds), 60.0)
    if minutes and abs(rest) < 1e-9:
        return f"{minutes:g}m"
    return f"{minutes:g}m{rest:g}s" if minutes else f"{rest:g}s"


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
            r.label(),
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
