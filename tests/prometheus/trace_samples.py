"""Traced requests on a run's statistics, for the exemplar tests (plain functions).

``core.stats`` keeps, per endpoint, ``Aggregate.slowest``: ``TraceSample(trace_id, ms, status,
failure_class, at)``, slowest first. These helpers record traced requests through ``RunStats.record``
(or put chosen samples there), so a test knows which trace ids the export must show.
"""

from __future__ import annotations

import secrets

from bss_loadtest.core.stats import RunStats, TraceSample

__all__ = ["TraceSample", "new_trace_id", "record_traced", "set_slowest"]


def new_trace_id() -> str:
    return secrets.token_hex(16)


def record_traced(stats: RunStats, method: str, name: str, ms: float, at: float, status: int = 200) -> TraceSample:
    """Record one traced request of ``ms`` at ``at`` (a fresh trace id); its sample as kept."""
    trace_id = new_trace_id()
    stats.record(method, name, ms, None, user_class="CustomerUser", now=at, trace_id=trace_id, status=status)
    (sample,) = [s for s in stats.endpoints[f"{method} {name}"].slowest if s.trace_id == trace_id]
    return sample


def set_slowest(stats: RunStats, key: str, samples: list[TraceSample]) -> None:
    """Make ``samples`` endpoint ``key``'s ``slowest`` list (slowest first), whatever they hold."""
    stats.endpoints[key].slowest = sorted(samples, key=lambda s: -s.ms)
