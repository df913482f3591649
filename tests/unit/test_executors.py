"""k6 executors as schedules (core/executors.py): the splits are exact, the schedules are k6's."""

from __future__ import annotations

from collections import Counter

import pytest

from bss_loadtest.core.executors import (
    ScenarioSchedule,
    apportion,
    apportion_at_least_one,
    arrival_worker,
    schedules,
)
from bss_loadtest.core.profiles import Profile, Scenario


def scenario(**fields) -> Scenario:
    return Scenario.model_validate(fields)


def schedule(mix=None, **fields) -> ScenarioSchedule:
    return ScenarioSchedule("s", scenario(**fields), mix or {"CustomerUser": 1})


@pytest.mark.parametrize(("total", "weights", "caps", "expected"), [
    (10, [1, 1, 1], None, [4, 3, 3]),
    (7, [3, 1], None, [5, 2]),
    (10, [99, 1], [9, 1], [9, 1]),      # what a capped part cannot take goes to the others
    (5, [1, 1], [1, 10], [1, 4]),
    (3, [1, 0, 1], None, [2, 0, 1]),    # a zero weight takes nothing while others can
    (4, [1, 1], [1, 1], [1, 1]),        # the caps cannot hold it: every part at its cap
    (0, [2, 3], None, [0, 0]),
])
def test_apportion_is_exact_and_respects_caps(total, weights, caps, expected):
    assert apportion(total, weights, caps) == expected


def test_apportion_adds_up_for_many_splits():
    for total in range(0, 200, 7):
        for weights in ([1], [3, 1], [5, 3, 2], [1, 1, 1, 1, 1, 1, 1], [100, 1, 1]):
            parts = apportion(total, weights)
            assert sum(parts) == total
            # within one of the exact share
            assert all(abs(p - total * w / sum(weights)) < 1 for p, w in zip(parts, weights, strict=True))


def test_every_class_gets_a_user_when_the_pool_allows():
    assert apportion_at_least_one(10, [99, 1]) == [9, 1]
    assert apportion_at_least_one(1, [1, 1]) == [1, 0]


def test_constant_arrival_rate_starts_k6_s_arrivals():
    s = schedule(executor="constant-arrival-rate", rate=30, timeUnit="1m", duration="10s", preAllocatedVUs=2)
    # 30 per minute = one every 2 s, the first at 0: 0, 2, 4, 6, 8
    assert s.total_arrivals == 5
    assert [s.arrival_time(k) for k in range(5)] == pytest.approx([0, 2, 4, 6, 8])
    assert s.arrival_time(5) is None
    assert [s.arrivals_due(t) for t in (0, 1.9, 2, 9.9, 100)] == [1, 1, 2, 5, 5]


def test_ramping_arrival_rate_integrates_the_rate():
    s = schedule(executor="ramping-arrival-rate", startRate=0, timeUnit="1s", preAllocatedVUs=1,
                 stages=[{"duration": "10s", "target": 10}, {"duration": "10s", "target": 10},
                         {"duration": "10s", "target": 0}], startTime="5s")
    # ∫ rate: 50 on the ramp up, 100 on the hold, 50 on the ramp down
    assert s.total_arrivals == 200
    times = [s.arrival_time(k) for k in range(s.total_arrivals)]
    assert times == sorted(times)
    assert times[0] == pytest.approx(5.0)             # the start time shifts the schedule
    assert times[50] == pytest.approx(15.0)           # the ramp's 50 arrivals, then the hold
    assert times[100] == pytest.approx(20.0)          # 10/s on the hold
    assert s.arrival_time(8) == pytest.approx(5 + (2 * 8) ** 0.5)   # t²/2 = 8 on the ramp (rate = t)
    assert all(s.arrivals_due(t) == k + 1 for k, t in enumerate(times) if k + 1 < len(times) and times[k + 1] > t)


def test_vu_targets_follow_k6_ramps():
    s = schedule(executor="ramping-vus", startVUs=2, stages=[{"duration": "10s", "target": 12},
                                                            {"duration": "5s", "target": 12},
                                                            {"duration": "10s", "target": 0}])
    assert [s.vu_target(t) for t in (0, 5, 10, 14, 20, 24.9, 25)] == [2, 7, 12, 12, 6, 0, 0]
    assert s.pool_size == 12
    steady = schedule(executor="constant-vus", vus=3, duration="4s", startTime="2s")
    assert [steady.vu_target(t) for t in (0, 1.9, 2, 5.9, 6)] == [0, 0, 3, 3, 0]


def test_a_mix_splits_pools_targets_and_iterations_exactly():
    s = schedule({"A": 3, "B": 1}, executor="shared-iterations", vus=5, iterations=1001)
    assert s.pool == {"A": 3, "B": 2}
    assert sum(s.class_iterations().values()) == 1001
    ramp = schedule({"A": 3, "B": 1}, executor="ramping-vus", startVUs=0, stages=[{"duration": "1s", "target": 8}])
    for total in range(9):
        targets = ramp.class_targets(total)
        assert sum(targets.values()) == total
        assert all(targets[c] <= ramp.pool[c] for c in targets)


def test_arrivals_split_over_classes_and_processes_exactly():
    s = schedule({"A": 3, "B": 1}, executor="constant-arrival-rate", rate=100, duration="40s", preAllocatedVUs=8)
    classes = Counter(s.arrival_class(k) for k in range(s.total_arrivals))
    assert sum(classes.values()) == 4000
    assert classes["A"] == pytest.approx(3000, abs=3)
    pools = [3, 1, 2]
    owners = Counter(arrival_worker(k, pools) for k in range(6000))
    assert sum(owners.values()) == 6000                       # each arrival has exactly one owner
    assert [owners[i] for i in range(3)] == pytest.approx([3000, 1000, 2000], abs=3)
    assert Counter(arrival_worker(k, [0, 5]) for k in range(100)) == {1: 100}


def test_iteration_executors_span_their_max_duration():
    s = schedule(executor="per-vu-iterations", vus=4, iterations=3, maxDuration="1m", gracefulStop="5s")
    assert (s.kind, s.pool_size, s.iterations, s.end_s, s.stop_by_s) == ("iterations", 4, 3, 60.0, 65.0)
    assert s.vu_target(10) == 4 and s.vu_target(60) == 0


def test_a_profile_of_scenarios_scales_times_but_not_rates():
    profile = Profile.model_validate({
        "description": "x", "users": {"A": 1},
        "scenarios": {
            "browse": {"executor": "constant-arrival-rate", "rate": 10, "duration": "1m", "preAllocatedVUs": 5,
                       "startTime": "30s"},
            "volume": {"executor": "shared-iterations", "vus": 2, "iterations": 50, "maxDuration": "10m"},
        }})
    assert profile.total_duration_s == 600 and profile.peak_users == 7
    scaled = profile.scaled(0.1)
    browse = schedules(scaled)["browse"]
    assert (browse.start_s, browse.end_s) == pytest.approx((3.0, 9.0))
    assert browse.total_arrivals == 60                         # 10/s for 6 s: the rate is kept
    assert schedules(scaled)["volume"].iterations == 50
    assert scaled.hash == profile.hash
