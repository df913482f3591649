"""k6's executors as schedules: how many users may run, and when each iteration starts.

A profile's ``scenarios`` (see :class:`~bss_loadtest.core.profiles.Scenario`) run side by side.
Every scenario has a *pool* of users, started with the run; its executor decides, at each
iteration boundary, whether a user of the pool may start its next iteration:

- ``constant-vus`` / ``ramping-vus``: the first ``target(t)`` users of the pool run, the others
  wait (a user that is no longer needed finishes its iteration first, as k6's graceful ramp-down);
- ``per-vu-iterations``: every user runs ``iterations`` iterations;
- ``shared-iterations``: the users share ``iterations`` iterations;
- ``constant-arrival-rate`` / ``ramping-arrival-rate``: iteration *k* starts at its scheduled
  time whatever the response times; when no user of the pool is free, it is dropped and counted.

With a user mix, the pool and the work are split over the classes by weight; in a distributed
run, over the worker processes by the users each of them holds. Every split here is exact: the
parts add up to the whole (largest remainders), and each arrival belongs to exactly one class and
one process (low-discrepancy sequences, the same on every process), so the run's total rate and
iterations are the profile's.

Times are seconds from the start of the run (when every pool has been started). Pure: no Locust.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VU_EXECUTORS = ("constant-vus", "ramping-vus")
ITERATION_EXECUTORS = ("per-vu-iterations", "shared-iterations")
ARRIVAL_EXECUTORS = ("constant-arrival-rate", "ramping-arrival-rate")

_CLASS_STEP = (math.sqrt(5.0) - 1.0) / 2.0
"""Weyl sequence step that picks an arrival's user class (the golden ratio's fractional part)."""
_WORKER_STEP = math.sqrt(2.0) - 1.0
"""Weyl sequence step that picks an arrival's process (rationally independent of the class step)."""


# -- exact splits ------------------------------------------------------------------------------


def apportion(total: int, weights: Sequence[float], caps: Sequence[int] | None = None) -> list[int]:
    """Split ``total`` into whole parts proportional to ``weights`` (largest remainders).

    The parts add up to ``total`` unless the caps cannot hold it (then every part is at its cap);
    a part never exceeds its cap, and what a capped part cannot take goes to the others. Ties go
    to the earlier index, so every process computes the same split.
    """
    count = len(weights)
    caps = list(caps) if caps is not None else [total] * count
    parts = [0] * count
    remaining = min(total, sum(caps))
    open_ = [i for i in range(count) if caps[i] > 0 and weights[i] > 0]
    if not open_:
        open_ = [i for i in range(count) if caps[i] > 0]
    while remaining > 0 and open_:
        weight = sum(weights[i] for i in open_) or float(len(open_))
        shares = {i: remaining * ((weights[i] if weight else 1.0) / weight) for i in open_}
        floors = {i: min(int(math.floor(shares[i] + 1e-9)), caps[i] - parts[i]) for i in open_}
        for i, floor in floors.items():
            parts[i] += floor
        left = remaining - sum(floors.values())
        by_remainder = sorted(open_, key=lambda i: (-(shares[i] - math.floor(shares[i] + 1e-9)), i))
        for i in by_remainder:
            if left == 0:
                break
            if parts[i] < caps[i]:
                parts[i] += 1
                left -= 1
        remaining = left
        open_ = [i for i in open_ if parts[i] < caps[i]]
    return parts


def apportion_at_least_one(total: int, weights: Sequence[float]) -> list[int]:
    """Like :func:`apportion`, but every part gets at least 1 when ``total`` allows it."""
    if total < len(weights):
        return apportion(total, weights)
    rest = apportion(total - len(weights), weights)
    return [part + 1 for part in rest]


def _weyl_pick(k: int, step: float, cumulative: Sequence[float]) -> int:
    """Index of the interval of ``cumulative`` (ending at 1.0) that point ``k`` of a Weyl sequence falls in."""
    x = (k * step) % 1.0
    index = bisect.bisect_right(cumulative, x)
    return min(index, len(cumulative) - 1)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("weights must not all be 0")
    running = 0.0
    out = []
    for weight in weights:
        running += weight
        out.append(running / total)
    out[-1] = 1.0
    return out


# -- the schedule of one scenario ----------------------------------------------------------------


def _ramp(start: float, stages: Sequence[Any], t: float) -> float:
    """The value of a k6 ramp (from ``start``, linear through ``stages``) at ``t`` seconds into it."""
    value = start
    elapsed = 0.0
    for stage in stages:
        if t < elapsed + stage.duration:
            fraction = (t - elapsed) / stage.duration
            return value + (stage.target - value) * fraction
        elapsed += stage.duration
        value = float(stage.target)
    return value


@dataclass(frozen=True)
class _Segment:
    start_s: float
    duration_s: float
    rate0: float
    """Arrivals per second at the segment's start."""
    rate1: float
    count0: float
    """Arrivals due before the segment (the integral of the rate)."""

    @property
    def count1(self) -> float:
        return self.count0 + (self.rate0 + self.rate1) / 2.0 * self.duration_s

    def time_of(self, count: float) -> float:
        """Seconds from the scenario's start at which the integral reaches ``count`` (inside the segment)."""
        need = count - self.count0
        if need <= 0:
            return self.start_s
        slope = (self.rate1 - self.rate0) / self.duration_s
        if abs(slope) < 1e-12:
            return self.start_s + need / self.rate0
        # rate0*τ + slope/2*τ² = need
        disc = self.rate0 * self.rate0 + 2.0 * slope * need
        tau = (-self.rate0 + math.sqrt(max(disc, 0.0))) / slope
        return self.start_s + min(max(tau, 0.0), self.duration_s)


