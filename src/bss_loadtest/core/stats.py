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

This module does not import locust.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

AUTH_REQUEST_TYPE = "AUTH"
"""``request_type`` of token requests: reported apart from the business requests."""

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
    ) -> None:
        """One request; ``trace_id`` (of a traced request) and ``status`` go into the samples kept
        for its trace: the endpoint's slowest, and the latest of its failure class."""
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
        if method == AUTH_REQUEST_TYPE:
            return
        self.total.record(response_time_ms, failure_class)
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

    def record_users(self, user_count: int, now: float | None = None) -> None:
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
        return [k for k in self.endpoint_keys() if self.methods[k][0] != AUTH_REQUEST_TYPE]

    def duration_s(self) -> float:
        """Seconds from the first request to the end of the run (or to the last request, or now)."""
        if self.first_request_at is None:
            return 0.0
        end = self.ended_at or max(self.last_request_at or 0.0, time.time())
        return max(end - self.first_request_at, 1e-9)

    def failures_by_class(self) -> dict[str, int]:
        return dict(sorted(self.total.failures_by_class.items()))

    # -- history -------------------------------------------------------------------------------

    def close_intervals(self, before: float | None = None) -> None:
        """Fold intervals that started before ``before`` (default: all but the open window) into
        rows, and hand each interval's rows to :attr:`history_sink` (and the bounded tail)."""
        if before is None:
            before = time.time() - HISTORY_OPEN_INTERVALS_S
        self.closed_until = max(self.closed_until, int(before))
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
            self.history.extend(rows)
            if self.history_sink is not None:
                self.history_sink(rows)

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
        }

    def merge_dict(self, data: dict[str, Any]) -> None:
        """Add a delta produced by :meth:`to_dict` (from a worker)."""
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

    @staticmethod
    def _aggregate(table: dict[str, Aggregate], key: str) -> Aggregate:
        aggregate = table.get(key)
        if aggregate is None:
            aggregate = table[key] = Aggregate()
        return aggregate

    def take_delta(self) -> dict[str, Any]:
        """Return this object's content as a delta and reset it (worker side)."""
        data = self.to_dict()
        self.__init__()  # type: ignore[misc]
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
