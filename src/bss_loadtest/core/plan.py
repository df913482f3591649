"""A profile's stages on the time axis: what the shape asks Locust for at elapsed time t.

:class:`StagePlan` is pure (no locust, no clock): ``target_at(t)`` answers "how many users, at
what rate, at elapsed time t" with k6 semantics, and ``advance(t)`` does the same for a sequence
of ticks while guaranteeing that no stage is ever skipped.

Why the spawn rates look the way they do: Locust's shape worker ticks about once a second, and
its ``runner.start()`` blocks until the requested count is reached. If one tick asks for more
users than the spawn rate can start in a second, the next ticks come late and stages are skipped
(a known Locust pitfall). So a linear stage's rate is at least the user change between two ticks,
with some headroom, and never below ``MIN_SPAWN_RATE``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

TICK_S = 1.0
"""Seconds between two ticks of Locust's shape worker."""

SPAWN_RATE_HEADROOM = 1.25
"""Linear stages spawn this much faster than their slope: ticks drift a little past TICK_S."""

MIN_SPAWN_RATE = 1.0
"""The slowest spawn rate a linear stage uses (users per second); never 0."""


class _StageLike(Protocol):
    duration: float
    target: int
    spawn_rate: float | None


@dataclass(frozen=True)
class PlannedStage:
    """One stage placed on the run's time axis."""

    index: int
    start_s: float
    end_s: float
    start_users: int
    """Users at the start of the stage (the previous stage's target, 0 for the first)."""
    target: int
    explicit_rate: float | None
    """The profile's ``spawn_rate``, or None for a linear (k6) stage."""
    rate: float
    """The spawn rate the shape returns during this stage (users/s, > 0)."""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def users_at(self, t: float) -> int:
        """Users at elapsed time ``t`` inside this stage."""
        if self.explicit_rate is not None:
            return self.target
        fraction = min(max((t - self.start_s) / self.duration_s, 0.0), 1.0)
        # floor(x + 0.5), not round(): banker's rounding would make the per-tick steps uneven.
        return math.floor(self.start_users + (self.target - self.start_users) * fraction + 0.5)


def _per_tick_rate(stage: _StageLike, start_users: int) -> float:
    """Users per second this stage moves between two ticks (a stage shorter than a tick moves
    its whole change in one tick, not faster)."""
    if stage.spawn_rate is not None:
        return float(stage.spawn_rate)
    change = abs(stage.target - start_users)
    return min(change / stage.duration, change / TICK_S)


class StagePlan:
    """A (time-scaled) profile's stages, answering what the shape should ask Locust for at time t.

    Built from a :class:`~bss_loadtest.core.profiles.Profile` (or any sequence of stages with
    ``duration`` in seconds, ``target`` and ``spawn_rate``). ``target_at`` is a pure function of
    ``t``; ``advance`` is what a ticking shape calls (it remembers which stages were served).
    """

    def __init__(self, profile_or_stages: Any) -> None:
        stages: Sequence[_StageLike] = getattr(profile_or_stages, "stages", profile_or_stages)
        if not stages:
            raise ValueError("a stage plan needs at least one stage")
        planned: list[PlannedStage] = []
        start_s = 0.0
        start_users = 0
        previous_slope = 0.0
        for index, stage in enumerate(stages):
            if stage.duration <= 0:
                raise ValueError(f"stage {index} has a duration of {stage.duration} s; it must be > 0")
            slope = _per_tick_rate(stage, start_users)
            if stage.spawn_rate is not None:
                rate = float(stage.spawn_rate)
            else:
                # Keep up with this stage's slope, and also catch up with whatever the previous
                # stage's last tick left undone (a hold after a steep ramp must not crawl at 1/s).
                rate = max(
                    math.ceil(slope * SPAWN_RATE_HEADROOM),
                    math.ceil(previous_slope * SPAWN_RATE_HEADROOM),
                    MIN_SPAWN_RATE,
                )
            end_s = start_s + stage.duration
            planned.append(
                PlannedStage(
                    index=index,
                    start_s=start_s,
                    end_s=end_s,
                    start_users=start_users,
                    target=stage.target,
                    explicit_rate=stage.spawn_rate,
                    rate=float(rate),
                )
            )
            start_s, start_users, previous_slope = end_s, stage.target, slope
        self.stages: tuple[PlannedStage, ...] = tuple(planned)
        self._ends = [stage.end_s for stage in planned]
        self._served = -1
        self._last_t = -math.inf
        self.current_stage: int | None = None
        """Index of the stage the last ``advance()`` served (None before the first, and at the end)."""

    @property
    def total_duration_s(self) -> float:
        return self._ends[-1]

    def stage_at(self, t: float) -> int | None:
        """Index of the stage running at elapsed time ``t`` (stages are [start, end)); None after the last."""
        index = bisect.bisect_right(self._ends, max(t, 0.0))
        return index if index < len(self.stages) else None

    def target_at(self, t: float) -> tuple[int, float] | None:
        """``(users, spawn_rate)`` at elapsed time ``t`` seconds, or None once the last stage has ended.

        Linear stages interpolate from the previous target (rounded to whole users); a stage with
        an explicit ``spawn_rate`` asks for its target at that rate from its first moment.
        """
        index = self.stage_at(t)
        if index is None:
            return None
        stage = self.stages[index]
        return stage.users_at(t), stage.rate

    def advance(self, t: float) -> tuple[int, float] | None:
        """What a tick at elapsed time ``t`` should ask for, never skipping a stage.

        Like :meth:`target_at`, except that when ticks jumped over whole stages since the last
        call (a stage shorter than a tick, or a late tick), the first stage not yet served gets
        this tick: its target at its rate. After the last stage every stage has been served once,
        then None. A ``t`` smaller than the previous one means a new run: the plan starts over.
        """
        if t < self._last_t:
            self.reset()
        self._last_t = t
        index = self.stage_at(t)
        position = len(self.stages) if index is None else index
        if position > self._served + 1:
            self._served += 1
            stage = self.stages[self._served]
            self.current_stage = stage.index
            return stage.target, stage.rate
        if index is None:
            self._served = len(self.stages)
            self.current_stage = None
            return None
        self._served = max(self._served, index)
        self.current_stage = index
        return self.target_at(t)

    def reset(self) -> None:
        """Forget which stages ``advance()`` served (a new run with the same plan)."""
        self._served = -1
        self._last_t = -math.inf
        self.current_stage = None

    def stages_timeline(self) -> list[dict[str, float | int]]:
        """The stages on the time axis, for ``summary.json`` and the report's plots."""
        return [
            {
                "start_s": round(stage.start_s, 6),
                "end_s": round(stage.end_s, 6),
                "target": stage.target,
                "spawn_rate": stage.rate,
            }
            for stage in self.stages
        ]
