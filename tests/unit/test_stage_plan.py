"""The shape: target_at(t) by the numbers, no stage skipped, spawn rates that keep up. No sleeps."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from bss_loadtest.core import plan as stage_plan
from bss_loadtest.core.plan import StagePlan
from bss_loadtest.core.profiles import Profile, Stage, load_profile

REPO_PROFILES = Path(__file__).resolve().parents[2] / "profiles"
SHIPPED = ["smoke", "load", "stress", "spike", "soak"]


def plan_for(name: str, time_scale: float = 1.0) -> StagePlan:
    return StagePlan(load_profile(name, profiles_dir=REPO_PROFILES).scaled(time_scale))


def stages(*specs: tuple) -> list[Stage]:
    return [Stage(duration=d, target=t, spawn_rate=r) for d, t, r in (s if len(s) == 3 else (*s, None) for s in specs)]


# -- target_at ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (-1.0, (0, 1.0)),
        (0.0, (0, 1.0)),
        (5.9, (0, 1.0)),  # 0.49 users rounds down
        (6.0, (1, 1.0)),  # 0.5 rounds up (not to even)
        (60.0, (5, 1.0)),
        (119.9, (10, 1.0)),
        (120.0, (10, 1.0)),  # hold at 10
        (419.9, (10, 1.0)),
        (420.0, (10, 1.0)),  # ramp 10 -> 20 starts
        (480.0, (15, 1.0)),
        (540.0, (20, 1.0)),  # hold at 20
        (840.0, (20, 1.0)),  # ramp down starts
        (900.0, (10, 1.0)),
        (959.0, (0, 1.0)),
        (960.0, None),  # after the last stage: the run ends
        (10_000.0, None),
    ],
)
def test_target_at_load_full_scale(t: float, expected: tuple | None) -> None:
    assert plan_for("load").target_at(t) == expected


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (0.0, (0, 6.0)),  # slope 10/2.4 s = 4.17 users/s, with headroom -> 6/s
        (1.2, (5, 6.0)),
        (2.39, (10, 6.0)),
        (2.4, (10, 6.0)),  # hold: keeps the previous ramp's rate, to catch up its last tick
        (8.39, (10, 6.0)),
        (9.6, (15, 6.0)),
        (10.8, (20, 6.0)),
        (16.8, (20, 11.0)),  # ramp down 20 -> 0 in 2.4 s: 8.3 users/s, with headroom -> 11/s
        (18.0, (10, 11.0)),
        (19.19, (0, 11.0)),
        (19.2, None),
    ],
)
def test_target_at_load_time_scale_0_02(t: float, expected: tuple | None) -> None:
    assert plan_for("load", 0.02).target_at(t) == expected


def test_explicit_spawn_rate_asks_for_the_target_at_that_rate() -> None:
    plan = StagePlan(stages((10, 50, 10.0), (20, 50), (5, 0, 20.0)))
    assert plan.target_at(0) == (50, 10.0)
    assert plan.target_at(9.9) == (50, 10.0)
    assert plan.target_at(26) == (50, 13.0)  # the hold keeps the previous rate (10/s, with headroom)
    assert plan.target_at(31) == (0, 20.0)
    assert plan.target_at(34.9) == (0, 20.0)
    assert plan.target_at(35) is None
    assert plan_for("smoke").target_at(0) == (1, 1.0)  # the smoke user starts at once


def test_stage_at_and_timeline() -> None:
    plan = plan_for("load")
    assert [plan.stage_at(t) for t in (0, 119.99, 120, 420, 540, 840, 959.9, 960)] == [0, 0, 1, 2, 3, 4, 4, None]
    assert plan.total_duration_s == 960
    assert plan.stages_timeline() == [
        {"start_s": 0.0, "end_s": 120.0, "target": 10, "spawn_rate": 1.0},
        {"start_s": 120.0, "end_s": 420.0, "target": 10, "spawn_rate": 1.0},
        {"start_s": 420.0, "end_s": 540.0, "target": 20, "spawn_rate": 1.0},
        {"start_s": 540.0, "end_s": 840.0, "target": 20, "spawn_rate": 1.0},
        {"start_s": 840.0, "end_s": 960.0, "target": 0, "spawn_rate": 1.0},
    ]
    scaled = plan_for("stress", 0.02).stages_timeline()
    assert scaled[-1]["end_s"] == pytest.approx(13 * 60 * 0.02)
    assert all(stage["spawn_rate"] > 0 for stage in scaled)


def test_spawn_rate_is_never_zero() -> None:
    plan = StagePlan(stages((3600, 1), (3600, 1), (3600, 0)))
    assert all(plan.target_at(t)[1] >= 1 for t in range(0, 3 * 3600, 97))


def test_a_plan_needs_stages() -> None:
    with pytest.raises(ValueError, match="at least one stage"):
        StagePlan([])


# -- ticking like Locust -------------------------------------------------------------------------


def simulate(plan: StagePlan, tick_s: float = stage_plan.TICK_S, limit: int = 100_000) -> list[dict]:
    """Tick like Locust's shape worker: ask the plan, then ``runner.start()`` moves the user count
    to the target at the returned rate, blocking until it is there; the next tick comes after
    ``max(tick_s, time blocked)``. Returns one record per tick (``users`` None: the run ended)."""
    records: list[dict] = []
    t, users = 0.0, 0
    for _ in range(limit):
        answer = plan.advance(t)
        if answer is None:
            records.append({"t": t, "target": None, "users": users, "stage": None, "blocked_s": 0.0})
            return records
        target, rate = answer
        assert rate > 0
        blocked_s = abs(target - users) / rate
        users = target
        records.append({"t": t, "target": target, "users": users, "stage": plan.current_stage, "blocked_s": blocked_s})
        t += max(tick_s, blocked_s)
    raise AssertionError("the plan never ended")


SCALES = [1.0, 0.1, 0.02, 0.005, 0.001]


@pytest.mark.parametrize("time_scale", SCALES)
@pytest.mark.parametrize("name", SHIPPED)
def test_no_stage_is_skipped_and_the_run_ends(name: str, time_scale: float) -> None:
    plan = plan_for(name, time_scale)
    records = simulate(plan)
    visited = {r["stage"] for r in records if r["stage"] is not None}
    assert visited == set(range(len(plan.stages)))
    assert records[-1]["target"] is None
    # it ends within a tick of the last stage, plus one tick per stage it had to catch up on
    assert records[-1]["t"] <= plan.total_duration_s + stage_plan.TICK_S * (len(plan.stages) + 1)
    assert plan.advance(records[-1]["t"] + 1) is None  # and stays ended


def test_stages_shorter_than_a_tick_are_each_served_in_order() -> None:
    plan = StagePlan(stages((0.6, 10), (0.3, 50), (0.3, 5), (0.2, 0)))
    answers = [plan.advance(t) for t in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)]
    assert [a[0] if a else None for a in answers] == [0, 50, 5, 0, None, None]
    # the spike to 50 lasts 0.3 s but is asked for, at a rate that gets there within the tick
    assert answers[1][1] >= 40


def test_advance_starts_over_when_time_goes_back() -> None:
    plan = plan_for("load", 0.02)
    simulate(plan)
    assert plan.advance(0.0) == (0, 6.0)  # a new run with the same plan
    assert plan.current_stage == 0


@pytest.mark.parametrize("tick_s", [1.0, 1.1])  # Locust's ticks drift a little past one second
@pytest.mark.parametrize("time_scale", [1.0, 0.1, 0.02])
@pytest.mark.parametrize("name", SHIPPED)
def test_spawn_rate_keeps_up(name: str, time_scale: float, tick_s: float) -> None:
    plan = plan_for(name, time_scale)
    records = simulate(plan, tick_s=tick_s)
    # start() never blocks past the tick, so ticks stay on time and no stage is starved
    assert max(r["blocked_s"] for r in records) <= tick_s + 1e-9
    ticks = [r for r in records if r["target"] is not None]
    for stage in plan.stages:
        near_end = [r for r in ticks if abs(r["t"] - stage.end_s) <= tick_s + 1e-9]
        if stage.index == len(plan.stages) - 1:
            # the run ends within a tick of the last stage's end; its last asked count is within one
            # tick of movement from the stage target
            last = ticks[-1]
            step = math.ceil(abs(stage.target - stage.start_users) / stage.duration_s * tick_s) + 1
            assert abs(last["users"] - stage.target) <= step, (stage, last)
        else:
            assert any(r["users"] == stage.target for r in near_end), (stage, near_end)


def test_importing_the_plan_does_not_import_locust() -> None:
    code = "import sys; from bss_loadtest.core.plan import StagePlan; print('locust' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


def test_plan_accepts_a_profile_object() -> None:
    profile = Profile(description="x", stages=[{"duration": "10s", "target": 3}], users={"A": 1})
    assert StagePlan(profile).target_at(5) == StagePlan(profile.stages).target_at(5) == (2, 1.0)
