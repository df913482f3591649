"""The scenario engine in-process: start times, ramps, arrivals on time, drops, and the split of
one scenario over two processes (two engines sharing one gevent loop and one table)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import gevent
import pytest

from bss_loadtest.core.executors import schedules
from bss_loadtest.core.profiles import Profile
from bss_loadtest.core.stats import RunStats
from bss_loadtest.run.scenarios import ScenarioEngine, lane_class_name, table_from_counts

pytestmark = pytest.mark.timeout(60)


def lanes_of(profile: Profile) -> list[type]:
    classes = []
    for name, schedule in schedules(profile).items():
        for class_name, pool in schedule.pool.items():
            classes.append(type(lane_class_name(class_name, name), (), {
                "fixed_count": pool, "scenario_name": name, "user_class_name": class_name}))
    return classes


def profile(**scenario) -> Profile:
    return Profile.model_validate({"description": "x", "users": {"A": 1}, "scenarios": {"s": scenario}})


def engine_for(prof: Profile, process: str = "local", counts: dict | None = None, t0: float | None = None):
    classes = lanes_of(prof)
    suite = SimpleNamespace(run=SimpleNamespace(stats=RunStats()))
    engine = ScenarioEngine(suite, schedules(prof), classes)
    users = [cls() for cls in classes for _ in range(cls.fixed_count)]
    counts = counts or {process: {cls.__name__: cls.fixed_count for cls in classes}}
    return engine, users, counts, classes, t0


def run_users(engine: ScenarioEngine, users: list, work_s: float, log: list) -> list:
    def loop(user: object) -> None:
        while engine.begin(user):
            started = engine.elapsed()
            log.append(("start", started, user))
            gevent.sleep(work_s)
            engine.end(user, work_s * 1000, interrupted=False)
            log.append(("end", engine.elapsed(), user))

    return [gevent.spawn(loop, user) for user in users]


def finish(engine: ScenarioEngine, greenlets: list, bound_s: float) -> None:
    deadline = time.time() + bound_s
    while not engine.finished() and time.time() < deadline:
        gevent.sleep(0.05)
    assert engine.finished(), engine.report()
    engine.stop()
    gevent.killall(greenlets)


def test_a_start_time_holds_every_iteration_back():
    prof = profile(executor="constant-vus", vus=2, duration="0.6s", startTime="0.5s", gracefulStop="1s")
    engine, users, counts, _, _ = engine_for(prof)
    engine.start(time.time(), table_from_counts(counts))
    log: list = []
    greenlets = run_users(engine, users, 0.05, log)
    finish(engine, greenlets, 5)
    starts = [t for kind, t, _ in log if kind == "start"]
    assert starts and min(starts) >= 0.5 - 0.01
    assert max(starts) < 1.1 + 0.02


def test_a_ramp_never_runs_more_users_than_its_target():
    prof = profile(executor="ramping-vus", startVUs=0, stages=[{"duration": "1s", "target": 4},
                                                               {"duration": "1s", "target": 0}],
                   gracefulRampDown="0s", gracefulStop="1s")
    engine, users, counts, _, _ = engine_for(prof)
    engine.start(time.time(), table_from_counts(counts))
    log: list = []
    greenlets = run_users(engine, users, 0.05, log)
    finish(engine, greenlets, 6)
    schedule = engine.schedules["s"]
    busy: set = set()
    peak = 0
    for kind, t, user in sorted(log, key=lambda row: (row[1], row[0] != "end")):
        if kind == "start":
            busy.add(id(user))
            # a user starts only within the target (one tick of the targets late at most)
            assert len(busy) <= max(schedule.vu_target(t), schedule.vu_target(max(t - 0.15, 0))), (t, len(busy))
            peak = max(peak, len(busy))
        else:
            busy.discard(id(user))
    assert peak == 4


def test_arrivals_start_on_schedule_and_the_rest_are_dropped():
    prof = profile(executor="constant-arrival-rate", rate=20, duration="1s", preAllocatedVUs=1, maxVUs=2,
                   gracefulStop="1s")
    engine, users, counts, _, _ = engine_for(prof)
    engine.start(time.time(), table_from_counts(counts))
    log: list = []
    greenlets = run_users(engine, users, 0.25, log)  # each iteration outlasts five arrivals
    finish(engine, greenlets, 5)
    schedule = engine.schedules["s"]
    starts = sorted(t for kind, t, _ in log if kind == "start")
    lane = next(iter(engine.lanes.values()))
    assert schedule.total_arrivals == 20
    assert lane.started + lane.dropped == 20
    assert lane.dropped >= 10 and engine.suite.run.stats.dropped == lane.dropped
    due = [schedule.arrival_time(k) for k in range(20)]
    for t in starts:  # every start is an arrival's, on time: never a queued one started late
        assert min(abs(t - d) for d in due) < 0.05, t
    assert max(lane.used.__len__(), lane.preallocated) == 2


def test_two_processes_split_one_schedule_exactly():
    prof = Profile.model_validate({"description": "x", "users": {"A": 3, "B": 1}, "scenarios": {
        "s": {"executor": "constant-arrival-rate", "rate": 200, "duration": "1s", "preAllocatedVUs": 8,
              "gracefulStop": "1s"},
        "v": {"executor": "shared-iterations", "vus": 4, "iterations": 37, "users": {"A": 1, "B": 1}}}})
    classes = lanes_of(prof)
    # the users of each lane as Locust's dispatcher might place them: unevenly
    counts = {"w1": {}, "w2": {}}
    for cls in classes:
        first = cls.fixed_count // 3
        counts["w1"][cls.__name__] = first
        counts["w2"][cls.__name__] = cls.fixed_count - first
    t0 = time.time()
    engines, greenlets, logs = [], [], []
    for process in ("w1", "w2"):
        suite = SimpleNamespace(run=SimpleNamespace(stats=RunStats()))
        engine = ScenarioEngine(suite, schedules(prof), classes)
        users = [cls() for cls in classes for _ in range(counts[process][cls.__name__])]
        engine.start(t0, table_from_counts(counts), process)
        log: list = []
        greenlets += run_users(engine, users, 0.01, log)
        engines.append(engine)
        logs.append(log)
    def done() -> bool:  # what the master would see in the workers' reports
        reports = [e.report() for e in engines]
        arrivals_over = time.time() > t0 + 1.2 and not any(
            lane["engaged"] for report in reports for lane in report.values())
        shared = sum(lane["completed"] for report in reports for lane in report.values() if lane["scenario"] == "v")
        return arrivals_over and shared >= 37

    deadline = time.time() + 6
    while not done() and time.time() < deadline:
        gevent.sleep(0.05)
    for engine in engines:
        engine.stop()
    gevent.killall(greenlets)
    totals = [engine.scenario_totals() for engine in engines]
    arrivals = sum(t["s"]["started"] + t["s"]["dropped"] for t in totals)
    assert arrivals == 200                       # each arrival on exactly one process
    assert all(t["s"]["started"] > 0 for t in totals)
    assert sum(t["v"]["completed"] for t in totals) == 37
