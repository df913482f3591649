"""Generator validity: was the load generator's CPU saturated (so it made less load than promised),
and was its event loop late (so the response times it measured include its own delay)?

Runs inside Locust's gevent loop, but does not import locust.

Every response time is taken by the greenlet that sent the request, when the loop gets round to
it: work the loop does in between (other users' greenlets, validating other responses, a scrape)
is counted as response time. A timer greenlet measures that delay directly: it sleeps
``LOOP_LAG_INTERVAL_S`` and notes how late it wakes (:class:`LoopLagSampler`). Above
``LOOP_LAG_BOUND_MS`` at its p95, with at least ``LOOP_LAG_LATE_SAMPLES`` wakes that late, the run
is flagged as CPU saturation is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import gevent

CPU_SATURATION_PERCENT = 90.0
CPU_SATURATION_SAMPLES = 3
"""A generator above this CPU usage for this many samples made less load than it promised."""

SAMPLE_INTERVAL_S = 1.0

LOOP_LAG_INTERVAL_S = 0.1
"""How often the lag greenlet wakes (10 timers a second: a few microseconds of CPU)."""
LOOP_LAG_BOUND_MS = 2.0
"""A generator whose loop wakes later than this (p95 of the run's samples) sends its users'
requests that much late. Its response times are timed on the wire (the kernel's receive stamps,
client/http.py) over plain HTTP on Linux; over TLS, or where the kernel gives no stamps, they may
include the delay (bench/wire_accuracy.py: the suite against a packet capture)."""
LOOP_LAG_LATE_SAMPLES = 3
"""Wakes at or over the bound a run needs to be flagged, besides its p95 (as
``CPU_SATURATION_SAMPLES`` for the CPU). The p95 of a run of a second (ten samples) is its worst
wake, and one late wake as the first requests go out (their first imports and model builds, 20-30
ms in the demo's one-user smoke pass) is not a generator that lags."""
LOOP_LAG_BUCKET_MS = 0.1
LOOP_LAG_BUCKETS = 1000
"""Lateness kept in 0.1 ms buckets up to 100 ms (one overflow bucket above): fixed memory."""


class LoopLagSampler:
    """How late this process's event loop runs a timer that is due, sampled 10 times a second.

    The lateness of a timer is the time between its due moment (when it was started, plus the
    interval) and the moment its greenlet runs: the time the loop spent on other
    greenlets first. A response that arrives is waited for the same way, so this is the delay
    added to a response time. :meth:`snapshot` is a small dict (p95, max, samples) that workers
    send to the master; :func:`merge_loop_lag` keeps the worst process's.
    """

    def __init__(self, interval_s: float = LOOP_LAG_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._greenlet = None
        self.reset()

    def reset(self) -> None:
        self.counts = [0] * (LOOP_LAG_BUCKETS + 1)
        self.samples = 0
        self.late = 0
        """Samples at or over ``LOOP_LAG_BOUND_MS``."""
        self.max_ms = 0.0

    def start(self) -> None:
        self.reset()
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        while True:
            # gevent.sleep() brings the loop's clock up to time.time() before it starts the timer,
            # so the timer is due interval_s from now on that clock.
            due = time.time() + self.interval_s
            gevent.sleep(self.interval_s)
            self.note((time.time() - due) * 1000.0)

    def note(self, lateness_ms: float) -> None:
        """Count one sample (milliseconds late; an early wake counts as 0)."""
        lateness_ms = max(0.0, lateness_ms)
        self.samples += 1
        if lateness_ms >= LOOP_LAG_BOUND_MS:
            self.late += 1
        self.max_ms = max(self.max_ms, lateness_ms)
        self.counts[min(int(lateness_ms / LOOP_LAG_BUCKET_MS), LOOP_LAG_BUCKETS)] += 1

    def percentile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) of the samples, as the upper edge of its bucket; None before any."""
        if not self.samples:
            return None
        rank = max(1, int(q * self.samples + 0.999999))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                if index == LOOP_LAG_BUCKETS:
                    return self.max_ms
                return min(self.max_ms, (index + 1) * LOOP_LAG_BUCKET_MS)
        return self.max_ms

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def snapshot(self) -> dict:
        p95 = self.percentile(0.95)
        return {
            "lag_p95_ms": round(p95, 3) if p95 is not None else None,
            "lag_max_ms": round(self.max_ms, 3),
            "lag_samples": self.samples,
            "lag_late": self.late,
        }


def merge_loop_lag(merged: Mapping[str, Any] | None, sample: Mapping[str, Any] | None) -> dict | None:
    """The worse of two processes' lag records (a snapshot or an earlier merge; either may be None
    or, from a suite older than the lag sampler, lack the keys); their late wakes add up, and are
    left out when a record does not count them (an older suite's)."""
    records = [r for r in (merged, sample) if r and r.get("lag_samples")]
    if not records:
        return dict(merged) if merged else None
    combined = {
        "lag_p95_ms": max(float(r["lag_p95_ms"] or 0.0) for r in records),
        "lag_max_ms": max(float(r["lag_max_ms"] or 0.0) for r in records),
        "lag_samples": sum(int(r["lag_samples"]) for r in records),
    }
    if all("lag_late" in r for r in records):
        combined["lag_late"] = sum(int(r["lag_late"]) for r in records)
    return combined


def loop_lag_summary(merged: Mapping[str, Any] | None) -> dict:
    """The ``generator`` fields of summary.json for a merged lag record: ``loop_lag_ms`` (the worst
    process's p95 lateness), ``loop_lag_max_ms`` and ``loop_lagging`` (p95 above LOOP_LAG_BOUND_MS
    and, where the record counts them, at least LOOP_LAG_LATE_SAMPLES wakes that late)."""
    if not merged or not merged.get("lag_samples"):
        return {"loop_lag_ms": None, "loop_lag_max_ms": None, "loop_lagging": False}
    p95 = float(merged["lag_p95_ms"] or 0.0)
    late = merged.get("lag_late")
    return {
        "loop_lag_ms": round(p95, 3),
        "loop_lag_max_ms": round(float(merged["lag_max_ms"] or 0.0), 3),
        "loop_lagging": p95 > LOOP_LAG_BOUND_MS and (late is None or int(late) >= LOOP_LAG_LATE_SAMPLES),
    }


class CpuSampler:
    """This process's CPU usage, sampled every second while a run is on (workers and local); the
    suite holds one per process.

    Locust's own monitor samples every 10 s, too coarse for a short run to notice saturation.
    """

    def __init__(self) -> None:
        self.max = 0.0
        self.high = 0
        self._greenlet = None
        self.lag = LoopLagSampler()
        """Started and stopped with the CPU sampler; its figures ride in :meth:`snapshot`."""

    def start(self) -> None:
        self.max, self.high = 0.0, 0
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._loop)
        self.lag.start()

    def _loop(self) -> None:
        import psutil

        process = psutil.Process()
        process.cpu_percent()
        while True:
            gevent.sleep(SAMPLE_INTERVAL_S)
            usage = process.cpu_percent()
            self.max = max(self.max, usage)
            if usage >= CPU_SATURATION_PERCENT:
                self.high += 1

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        self.lag.stop()

    def snapshot(self) -> dict:
        """``max``/``high`` (CPU) plus the loop lag's ``lag_p95_ms``/``lag_max_ms``/``lag_samples``."""
        return {"max": self.max, "high": self.high, **self.lag.snapshot()}

    def take(self) -> dict:
        return self.snapshot()

