"""The run's statistics: one histogram that every output reads.

Console table, ``summary.json``, the HTML report, the Prometheus export, thresholds and baselines
all take their percentiles from the :class:`Histogram` kept here, so they agree with each other.

Response times are kept in buckets whose representative value is within 0.05 ms of the sample
below 100 ms and within 0.5 % above it, so every percentile is within max(0.5 %, 1 ms) of the
exact percentile of all samples, while memory depends only on the spread of the values, never on
the number of requests.

Workers record into a *delta* that is shipped to the master and reset; the master merges deltas
(``RunStats.merge``) so a distributed run reports what a single process would. Per-second history
keeps a histogram only for intervals that may still receive late worker reports; older intervals
are folded into compact rows and handed to :attr:`RunStats.history_sink` (the run's
``history.csv``, appended as they close), so a run's memory does not grow with its duration:
only a bounded tail of rows (:data:`HISTORY_TAIL_ROWS`) and at most :data:`USERS_AT_MAX` user
counts (one every :attr:`RunStats.users_step` seconds, the step doubling as the run grows) stay.

Per endpoint, the trace ids of its slowest requests (:attr:`Aggregate.slowest`, the top
:data:`SLOWEST_N`) and, per failure class, its latest failures (:attr:`RunStats.failure_samples`)
are kept as :class:`TraceSample` s: a few per endpoint, never more, so a report can link a slow
request to its trace. They travel in the deltas too, and merging keeps the master's lists exact
(the top N of every worker's top N is the top N of all samples).

Beside the requests, a run keeps k6's other built-in metrics: ``checks`` (passed and failed, from
each request's ``checks`` or, without them, one check per request), ``iterations`` and
``iteration_duration`` (:meth:`RunStats.record_iteration`), ``dropped_iterations``
(:meth:`RunStats.record_dropped`), per scenario too, and the ``vus`` / ``vus_max`` gauges
(:meth:`RunStats.set_vus`, the latest pair per source; without an executor engine the sampled user
count stands in, :meth:`RunStats.record_users`).

What the thresholds look at beyond that is configured once per run (:meth:`RunStats.configure`
with a :class:`Tracking`): per-tag aggregates (``method:GET``, ``status:200``, ...) only for the
tag scopes the run's thresholds name, per-second aggregates of the scopes a windowed or stage
threshold reads, and the slicings (:class:`Slicing`) those thresholds are judged over. A slice
is folded into its worst value as it closes, so memory stays bounded by the number of thresholds.

This module does not import locust.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

AUTH_REQUEST_TYPE = "AUTH"
"""``request_type`` of token requests: reported apart from the business requests."""

CONNECT_REQUEST_TYPE = "CONNECT"
"""``request_type`` of a connection's setup (resolving, connecting, TLS), named ``host:port``:
reported apart from the business requests, whose times leave it out as k6's http_req_duration does."""

SIDE_REQUEST_TYPES = frozenset((AUTH_REQUEST_TYPE, CONNECT_REQUEST_TYPE))
"""The ``request_type`` of rows kept apart from the business requests: in no total or check."""

LOCAL_SOURCE = "local"
"""The source of this process's own numbers (a worker's, on the master, are its client id)."""

HISTORY_INTERVAL_S = 1
"""Width of one row of the statistics history, in seconds."""

HISTORY_OPEN_INTERVALS_S = 15
"""Intervals younger than this keep their histograms, because worker reports may still arrive."""

HISTORY_TAIL_ROWS = 2048
"""Closed history rows kept in memory (:attr:`RunStats.history`), the newest; the rest is on disk."""

USERS_AT_MAX = 2048
"""User counts kept (:attr:`RunStats.users_at`): beyond it, the step between them doubles."""

USERS_RECENT = 64
"""The latest user counts kept exactly, for the intervals still to close (:meth:`RunStats.users_for`)."""

SUMMARY_PERCENTILES = (0.5, 0.9, 0.95, 0.99)

SLOWEST_N = 5
"""Slowest requests kept per endpoint, with their trace ids (:attr:`Aggregate.slowest`)."""

FAILURE_SAMPLES_N = 3
"""Latest failed requests kept per failure class, with their trace ids (:attr:`RunStats.failure_samples`)."""

DEFAULT_SCENARIO = "default"
"""The scenario of a request or iteration whose context names none (a plain ``stages`` profile), as k6."""

REQUEST_TAGS = ("method", "status", "expected_response", "scenario", "group", "user_class")
"""Tags whose per-value aggregates :class:`RunStats` keeps when :class:`Tracking` asks for them
(``name`` is always kept: :attr:`RunStats.endpoints`)."""


@dataclass(frozen=True, slots=True)
class TraceSample:
    """One request kept for its trace: ``trace_id`` (32 hex digits), ``ms`` its response time,
    ``status`` its HTTP status (``None`` without an answer), ``failure_class`` (``None`` when it
    succeeded), ``at`` when it was recorded (epoch seconds); ``endpoint`` (``"METHOD name"``) on the
    failure samples, which are kept across endpoints."""

    trace_id: str
    ms: float
    status: int | None
    failure_class: str | None
    at: float
    endpoint: str | None = None

    def to_list(self) -> list[Any]:
        return [self.trace_id, self.ms, self.status, self.failure_class, self.at, self.endpoint]

    @classmethod
    def from_list(cls, data: list[Any]) -> TraceSample:
        return cls(*data)


def _slower_first(sample: TraceSample) -> float:
    return -sample.ms


