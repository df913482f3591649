"""Slowest-request samples on a run's aggregates, for the exemplar and OTLP tests (plain functions).

``core.stats`` keeps, per endpoint, ``Aggregate.slowest``: ``TraceSample(trace_id, ms, status,
failure_class, at)``, slowest first. These helpers put chosen samples there, so a test knows which
trace ids the export must show.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bss_loadtest.core import stats as core_stats
from bss_loadtest.core.stats import Aggregate, RunStats

TraceSample = getattr(core_stats, "TraceSample", None)
if TraceSample is None:  # the same fields, until core.stats has them

    @dataclass(frozen=True)
    class TraceSample:  # type: ignore[no-redef]
        trace_id: str
        ms: float
        status: int | None
        failure_class: str | None
        at: float


class _SampledAggregate(Aggregate):
    """An Aggregate that can hold ``slowest`` where the class has no such slot yet."""


def new_trace_id() -> str:
    return secrets.token_hex(16)


def set_slowest(stats: RunStats, key: str, samples: list) -> None:
    """Make ``samples`` (slowest first) endpoint ``key``'s ``slowest`` list in ``stats``."""
    aggregate = stats.endpoints[key]
    ordered = sorted(samples, key=lambda s: -s.ms)
    try:
        aggregate.slowest = ordered
    except AttributeError:
        replacement = _SampledAggregate()
        replacement.merge(aggregate)
        replacement.slowest = ordered
        stats.endpoints[key] = replacement


def record_traced(stats: RunStats, method: str, name: str, ms: float, at: float, status: int = 200) -> object:
    """Record one request of ``ms`` and return a ``TraceSample`` for it (a fresh trace id); the caller
    hands the samples it wants exported to :func:`set_slowest`."""
    stats.record(method, name, ms, None, user_class="CustomerUser", now=at)
    return TraceSample(new_trace_id(), ms, status, None, at)