class ScenarioSchedule:
    """One scenario's executor on the run's time axis (times from the start of the run)."""

    def __init__(self, name: str, scenario: Any, mix: Mapping[str, int]) -> None:
        self.name = name
        self.executor: str = scenario.executor
        self.start_s = float(scenario.startTime)
        self.end_s = float(scenario.end_s)
        """When the scenario starts no new iteration (for iteration executors: its maxDuration)."""
        self.graceful_stop_s = float(scenario.gracefulStop)
        self.classes: list[str] = list(mix)
        self.weights: list[int] = [mix[c] for c in self.classes]
        self.pool_size = scenario.pool_size
        self.pool: dict[str, int] = dict(zip(self.classes, apportion_at_least_one(self.pool_size, self.weights),
                                            strict=True))
        """Users of each class in the pool (the run starts them all)."""
        self.preallocated = int(scenario.preAllocatedVUs or 0) if self.executor in ARRIVAL_EXECUTORS else self.pool_size
        self.iterations = int(scenario.value("iterations")) if self.executor in ITERATION_EXECUTORS else None
        self._vus_start = float(scenario.value("startVUs")) if self.executor == "ramping-vus" else None
        self._stages = list(scenario.stages or ())
        self._vus = int(scenario.value("vus")) if self.executor == "constant-vus" else None
        self._segments: list[_Segment] = []
        if self.executor in ARRIVAL_EXECUTORS:
            unit = float(scenario.value("timeUnit"))
            if self.executor == "constant-arrival-rate":
                rate = float(scenario.rate) / unit
                points = [(0.0, rate), (self.end_s - self.start_s, rate)]
            else:
                points = [(0.0, float(scenario.value("startRate")) / unit)]
                for stage in self._stages:
                    points.append((points[-1][0] + stage.duration, float(stage.target) / unit))
            count = 0.0
            for (t0, r0), (t1, r1) in zip(points, points[1:], strict=False):
                if t1 <= t0:
                    continue
                segment = _Segment(t0, t1 - t0, r0, r1, count)
                self._segments.append(segment)
                count = segment.count1
            self._integral = count
        else:
            self._integral = 0.0
        self._segment_ends = [segment.count1 for segment in self._segments]
        self._class_cumulative = _cumulative(self.weights)

    @property
    def kind(self) -> str:
        if self.executor in VU_EXECUTORS:
            return "vus"
        if self.executor in ITERATION_EXECUTORS:
            return "iterations"
        return "arrivals"

    @property
    def stop_by_s(self) -> float:
        """When the iterations still running must have ended (gracefulStop after the end)."""
        return self.end_s + self.graceful_stop_s

    # -- VU executors ------------------------------------------------------------------------

    def vu_target(self, t: float) -> int:
        """Users that may run at ``t`` (0 before the start time and after the end)."""
        if self.kind == "iterations":
            return self.pool_size if self.start_s <= t < self.end_s else 0
        if self.kind != "vus" or not (self.start_s <= t < self.end_s):
            return 0
        if self._vus is not None:
            return self._vus
        return int(math.floor(_ramp(self._vus_start or 0.0, self._stages, t - self.start_s) + 0.5))

    def class_targets(self, total: int) -> dict[str, int]:
        """``total`` running users split over the classes (by weight, within each class's pool)."""
        caps = [self.pool[c] for c in self.classes]
        return dict(zip(self.classes, apportion(total, self.weights, caps), strict=True))

    # -- iteration executors -----------------------------------------------------------------

    def class_iterations(self) -> dict[str, int]:
        """shared-iterations: the iterations each class's users share (they add up to ``iterations``)."""
        return dict(zip(self.classes, apportion(self.iterations or 0, self.weights), strict=True))

    # -- arrival-rate executors --------------------------------------------------------------

    @property
    def total_arrivals(self) -> int:
        """Iterations the schedule starts in all (arrival k for every k with a time before the end)."""
        if not self._segments or self._integral <= 0:
            return 0
        return int(math.ceil(self._integral - 1e-9))

    def arrival_time(self, k: int) -> float | None:
        """When arrival ``k`` (0-based) is due, from the start of the run; None past the last."""
        if k < 0 or k >= self.total_arrivals:
            return None
        index = bisect.bisect_right(self._segment_ends, k)
        segment = self._segments[min(index, len(self._segments) - 1)]
        return self.start_s + segment.time_of(float(k))

    def arrivals_due(self, t: float) -> int:
        """How many arrivals are due at or before ``t``."""
        if t < self.start_s or not self._segments:
            return 0
        local = t - self.start_s
        for segment in self._segments:
            if local < segment.start_s + segment.duration_s:
                tau = local - segment.start_s
                count = segment.count0 + segment.rate0 * tau + (segment.rate1 - segment.rate0) / (
                    2.0 * segment.duration_s) * tau * tau
                return min(int(math.floor(count + 1e-9)) + 1, self.total_arrivals)
        return self.total_arrivals

    def arrival_class(self, k: int) -> str:
        """The user class arrival ``k`` is for (in the proportions of the mix)."""
        if len(self.classes) == 1:
            return self.classes[0]
        return self.classes[_weyl_pick(k, _CLASS_STEP, self._class_cumulative)]


def arrival_worker(k: int, pools: Sequence[int]) -> int:
    """The process (index into ``pools``, the users of the arrival's class on each) arrival ``k`` goes to."""
    if len(pools) == 1:
        return 0
    return _weyl_pick(k, _WORKER_STEP, _cumulative(pools))


def schedules(profile: Any) -> dict[str, ScenarioSchedule]:
    """Every scenario of ``profile`` (already time-scaled) as a schedule, by name."""
    return {name: ScenarioSchedule(name, scenario, profile.scenario_mix(name))
            for name, scenario in (profile.scenarios or {}).items()}