def top_slowest(samples: Iterable[TraceSample], n: int = SLOWEST_N) -> list[TraceSample]:
    """The ``n`` slowest of ``samples``, slowest first (of equal times, the one given first)."""
    return sorted(samples, key=_slower_first)[:n]


def latest(samples: Iterable[TraceSample], n: int = FAILURE_SAMPLES_N) -> list[TraceSample]:
    """The ``n`` latest of ``samples``, oldest first."""
    return sorted(samples, key=lambda sample: sample.at)[-n:] if n > 0 else []


def bucket_key(response_time_ms: float) -> int:
    """The bucket of a sample, as its representative value in tenths of a millisecond."""
    if response_time_ms < 100.0:
        return int(response_time_ms * 10.0 + 0.5) if response_time_ms > 0 else 0
    # Three significant digits: the rounding error is at most 0.5 % of the value.
    step = 10 ** (int(math.log10(response_time_ms)) - 2)
    return int(response_time_ms / step + 0.5) * step * 10


class Histogram:
    """Sparse histogram of response times in milliseconds (bucketed by :func:`bucket_key`)."""

    __slots__ = ("buckets", "count", "total_ms", "min_ms", "max_ms")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total_ms = 0.0
        self.min_ms: float | None = None
        self.max_ms: float | None = None

    def record(self, response_time_ms: float) -> None:
        key = bucket_key(response_time_ms)
        buckets = self.buckets
        buckets[key] = buckets.get(key, 0) + 1
        self.count += 1
        self.total_ms += response_time_ms
        if self.min_ms is None or response_time_ms < self.min_ms:
            self.min_ms = response_time_ms
        if self.max_ms is None or response_time_ms > self.max_ms:
            self.max_ms = response_time_ms

    def merge(self, other: Histogram) -> None:
        buckets = self.buckets
        for key, n in other.buckets.items():
            buckets[key] = buckets.get(key, 0) + n
        self.count += other.count
        self.total_ms += other.total_ms
        if other.min_ms is not None and (self.min_ms is None or other.min_ms < self.min_ms):
            self.min_ms = other.min_ms
        if other.max_ms is not None and (self.max_ms is None or other.max_ms > self.max_ms):
            self.max_ms = other.max_ms

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile (``q`` in [0, 1]) in ms; ``None`` when empty."""
        return self.percentiles((q,))[0]

    def percentiles(self, qs: Iterable[float]) -> list[float | None]:
        qs = list(qs)
        if not self.count:
            return [None] * len(qs)
        ranks = [max(1, math.ceil(q * self.count)) for q in qs]
        order = sorted(range(len(qs)), key=lambda i: ranks[i])
        result: list[float | None] = [None] * len(qs)
        seen = 0
        position = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            while position < len(order) and ranks[order[position]] <= seen:
                rank = ranks[order[position]]
                # The first and last samples are known exactly, not only their buckets.
                if rank >= self.count:
                    result[order[position]] = self.max_ms
                elif rank == 1:
                    result[order[position]] = self.min_ms
                else:
                    result[order[position]] = self._clamp(key / 10.0)
                position += 1
            if position == len(order):
                break
        return result

    def _clamp(self, value: float) -> float:
        # The extreme buckets are known exactly: never report beyond the observed min and max.
        if self.max_ms is not None and value > self.max_ms:
            return self.max_ms
        if self.min_ms is not None and value < self.min_ms:
            return self.min_ms
        return value

    def count_at_or_below(self, bound_ms: float) -> int:
        """Samples whose bucket is at or below ``bound_ms`` (for Prometheus ``le`` buckets)."""
        limit = bound_ms * 10.0
        return sum(n for key, n in self.buckets.items() if key <= limit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "buckets": self.buckets,
            "count": self.count,
            "total_ms": self.total_ms,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        histogram = cls()
        histogram.buckets = {int(k): int(v) for k, v in data["buckets"].items()}
        histogram.count = int(data["count"])
        histogram.total_ms = float(data["total_ms"])
        histogram.min_ms = data["min_ms"]
        histogram.max_ms = data["max_ms"]
        return histogram


class Aggregate:
    """Counts, failures by class and the response-time histogram of one scope; for an endpoint,
    also its :data:`SLOWEST_N` slowest traced requests (``slowest``, slowest first)."""

    __slots__ = ("count", "failures", "failures_by_class", "histogram", "slowest", "slowest_floor")

    def __init__(self) -> None:
        self.count = 0
        self.failures = 0
        self.failures_by_class: dict[str, int] = {}
        self.histogram = Histogram()
        self.slowest: list[TraceSample] = []
        # The time a request must exceed to enter ``slowest``: -inf until it holds SLOWEST_N.
        self.slowest_floor = -math.inf

    def keep_slowest(self, sample: TraceSample) -> None:
        """Keep ``sample`` if it is among the slowest; callers skip it unless ``ms > slowest_floor``,
        so most requests cost one comparison."""
        slowest = self.slowest
        bisect.insort_right(slowest, sample, key=_slower_first)
        if len(slowest) > SLOWEST_N:
            slowest.pop()
        if len(slowest) >= SLOWEST_N:
            self.slowest_floor = slowest[-1].ms

    def _merge_slowest(self, samples: list[TraceSample]) -> None:
        self.slowest = top_slowest(self.slowest + samples)
        self.slowest_floor = self.slowest[-1].ms if len(self.slowest) >= SLOWEST_N else -math.inf

    def record(self, response_time_ms: float, failure_class: str | None) -> None:
        self.count += 1
        self.histogram.record(response_time_ms)
        if failure_class is not None:
            self.failures += 1
            self.failures_by_class[failure_class] = self.failures_by_class.get(failure_class, 0) + 1

    def merge(self, other: Aggregate) -> None:
        self.count += other.count
        self.failures += other.failures
        for name, n in other.failures_by_class.items():
            self.failures_by_class[name] = self.failures_by_class.get(name, 0) + n
        self.histogram.merge(other.histogram)
        if other.slowest:
            self._merge_slowest(other.slowest)

    def percentile(self, q: float) -> float | None:
        return self.histogram.percentile(q)

    @property
    def avg_ms(self) -> float | None:
        return self.histogram.total_ms / self.count if self.count else None

    @property
    def min_ms(self) -> float | None:
        return self.histogram.min_ms

    @property
    def max_ms(self) -> float | None:
        return self.histogram.max_ms

    @property
    def error_rate(self) -> float:
        return self.failures / self.count if self.count else 0.0

    def summary_row(self, duration_s: float) -> dict[str, Any]:
        """The fields of one row of ``summary.json``'s ``requests`` (times in ms, rounded)."""
        p50, p90, p95, p99 = self.histogram.percentiles(SUMMARY_PERCENTILES)
        return {
            "count": self.count,
            "failures": self.failures,
            "error_rate": self.error_rate,
            "avg_ms": _round(self.avg_ms),
            "min_ms": _round(self.min_ms),
            "p50_ms": _round(p50),
            "p90_ms": _round(p90),
            "p95_ms": _round(p95),
            "p99_ms": _round(p99),
            "max_ms": _round(self.max_ms),
            "rps": round(self.count / duration_s, 3) if duration_s > 0 else 0.0,
            "failures_by_class": dict(sorted(self.failures_by_class.items())),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "failures": self.failures,
            "failures_by_class": self.failures_by_class,
            "histogram": self.histogram.to_dict(),
            "slowest": [s.to_list() for s in self.slowest],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Aggregate:
        aggregate = cls()
        aggregate.count = int(data["count"])
        aggregate.failures = int(data["failures"])
        aggregate.failures_by_class = {str(k): int(v) for k, v in data["failures_by_class"].items()}
        aggregate.histogram = Histogram.from_dict(data["histogram"])
        slowest = data.get("slowest")
        if slowest:
            aggregate._merge_slowest([TraceSample.from_list(s) for s in slowest])
        return aggregate


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass
class HistoryRow:
    """One closed interval of one endpoint (or ``Aggregated``)."""

    timestamp: int
    method: str
    name: str
    requests: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    users: int = 0
    """Users running at the start of the interval (the latest count sampled at or before it)."""


HistorySink = Callable[[list[HistoryRow]], object]
"""Takes the rows of one closed interval, endpoints in key order, then ``Aggregated``."""


class ScenarioStats:
    """One scenario's iterations (count and duration histogram, in ms), dropped iterations, and
    iterations interrupted when the run (or the scenario's gracefulStop) ended them."""

    __slots__ = ("iterations", "dropped", "interrupted")

    def __init__(self) -> None:
        self.iterations = Histogram()
        self.dropped = 0
        self.interrupted = 0

    def merge(self, other: ScenarioStats) -> None:
        self.iterations.merge(other.iterations)
        self.dropped += other.dropped
        self.interrupted += other.interrupted

    def to_dict(self) -> dict[str, Any]:
        return {"iterations": self.iterations.to_dict(), "dropped": self.dropped, "interrupted": self.interrupted}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioStats:
        stats = cls()
        stats.iterations = Histogram.from_dict(data["iterations"])
        stats.dropped = int(data["dropped"])
        stats.interrupted = int(data.get("interrupted", 0))
        return stats


def request_tag(
    tag: str,
    method: str,
    failure_class: str | None,
    user_class: str | None,
    status: int | None,
    expected: bool | None,
    scenario: str | None,
    group: str | None,
) -> str:
    """The value of ``tag`` on one request, as a threshold scope writes it (``status`` 0: no answer,
    as k6; ``expected_response`` ``true`` when the status was expected, without that: when it
    did not fail; ``scenario`` :data:`DEFAULT_SCENARIO` and ``group`` ``""`` when not set)."""
    if tag == "method":
        return method
    if tag == "status":
        return "0" if status is None else str(status)
    if tag == "expected_response":
        ok = expected if expected is not None else failure_class is None
        return "true" if ok else "false"
    if tag == "scenario":
        return scenario or DEFAULT_SCENARIO
    if tag == "group":
        return group or ""
    if tag == "user_class":
        return user_class or ""
    raise ValueError(f"not a request tag: {tag!r}")


SliceValue = Callable[[Aggregate, float], "float | None"]
"""The value a sliced threshold reads of one slice: (its aggregate, its length in s) → value or None
(no data)."""


@dataclass(frozen=True)
class Slicing:
    """How one windowed or stage threshold cuts the run, and what it reads of each slice.

    ``windows``: consecutive windows of ``window_s`` seconds from ``origin`` (the run's start, in
    whole seconds). ``ranges``: the listed ``(start, end, label, ident)`` ranges (epoch seconds; the
    stages a stage scope names, ``ident`` the stage's index). A closed 1-second interval belongs to the slice that holds its middle.
    ``scope`` is the per-second data read: ``""`` (the run), ``"name:METHOD path"`` or a tag scope.
    ``value`` reads one slice; ``worse(a, b)`` says whether value ``a`` is worse than ``b``.
    """

    scope: str
    value: SliceValue
    worse: Callable[[float, float], bool]
    origin: float = 0.0
    window_s: float | None = None
    ranges: tuple[tuple[float, float, str, int], ...] = ()

    def index_of(self, second: int) -> int | None:
        middle = second + 0.5
        if self.window_s is not None:
            return max(int((middle - math.floor(self.origin)) // self.window_s), 0)
        for index, (start, end, _, _) in enumerate(self.ranges):
            if start <= middle < end:
                return index
        return None

    def bounds(self, index: int) -> tuple[float, float, str, int]:
        """(start, end, label, ident) of slice ``index`` (a window's ident is its index)."""
        if self.window_s is not None:
            start = math.floor(self.origin) + index * self.window_s
            return start, start + self.window_s, f"window {index}", index
        return self.ranges[index]

    def complete_before(self, epoch: float) -> int:
        """How many slices, from the first, end at or before ``epoch``."""
        if self.window_s is not None:
            return max(int((epoch - math.floor(self.origin)) // self.window_s), 0)
        count = 0
        while count < len(self.ranges) and self.ranges[count][1] <= epoch:
            count += 1
        return count


@dataclass(frozen=True)
class SliceWorst:
    """The worst slice of a sliced threshold so far: its value and where it lies."""

    value: float
    start: float
    end: float
    label: str
    ident: int


@dataclass
class _SliceState:
    open: dict[int, Aggregate] = field(default_factory=dict)
    settled: int = 0
    """Slices judged (from the first): the next one to judge."""
    worst: SliceWorst | None = None
    judged: int = 0
    """Slices that had a value."""


@dataclass(frozen=True)
class Tracking:
    """What one run keeps beyond the always-on aggregates, from its thresholds (set once per run).

    ``scopes``: tag scopes (``"method:GET"``, ``"status:200"``, ``"user_class:X"`` ...) whose
    whole-run aggregates :attr:`RunStats.scopes` keeps. ``sliced_scopes``: tag scopes whose
    per-second aggregates are kept for :attr:`slicings` (``""`` and ``name:`` scopes read the
    per-endpoint intervals every run keeps). ``check_scenarios``: whether checks are kept per
    scenario. ``slicings``: per windowed or stage threshold (its key), its :class:`Slicing`.
    """

    scopes: frozenset[str] = frozenset()
    sliced_scopes: frozenset[str] = frozenset()
    check_scenarios: bool = False
    slicings: Mapping[Hashable, Slicing] = field(default_factory=dict)

    @property
    def tags(self) -> tuple[str, ...]:
        """The request tags whose values each request must be looked at for."""
        used = {scope.split(":", 1)[0] for scope in self.scopes | self.sliced_scopes if scope}
        return tuple(tag for tag in REQUEST_TAGS if tag in used)


NO_TRACKING = Tracking()


@dataclass
class RunStats:
    """All statistics of one run (or, on a worker, the delta not yet sent to the master)."""

    endpoints: dict[str, Aggregate] = field(default_factory=dict)
    methods: dict[str, tuple[str, str]] = field(default_factory=dict)
    user_classes: dict[str, Aggregate] = field(default_factory=dict)
    total: Aggregate = field(default_factory=Aggregate)
    first_request_at: float | None = None
    last_request_at: float | None = None
    ended_at: float | None = None
    open_intervals: dict[int, dict[str, Aggregate]] = field(default_factory=dict)
    history: deque[HistoryRow] = field(default_factory=lambda: deque(maxlen=HISTORY_TAIL_ROWS))
    """The newest closed rows (a bounded tail: the whole history goes to :attr:`history_sink`)."""
    users_at: dict[int, int] = field(default_factory=dict)
    """User counts by epoch second, oldest first: one every :attr:`users_step` seconds (bounded)."""
    users_step: int = 1
    recent_users: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=USERS_RECENT))
    history_sink: HistorySink | None = None
    """Where closed intervals go as they close (the run's ``history.csv``); None keeps only the tail."""
    closed_until: int = 0
    failure_samples: dict[str, list[TraceSample]] = field(default_factory=dict)
    """Per failure class, its :data:`FAILURE_SAMPLES_N` latest traced failures, oldest first."""
    checks_passed: int = 0
    checks_failed: int = 0
    scenario_checks: dict[str, list[int]] = field(default_factory=dict)
    """Per scenario, ``[passed, failed]`` checks (only when :attr:`Tracking.check_scenarios`)."""
    iterations: Histogram = field(default_factory=Histogram)
    """Every iteration's duration (ms): its ``count`` is the run's iterations."""
    dropped: int = 0
    scenarios: dict[str, ScenarioStats] = field(default_factory=dict)
    first_iteration_at: float | None = None
    last_iteration_at: float | None = None
    vus_by_source: dict[str, tuple[int, int]] = field(default_factory=dict)
    """The latest ``(vus, vus_max)`` of each source (``"local"``, or a worker's id on the master)."""
    vus_range: list[int] | None = None
    """``[min vus, max vus, min vus_max, max vus_max]`` over time of the sums over sources."""
    users_range: list[int] | None = None
    """``[latest, min, max, first]`` of the sampled user count (the ``vus`` gauges without an executor engine)."""
    tracking: Tracking = NO_TRACKING
    scopes: dict[str, Aggregate] = field(default_factory=dict)
    """Whole-run aggregates of the tag scopes :attr:`tracking` names."""
    open_scope_intervals: dict[int, dict[str, Aggregate]] = field(default_factory=dict)
    """Per open second, the aggregates of :attr:`Tracking.sliced_scopes` (closed with the intervals)."""
    slices: dict[Hashable, _SliceState] = field(default_factory=dict)

    def configure(self, tracking: Tracking) -> None:
        """What this run keeps beyond the always-on numbers (once, at the start of the run)."""
        self.tracking = tracking
        self._tags = tracking.tags
        self.slices = {key: _SliceState() for key in tracking.slicings}

    def __post_init__(self) -> None:
        self._tags: tuple[str, ...] = self.tracking.tags

    @property
    def configured(self) -> bool:
        """Whether :meth:`configure` was called (with any tracking, an empty one too)."""
        return self.tracking is not NO_TRACKING

    # -- recording (the hot path) -------------------------------------------------------------

    def record(
        self,
        method: str,
        name: str,
        response_time_ms: float,
        failure_class: str | None = None,
        user_class: str | None = None,
        now: float | None = None,
        *,
        trace_id: str | None = None,
        status: int | None = None,
        checks: tuple[int, int] | None = None,
        expected: bool | None = None,
        scenario: str | None = None,
        group: str | None = None,
    ) -> None:
        """One request; ``trace_id`` (of a traced request) and ``status`` go into the samples kept
        for its trace: the endpoint's slowest, and the latest of its failure class.

        ``checks`` is ``(passed, failed)`` of the checks the client made on it (without them: one
        check, passed unless the request failed); ``expected`` whether its status was one expected
        (default: it did not fail); ``scenario`` and ``group`` its k6 scenario and group path.
        Token requests and connection setups count in neither the totals nor the checks."""
        if now is None:
            now = time.time()
        key = f"{method} {name}"
        aggregate = self.endpoints.get(key)
        if aggregate is None:
            aggregate = self.endpoints[key] = Aggregate()
            self.methods[key] = (method, name)
        aggregate.record(response_time_ms, failure_class)
        if trace_id is not None:
            if response_time_ms > aggregate.slowest_floor:
                aggregate.keep_slowest(TraceSample(trace_id, response_time_ms, status, failure_class, now))
            if failure_class is not None:
                self._keep_failure(TraceSample(trace_id, response_time_ms, status, failure_class, now, key))
        if method in SIDE_REQUEST_TYPES:
            return
        self.total.record(response_time_ms, failure_class)
        if checks is None:
            passed, failed = (1, 0) if failure_class is None else (0, 1)
        else:
            passed, failed = checks
        self.checks_passed += passed
        self.checks_failed += failed
        if self.tracking.check_scenarios:
            counts = self.scenario_checks.get(scenario or DEFAULT_SCENARIO)
            if counts is None:
                counts = self.scenario_checks[scenario or DEFAULT_SCENARIO] = [0, 0]
            counts[0] += passed
            counts[1] += failed
        if user_class is not None:
            per_class = self.user_classes.get(user_class)
            if per_class is None:
                per_class = self.user_classes[user_class] = Aggregate()
            per_class.record(response_time_ms, failure_class)
        second = int(now)
        interval = self.open_intervals.get(second)
        if interval is None:
            interval = self.open_intervals[second] = {}
        bucket = interval.get(key)
        if bucket is None:
            bucket = interval[key] = Aggregate()
        bucket.record(response_time_ms, failure_class)
        if self._tags:
            tracking = self.tracking
            for tag in self._tags:
                scope = f"{tag}:{request_tag(tag, method, failure_class, user_class, status, expected, scenario, group)}"
                if scope in tracking.scopes:
                    self._aggregate(self.scopes, scope).record(response_time_ms, failure_class)
                if scope in tracking.sliced_scopes:
                    per_second = self.open_scope_intervals.get(second)
                    if per_second is None:
                        per_second = self.open_scope_intervals[second] = {}
                    self._aggregate(per_second, scope).record(response_time_ms, failure_class)
        if self.first_request_at is None or now < self.first_request_at:
            self.first_request_at = now
        if self.last_request_at is None or now > self.last_request_at:
            self.last_request_at = now

    def _keep_failure(self, sample: TraceSample) -> None:
        samples = self.failure_samples.get(sample.failure_class)  # type: ignore[arg-type]
        if samples is None:
            samples = self.failure_samples[sample.failure_class] = []  # type: ignore[index]
        samples.append(sample)
        if len(samples) > FAILURE_SAMPLES_N:
            del samples[0]

    def record_iteration(self, scenario: str, duration_ms: float, now: float | None = None) -> None:
        """One iteration of ``scenario`` (a task of a user class, or a pass of a journey) that took
        ``duration_ms``."""
        if now is None:
            now = time.time()
        self.iterations.record(duration_ms)
        self._scenario(scenario).iterations.record(duration_ms)
        self._iteration_at(now)

    def record_dropped(self, scenario: str, count: int = 1, now: float | None = None) -> None:
        """``count`` iterations of ``scenario`` that could not start on schedule (every VU busy)."""
        if now is None:
            now = time.time()
        self.dropped += count
        self._scenario(scenario).dropped += count
        self._iteration_at(now)

    def record_interrupted(self, scenario: str, now: float | None = None) -> None:
        """An iteration of ``scenario`` that was still running when the run ended it (k6's
        "interrupted iterations"): not counted in ``iterations``."""
        self._scenario(scenario).interrupted += 1
        self._iteration_at(time.time() if now is None else now)

    def _scenario(self, name: str) -> ScenarioStats:
        scenario = self.scenarios.get(name)
        if scenario is None:
            scenario = self.scenarios[name] = ScenarioStats()
        return scenario

    def _iteration_at(self, now: float) -> None:
        if self.first_iteration_at is None or now < self.first_iteration_at:
            self.first_iteration_at = now
        if self.last_iteration_at is None or now > self.last_iteration_at:
            self.last_iteration_at = now

    def set_vus(self, vus: int, vus_max: int, source: str = LOCAL_SOURCE, now: float | None = None) -> None:
        """The latest VUs running and allocated of ``source``; the run's gauges are the sums over
        sources, their min and max over time. (``now`` is accepted for symmetry: gauges keep no times.)"""
        self.vus_by_source[source] = (int(vus), int(vus_max))
        total, total_max = self._vus_sums()
        known = self.vus_range
        if known is None:
            self.vus_range = [total, total, total_max, total_max]
        else:
            known[0], known[1] = min(known[0], total), max(known[1], total)
            known[2], known[3] = min(known[2], total_max), max(known[3], total_max)

    def _vus_sums(self) -> tuple[int, int]:
        pairs = tuple(self.vus_by_source.values())  # one C-level copy: a scrape thread may read
        return sum(v for v, _ in pairs), sum(m for _, m in pairs)

    def vus_gauge(self) -> tuple[int, int, int] | None:
        """``(value, min, max)`` of ``vus``: the executor engine's (:meth:`set_vus`), or else the
        sampled user count; None before either."""
        if self.vus_by_source and self.vus_range is not None:
            return self._vus_sums()[0], self.vus_range[0], self.vus_range[1]
        if self.users_range is not None:
            return self.users_range[0], self.users_range[1], self.users_range[2]
        return None

    def vus_max_gauge(self) -> tuple[int, int, int] | None:
        """``(value, min, max)`` of ``vus_max``: the engine's, or else the most users sampled so far
        (a ``stages`` run allocates users as it ramps: its value and max are that peak, its min the
        first count)."""
        if self.vus_by_source and self.vus_range is not None:
            return self._vus_sums()[1], self.vus_range[2], self.vus_range[3]
        if self.users_range is not None:
            return self.users_range[2], self.users_range[3], self.users_range[2]
        return None

    def record_users(self, user_count: int, now: float | None = None) -> None:
        known = self.users_range
        if known is None:
            self.users_range = [user_count, user_count, user_count, user_count]
        else:
            known[0], known[1], known[2] = user_count, min(known[1], user_count), max(known[2], user_count)
        second = int(now if now is not None else time.time())
        self.recent_users.append((second, user_count))
        if second % self.users_step == 0:
            self.users_at[second] = user_count
            if len(self.users_at) > USERS_AT_MAX:
                # A long run keeps its whole curve, at half the resolution, in bounded memory.
                self.users_step *= 2
                self.users_at = {s: n for s, n in self.users_at.items() if s % self.users_step == 0}

    def users_for(self, second: int) -> int:
        """Users at ``second``: the latest count sampled at or before it (0 before the first)."""
        # Counts arrive in time order, and intervals close a few seconds behind them.
        for at, users in reversed(self.recent_users):
            if at <= second:
                return users
        for at in reversed(self.users_at):
            if at <= second:
                return self.users_at[at]
        return 0

    # -- reading -------------------------------------------------------------------------------

    def endpoint(self, key: str) -> Aggregate | None:
        """The aggregate of ``"METHOD name"``, or ``None`` if it was never requested."""
        return self.endpoints.get(key)

    def user_class(self, name: str) -> Aggregate | None:
        return self.user_classes.get(name)

    def endpoint_keys(self) -> list[str]:
        return sorted(self.endpoints)

    def business_keys(self) -> list[str]:
        return [k for k in self.endpoint_keys() if self.methods[k][0] not in SIDE_REQUEST_TYPES]

    def duration_s(self) -> float:
        """Seconds from the first request to the end of the run (or to the last request, or now)."""
        if self.first_request_at is None:
            return 0.0
        end = self.ended_at or max(self.last_request_at or 0.0, time.time())
        return max(end - self.first_request_at, 1e-9)

    def activity_s(self) -> float:
        """Seconds from the first request or iteration to the end (or to the last one, or now):
        what iteration rates are taken over."""
        starts = [t for t in (self.first_request_at, self.first_iteration_at) if t is not None]
        if not starts:
            return 0.0
        ends = [t for t in (self.last_request_at, self.last_iteration_at) if t is not None]
        end = self.ended_at or max(max(ends, default=0.0), time.time())
        return max(end - min(starts), 1e-9)

    def failures_by_class(self) -> dict[str, int]:
        return dict(sorted(self.total.failures_by_class.items()))

    def scope(self, scope: str) -> Aggregate | None:
        """The whole-run aggregate of a tag scope (``"method:GET"``), ``"name:..."``, ``"user_class:..."``
        or ``""`` (the run); None when nothing was recorded for it."""
        if not scope:
            return self.total
        tag, _, value = scope.partition(":")
        if tag == "name":
            return self.endpoints.get(value)
        if tag == "user_class":
            return self.user_classes.get(value)
        return self.scopes.get(scope)

    def checks_of(self, scenario: str | None = None) -> tuple[int, int]:
        """``(passed, failed)`` checks of the run, or of one scenario (kept when tracked)."""
        if scenario is None:
            return self.checks_passed, self.checks_failed
        counts = self.scenario_checks.get(scenario)
        return (counts[0], counts[1]) if counts else (0, 0)

    # -- slices (windowed and stage thresholds) ------------------------------------------------

    def _second_of(self, second: int, scope: str, interval: dict[str, Aggregate], overall: Aggregate) -> Aggregate | None:
        if not scope:
            return overall if overall.count else None
        if scope.startswith("name:"):
            return interval.get(scope[5:])
        return self.open_scope_intervals.get(second, {}).get(scope)

    def _feed_slices(self, second: int, interval: dict[str, Aggregate], overall: Aggregate) -> None:
        for key, slicing in self.tracking.slicings.items():
            aggregate = self._second_of(second, slicing.scope, interval, overall)
            if aggregate is None:
                continue
            index = slicing.index_of(second)
            state = self.slices[key]
            if index is None:
                continue
            # A late report lands in an interval still open: a slice already judged takes no more.
            index = max(index, state.settled)
            target = state.open.get(index)
            if target is None:
                target = state.open[index] = Aggregate()
            target.merge(aggregate)

    def _settle_slices(self) -> None:
        """Judge every slice that ends at or before the closed intervals (and the run's end)."""
        until = float(self.closed_until)
        if self.ended_at is not None:
            until = min(until, self.ended_at)
        for key, slicing in self.tracking.slicings.items():
            state = self.slices[key]
            complete = slicing.complete_before(until)
            while state.settled < complete:
                self._judge(slicing, state, state.settled, state.open.pop(state.settled, None))
                state.settled += 1

    @staticmethod
    def _judge(slicing: Slicing, state: _SliceState, index: int, aggregate: Aggregate | None,
               length_s: float | None = None) -> SliceWorst | None:
        start, end, label, ident = slicing.bounds(index)
        value = slicing.value(aggregate or Aggregate(), length_s if length_s is not None else end - start)
        if value is None:
            return None
        state.judged += 1
        worst = SliceWorst(value, start, end, label, ident)
        if state.worst is None or slicing.worse(value, state.worst.value):
            state.worst = worst
        return worst

    def slice_verdict(self, key: Hashable) -> tuple[SliceWorst | None, int] | None:
        """(the worst slice, slices with a value) of the sliced threshold ``key``, None when it is
        not configured. While the run goes, only the slices already closed count; once it ended
        (:attr:`ended_at`), the last ones too: a stage cut short or not reached, and a last window
        cut short by the end of the load (the run's end, or the second of its last request if
        earlier) when it lasted at least half the window (or is the only one)."""
        slicing = self.tracking.slicings.get(key)
        if slicing is None:
            return None
        state = self.slices[key]
        if self.ended_at is None:
            return state.worst, state.judged
        # The load ends with its last request (then come the cleanup and the workers' flush).
        run_end = self.ended_at
        if self.last_request_at is not None:
            run_end = min(run_end, math.floor(self.last_request_at) + 1.0)
        # Judge what is still open on a copy: the verdict may be asked for more than once.
        final = _SliceState(settled=state.settled, worst=state.worst, judged=state.judged)
        if slicing.window_s is not None:
            last = slicing.index_of(int(math.ceil(run_end)) - 1)
            for index in range(final.settled, (last if last is not None else -1) + 1):
                start, end, _, _ = slicing.bounds(index)
                length = min(end, run_end) - start
                aggregate = state.open.get(index)
                if length < slicing.window_s / 2 and (final.judged or index > 0) and end > run_end:
                    continue  # a short tail: no verdict from a window of a few seconds
                self._judge(slicing, final, index, aggregate, max(length, 1e-9))
        else:
            for index in range(final.settled, len(slicing.ranges)):
                start, end, _, _ = slicing.bounds(index)
                length = max(min(end, run_end) - start, 0.0) or end - start
                self._judge(slicing, final, index, state.open.get(index), length)
        return final.worst, final.judged

    # -- history -------------------------------------------------------------------------------

    def close_intervals(self, before: float | None = None) -> None:
        """Fold intervals that started before ``before`` (default: all but the open window) into
        rows, and hand each interval's rows to :attr:`history_sink` (and the bounded tail)."""
        if before is None:
            before = time.time() - HISTORY_OPEN_INTERVALS_S
        self.closed_until = max(self.closed_until, int(before))
        slicing = bool(self.tracking.slicings)
        for second in sorted(s for s in self.open_intervals if s < before):
            interval = self.open_intervals.pop(second)
            overall = Aggregate()
            users = self.users_for(second)
            rows = []
            for key in sorted(interval):
                aggregate = interval[key]
                overall.merge(aggregate)
                method, name = self.methods[key]
                rows.append(_history_row(second, method, name, aggregate, users))
            rows.append(_history_row(second, "", "Aggregated", overall, users))
            if slicing:
                self._feed_slices(second, interval, overall)
            self.open_scope_intervals.pop(second, None)
            self.history.extend(rows)
            if self.history_sink is not None:
                self.history_sink(rows)
        for second in [s for s in self.open_scope_intervals if s < before]:
            del self.open_scope_intervals[second]  # a scope's second without any endpoint's: none
        if slicing:
            self._settle_slices()

    # -- transfer between processes -----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A msgpack/JSON-safe copy of everything (a worker's delta, or a checkpoint)."""
        return {
            "endpoints": {k: [*self.methods[k], a.to_dict()] for k, a in self.endpoints.items()},
            "user_classes": {k: a.to_dict() for k, a in self.user_classes.items()},
            "total": self.total.to_dict(),
            "first_request_at": self.first_request_at,
            "last_request_at": self.last_request_at,
            "open_intervals": {
                str(s): {k: a.to_dict() for k, a in interval.items()}
                for s, interval in self.open_intervals.items()
            },
            "failure_samples": {k: [s.to_list() for s in v] for k, v in self.failure_samples.items()},
            "checks": [self.checks_passed, self.checks_failed],
            "scenario_checks": {k: list(v) for k, v in self.scenario_checks.items()},
            "iterations": self.iterations.to_dict(),
            "dropped": self.dropped,
            "scenarios": {k: v.to_dict() for k, v in self.scenarios.items()},
            "first_iteration_at": self.first_iteration_at,
            "last_iteration_at": self.last_iteration_at,
            # The latest gauges of this process, summed over its sources: in every delta.
            "vus": list(self._vus_sums()) if self.vus_by_source else None,
            "scopes": {k: a.to_dict() for k, a in self.scopes.items()},
            "open_scope_intervals": {
                str(s): {k: a.to_dict() for k, a in interval.items()}
                for s, interval in self.open_scope_intervals.items()
            },
        }

    def merge_dict(self, data: dict[str, Any], *, source: str = LOCAL_SOURCE) -> None:
        """Add a delta produced by :meth:`to_dict` (from a worker); its gauges become ``source``'s."""
        for key, (method, name, aggregate) in data["endpoints"].items():
            self.methods.setdefault(key, (method, name))
            self._aggregate(self.endpoints, key).merge(Aggregate.from_dict(aggregate))
        for name, aggregate in data["user_classes"].items():
            self._aggregate(self.user_classes, name).merge(Aggregate.from_dict(aggregate))
        self.total.merge(Aggregate.from_dict(data["total"]))
        for attribute, pick in (("first_request_at", min), ("last_request_at", max)):
            theirs = data[attribute]
            if theirs is not None:
                ours = getattr(self, attribute)
                setattr(self, attribute, theirs if ours is None else pick(ours, theirs))
        for second, interval in data["open_intervals"].items():
            # A report too late for its interval still counts, in the first interval still open.
            second = max(int(second), self.closed_until)
            target = self.open_intervals.setdefault(second, {})
            for key, aggregate in interval.items():
                self._aggregate(target, key).merge(Aggregate.from_dict(aggregate))
        for failure_class, samples in data.get("failure_samples", {}).items():
            ours = self.failure_samples.get(failure_class, [])
            self.failure_samples[failure_class] = latest([*ours, *(TraceSample.from_list(s) for s in samples)])
        passed, failed = data.get("checks") or (0, 0)
        self.checks_passed += int(passed)
        self.checks_failed += int(failed)
        for scenario, (passed, failed) in data.get("scenario_checks", {}).items():
            counts = self.scenario_checks.setdefault(scenario, [0, 0])
            counts[0] += int(passed)
            counts[1] += int(failed)
        if "iterations" in data:
            self.iterations.merge(Histogram.from_dict(data["iterations"]))
        self.dropped += int(data.get("dropped", 0))
        for scenario, theirs in data.get("scenarios", {}).items():
            self._scenario(scenario).merge(ScenarioStats.from_dict(theirs))
        for attribute, pick in (("first_iteration_at", min), ("last_iteration_at", max)):
            theirs = data.get(attribute)
            if theirs is not None:
                ours = getattr(self, attribute)
                setattr(self, attribute, theirs if ours is None else pick(ours, theirs))
        if data.get("vus") is not None:
            vus, vus_max = data["vus"]
            self.set_vus(vus, vus_max, source=source)
        for scope, aggregate in data.get("scopes", {}).items():
            self._aggregate(self.scopes, scope).merge(Aggregate.from_dict(aggregate))
        for second, interval in data.get("open_scope_intervals", {}).items():
            second = max(int(second), self.closed_until)
            target = self.open_scope_intervals.setdefault(second, {})
            for scope, aggregate in interval.items():
                self._aggregate(target, scope).merge(Aggregate.from_dict(aggregate))

    @staticmethod
    def _aggregate(table: dict[str, Aggregate], key: str) -> Aggregate:
        aggregate = table.get(key)
        if aggregate is None:
            aggregate = table[key] = Aggregate()
        return aggregate

    def take_delta(self) -> dict[str, Any]:
        """Return this object's content as a delta and reset it (worker side), keeping its
        configuration (:attr:`tracking`) and its latest gauges, which ride in every delta."""
        data = self.to_dict()
        tracking, vus = self.tracking, self.vus_by_source
        self.__init__()  # type: ignore[misc]
        self.configure(tracking)
        self.vus_by_source = vus
        return data


def _history_row(second: int, method: str, name: str, aggregate: Aggregate, users: int = 0) -> HistoryRow:
    p50, p95, p99 = aggregate.histogram.percentiles((0.5, 0.95, 0.99))
    return HistoryRow(
        timestamp=second,
        method=method,
        name=name,
        requests=aggregate.count,
        failures=aggregate.failures,
        p50_ms=_round(p50),
        p95_ms=_round(p95),
        p99_ms=_round(p99),
        max_ms=_round(aggregate.max_ms),
        users=users,
    )
