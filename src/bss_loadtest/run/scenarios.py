"""k6 scenarios on Locust: one pool of users per scenario and user class, paced by its executor.

A profile with ``scenarios`` runs every scenario's pool from the start of the run (Locust's
``fixed_count`` users of a subclass per scenario and class, named ``CustomerUser@browse``), and
the :class:`ScenarioEngine` of each process decides when each of its users may start an
iteration (:mod:`bss_loadtest.core.executors` holds the schedules). A user asks its
:class:`Lane` (its scenario and class on this process) before every iteration:

- VU executors: the first ``target`` users of the lane run, the others wait;
- iteration executors: per user, or from the lane's share of the shared count;
- arrival-rate executors: the engine's scheduler hands each due arrival to an idle user of the
  lane (the most recently idle one first, so that the users in use grow only when they must:
  ``vus_max``); when none is idle, the arrival is dropped and counted.

Distributed: the master starts the clock once every worker has spawned its users and sends the
workers the table of the users each holds (:data:`SHARE_MESSAGE`); every process computes the
same exact split of targets, shared iterations and arrivals from it. Each process reports its
lanes' progress in its worker reports; the run ends when every scenario has ended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event

from bss_loadtest.core.executors import ScenarioSchedule, apportion, arrival_worker
from bss_loadtest.core.stats import LOCAL_SOURCE

logger = logging.getLogger(__name__)

SHARE_MESSAGE = "bss_scenario_shares"
"""Master → workers: the clock's start (epoch seconds) and the users of each scenario lane on each worker."""
REPORT_KEY = "bss_scenarios"
"""The key of a worker report holding its lanes' progress."""
TARGET_TICK_S = 0.1
"""How often the VU targets are recomputed (a ramp moves at most this far behind)."""
GAUGE_TICK_S = 1.0
"""How often the process's vus / vus_max go to the run's statistics."""
START_DELAY_S = 1.0
"""The clock starts this long after the pools are spawned: time for each user's on_start (its
own test data) and, distributed, for the split to reach every worker, so that no arrival is
dropped only because the run had just begun (k6 starts its clock once its VUs are initialised)."""
MAX_SPAWN_RATE = 1000.0
STALL_ALLOWANCE_S = 30.0
"""How long past its last gracefulStop (and the pools' spawn) a run of scenarios may go before it
is ended anyway (workers that never spawned, reports that never came)."""
"""How fast the pools are started (users per second)."""
_FOREVER_S = 1e9


def lane_class_name(class_name: str, scenario: str) -> str:
    return f"{class_name}@{scenario}"


def scenario_user_classes(schedules: Mapping[str, ScenarioSchedule], by_name: Mapping[str, type]) -> list[type]:
    """The Locust user classes of a scenario profile's ``schedules``: one subclass per scenario and
    class, whose ``fixed_count`` is that lane's pool (every process builds the same ones)."""
    classes = []
    for name, schedule in schedules.items():
        for class_name, pool in schedule.pool.items():
            if pool <= 0:
                continue
            base = by_name[class_name]
            classes.append(type(lane_class_name(class_name, name), (base,), {
                "__module__": base.__module__,
                "fixed_count": pool,
                "weight": 1,
                "scenario_name": name,
                "user_class_name": class_name,
            }))
    return classes


@dataclass
class _Table:
    """Which process holds how many users of each lane, from ``from_s`` on."""

    from_s: float
    processes: list[str]
    pools: dict[str, list[int]]
    """lane class name → users on each process (in the order of ``processes``)."""

    def index(self, process: str) -> int | None:
        return self.processes.index(process) if process in self.processes else None


def table_from_counts(counts: Mapping[str, Mapping[str, int]], from_s: float = 0.0) -> _Table:
    """A table from ``{process id: {lane class name: users}}``."""
    processes = sorted(counts)
    lanes = sorted({lane for per in counts.values() for lane in per})
    return _Table(from_s, processes, {lane: [int(counts[p].get(lane, 0)) for p in processes] for lane in lanes})


@dataclass
class Lane:
    """One scenario's users of one class on this process."""

    engine: ScenarioEngine
    schedule: ScenarioSchedule
    class_name: str
    lane_name: str
    users: list = field(default_factory=list)
    """This process's users of the lane, in the order they first asked (their slot)."""
    changed: gevent.event.Event = field(default_factory=gevent.event.Event)
    target: int = 0
    """VU executors: how many of this lane's users may run now."""
    remaining: int | None = None
    """shared-iterations: iterations this lane's users still share."""
    idle: list = field(default_factory=list)
    """Arrival-rate: (user, AsyncResult) of the users waiting for an arrival, most recent last."""
    used: set = field(default_factory=set)
    preallocated: int = 0
    engaged: int = 0
    started: int = 0
    completed: int = 0
    dropped: int = 0
    interrupted: int = 0
    finished_users: int = 0

    @property
    def scenario(self) -> str:
        return self.schedule.name

    def wake(self) -> None:
        event, self.changed = self.changed, gevent.event.Event()
        event.set()


class ScenarioEngine:
    """The executors of one run on one process (master: the clock, the table and the end), over
    the selected profile's ``schedules`` (by scenario name) and its lanes' user ``classes``."""

    def __init__(self, suite: Any, schedules: Mapping[str, ScenarioSchedule], classes: list[type]) -> None:
        self.suite = suite
        self.schedules = schedules
        self.lanes: dict[str, Lane] = {}
        for cls in classes:
            schedule = self.schedules[cls.scenario_name]
            self.lanes[cls.__name__] = Lane(self, schedule, cls.user_class_name, cls.__name__)
        self.t0: float | None = None
        self.started = gevent.event.Event()
        self.tables: list[_Table] = []
        self.process = LOCAL_SOURCE
        self.greenlets: list = []
        self.reports: dict[str, dict] = {}
        """Master: each worker's latest lane report."""
        self.stopped = False

    # -- the clock and the table -------------------------------------------------------------

    def elapsed(self, now: float | None = None) -> float:
        if self.t0 is None:
            return 0.0
        return (time.time() if now is None else now) - self.t0

    def start(self, t0: float, table: _Table, process: str = LOCAL_SOURCE) -> None:
        """Start this process's part: the VU targets, the shared counts, the arrival schedulers."""
        if self.t0 is not None:
            self.add_table(table)
            return
        self.t0, self.process = t0, process
        self.tables = [table]
        for lane in self.lanes.values():
            schedule = lane.schedule
            pools, me = self._pools(lane, table)
            if me is None:
                continue
            if schedule.executor == "shared-iterations":
                lane.remaining = apportion(schedule.class_iterations()[lane.class_name], pools, None)[me]
            if schedule.kind == "arrivals":
                shares = apportion(schedule.preallocated, schedule.weights, None)
                share = shares[schedule.classes.index(lane.class_name)]
                lane.preallocated = apportion(share, pools, pools)[me]
        self.greenlets.append(gevent.spawn(self._target_loop))
        for schedule in self.schedules.values():
            if schedule.kind == "arrivals":
                self.greenlets.append(gevent.spawn(self._arrival_loop, schedule))
        self.greenlets.append(gevent.spawn(self._gauge_loop))
        self.started.set()
        logger.info("Scenarios started: %s", ", ".join(f"{s.name} ({s.executor})" for s in self.schedules.values()))

    def add_table(self, table: _Table) -> None:
        """A new split (a worker lost or added): arrivals from ``table.from_s`` on follow it."""
        self.tables.append(table)
        self._recompute_targets()

    def _table_at(self, t: float) -> _Table:
        for table in reversed(self.tables):
            if table.from_s <= t:
                return table
        return self.tables[0]

    def _pools(self, lane: Lane, table: _Table) -> tuple[list[int], int | None]:
        return table.pools.get(lane.lane_name, [0] * len(table.processes)), table.index(self.process)

    def stop(self) -> None:
        self.stopped = True
        for greenlet in self.greenlets:
            greenlet.kill(block=False)
        for lane in self.lanes.values():
            for _, waiter in lane.idle:
                waiter.set(False)
            lane.idle.clear()
            lane.wake()

    # -- VU targets --------------------------------------------------------------------------

    def _recompute_targets(self) -> None:
        t = self.elapsed()
        table = self.tables[-1]
        totals = {name: schedule.class_targets(schedule.vu_target(t)) for name, schedule in self.schedules.items()
                  if schedule.kind != "arrivals"}
        for lane in self.lanes.values():
            if lane.scenario not in totals:
                continue
            pools, me = self._pools(lane, table)
            target = 0 if me is None else apportion(totals[lane.scenario][lane.class_name], pools, pools)[me]
            if target != lane.target or lane.schedule.kind == "iterations":
                lane.target = target
                lane.wake()

    def _target_loop(self) -> None:
        while not self.stopped:
            self._recompute_targets()
            gevent.sleep(TARGET_TICK_S)

    # -- arrivals ----------------------------------------------------------------------------

    def _arrival_loop(self, schedule: ScenarioSchedule) -> None:
        lanes = {lane.class_name: lane for lane in self.lanes.values() if lane.scenario == schedule.name}
        k = 0
        assert self.t0 is not None
        while not self.stopped:
            due = schedule.arrival_time(k)
            if due is None:
                break
            table = self._table_at(due)
            class_name = schedule.arrival_class(k)
            lane = lanes.get(class_name)
            pools = table.pools.get(lane_class_name(class_name, schedule.name), [])
            me = table.index(self.process)
            k += 1
            if lane is None or me is None or not any(pools) or arrival_worker(k - 1, pools) != me:
                continue
            wait = self.t0 + due - time.time()
            if wait > 0:
                gevent.sleep(wait)
            if lane.idle:
                user, waiter = lane.idle.pop()
                lane.used.add(id(user))
                waiter.set(True)
            else:
                lane.dropped += 1
                stats = self._stats()
                if stats is not None:
                    stats.record_dropped(schedule.name)

    # -- what a user asks ---------------------------------------------------------------------

    def lane_of(self, user: Any) -> Lane | None:
        return self.lanes.get(type(user).__name__)

    def begin(self, user: Any) -> bool:
        """Block until ``user`` may start an iteration; False once its scenario has no more for it."""
        lane = self.lane_of(user)
        if lane is None:
            return True
        if not self.started.is_set():
            self.started.wait()
        schedule = lane.schedule
        slot = getattr(user, "_bss_slot", None)
        if slot is None:
            slot = user._bss_slot = len(lane.users)
            lane.users.append(user)
            user._bss_iterations = 0
        if schedule.kind == "arrivals":
            if self.stopped or self.elapsed() >= schedule.end_s:
                return False
            waiter = gevent.event.AsyncResult()
            lane.idle.append((user, waiter))
            if not waiter.get():
                return False
        else:
            while True:
                t = self.elapsed()
                if self.stopped or t >= schedule.end_s:
                    return False
                if schedule.kind == "iterations" and schedule.executor == "per-vu-iterations" and \
                        user._bss_iterations >= (schedule.iterations or 0):
                    return False
                if schedule.executor == "shared-iterations" and lane.remaining is not None and lane.remaining <= 0:
                    return False
                if t >= schedule.start_s and slot < lane.target:
                    break
                wait = schedule.start_s - t if t < schedule.start_s else 1.0
                lane.changed.wait(timeout=max(min(wait, 1.0), 0.01))
            if schedule.executor == "shared-iterations" and lane.remaining is not None:
                lane.remaining -= 1
        lane.started += 1
        lane.engaged += 1
        lane.used.add(id(user))
        return True

    def end(self, user: Any, duration_ms: float, interrupted: bool) -> None:
        lane = self.lane_of(user)
        if lane is None:
            return
        lane.engaged -= 1
        user._bss_iterations = getattr(user, "_bss_iterations", 0) + 1
        if interrupted:
            lane.interrupted += 1
            return
        lane.completed += 1
        if lane.schedule.executor == "per-vu-iterations" and user._bss_iterations >= (lane.schedule.iterations or 0):
            lane.finished_users += 1

    def think_time(self, user: Any) -> float | None:
        """Seconds ``user`` waits after an iteration: 0 for arrival-rate (the arrivals pace it),
        None for the profile's think time."""
        lane = self.lane_of(user)
        if lane is not None and lane.schedule.kind == "arrivals":
            return 0.0
        return None

    # -- progress, gauges and the end ----------------------------------------------------------

    def _stats(self) -> Any:
        run = getattr(self.suite, "run", None)
        return getattr(run, "stats", None)

    def gauges(self) -> tuple[int, int]:
        """(vus, vus_max) of this process: users in an iteration (or allowed to run), users allocated."""
        vus = sum(self._lane_vus(lane) for lane in self.lanes.values())
        allocated = sum(max(lane.preallocated, len(lane.used)) if lane.schedule.kind == "arrivals"
                        else len(lane.users) for lane in self.lanes.values())
        return vus, allocated

    def _lane_vus(self, lane: Lane) -> int:
        schedule = lane.schedule
        if schedule.kind == "arrivals":
            return lane.engaged
        if schedule.executor == "per-vu-iterations":
            return lane.engaged if self.elapsed() >= schedule.end_s else len(lane.users) - lane.finished_users
        if schedule.executor == "shared-iterations" and lane.remaining is not None and lane.remaining <= 0:
            return lane.engaged
        return min(lane.target, len(lane.users))

    def _gauge_loop(self) -> None:
        while not self.stopped:
            stats = self._stats()
            if stats is not None and hasattr(stats, "set_vus"):
                vus, vus_max = self.gauges()
                stats.set_vus(vus, vus_max)
            gevent.sleep(GAUGE_TICK_S)

    def report(self) -> dict[str, Any]:
        """This process's lanes, for its worker report and the summary."""
        return {name: {"scenario": lane.scenario, "class": lane.class_name, "users": len(lane.users),
                       "engaged": lane.engaged, "started": lane.started, "completed": lane.completed,
                       "dropped": lane.dropped, "interrupted": lane.interrupted,
                       "finished_users": lane.finished_users, "remaining": lane.remaining,
                       "done": self._lane_done(lane)}
                for name, lane in self.lanes.items()}

    def _lane_done(self, lane: Lane) -> bool:
        schedule = lane.schedule
        if self.t0 is None:
            return False
        if schedule.executor == "per-vu-iterations":
            return lane.engaged == 0 and lane.finished_users >= len(lane.users) and bool(lane.users)
        if schedule.executor == "shared-iterations":
            return lane.remaining is not None and lane.remaining <= 0 and lane.engaged == 0
        return self.elapsed() >= schedule.end_s and lane.engaged == 0

    def scenario_totals(self) -> dict[str, dict[str, int]]:
        """Per scenario, over every process: started, completed, dropped, interrupted iterations."""
        sources = list(self.reports.values()) if self.process == "master" else [self.report()]
        totals: dict[str, dict[str, int]] = {}
        for report in sources:
            for lane in report.values():
                row = totals.setdefault(lane["scenario"], dict.fromkeys(
                    ("started", "completed", "dropped", "interrupted"), 0))
                for key in row:
                    row[key] += int(lane[key])
        return totals

    def finished(self) -> bool:
        """Master / local: every scenario has ended (its work done, or its gracefulStop passed)."""
        if self.t0 is None:
            return False
        t = self.elapsed()
        sources = list(self.reports.values()) if self.process == "master" else [self.report()]
        for schedule in self.schedules.values():
            if t >= schedule.stop_by_s:
                continue
            if t < schedule.start_s:
                return False
            lanes = [lane for report in sources for lane in report.values() if lane["scenario"] == schedule.name]
            if schedule.kind == "iterations":
                expected = schedule.iterations * schedule.pool_size if schedule.executor == "per-vu-iterations" \
                    else schedule.iterations
                done = sum(lane["completed"] + lane["interrupted"] for lane in lanes) >= (expected or 0)
                if not (done and all(lane["engaged"] == 0 for lane in lanes)):
                    return False
            elif t < schedule.end_s or any(lane["engaged"] for lane in lanes):
                return False
        return True


class ScenarioPlan:
    """What the shape asks for in a profile with scenarios: every pool from the start, until the
    run's :class:`ScenarioEngine` says every scenario has ended."""

    def __init__(self, suite: Any, profile: Any, schedules: Mapping[str, ScenarioSchedule],
                 classes: list[type]) -> None:
        self.suite = suite
        self.profile = profile
        self.schedules = schedules
        self.classes = classes
        self.users = sum(int(cls.fixed_count) for cls in classes)
        self.current_stage: int | None = None
        spawn_s = self.users / MAX_SPAWN_RATE
        self.bound_s = max(s.stop_by_s for s in self.schedules.values()) + START_DELAY_S + \
            spawn_s + STALL_ALLOWANCE_S
        """Past this (from the shape's start) the run ends whatever the engine says."""

    def advance(self, t: float) -> tuple[int, float] | None:
        engine = getattr(self.suite.run, "scenarios", None)
        if engine is not None and engine.finished():
            return None
        if t > self.bound_s:
            logger.warning("The scenarios did not end by %.0f s (every gracefulStop passed): ending the run", t)
            return None
        return self.users, float(min(max(self.users, 1), MAX_SPAWN_RATE))

    def stages_timeline(self) -> list[dict[str, float | int]]:
        """The planned users over time, summed over the scenarios (pools of arrival-rate
        scenarios at their maxVUs while they run), for the report's plot."""
        schedules = self.schedules
        points = {0.0}
        for schedule in schedules.values():
            points.update((schedule.start_s, schedule.end_s))
            elapsed = schedule.start_s
            for stage in (self.profile.scenarios[schedule.name].stages or ()) if schedule.kind == "vus" else ():
                elapsed += stage.duration
                points.add(min(elapsed, schedule.end_s))
        ordered = sorted(points)
        timeline = []
        for start, end in zip(ordered, ordered[1:], strict=False):
            at = end - min(1e-6, (end - start) / 2)  # each segment ends at its planned users (a ramp's target)
            target = sum(
                schedule.pool_size if schedule.kind != "vus" else schedule.vu_target(at)
                for schedule in schedules.values() if schedule.start_s <= at < schedule.end_s
            )
            timeline.append({"start_s": round(start, 6), "end_s": round(end, 6), "target": target,
                             "spawn_rate": float(min(max(self.users, 1), MAX_SPAWN_RATE))})
        return timeline


class ScenarioListener:
    """The engine's part in the run's events: built at test_start, started once the pools are
    spawned, progress in the worker reports, stopped at test_stop."""

    def __init__(self, suite: Any) -> None:
        self.suite = suite
        events = suite.environment.events
        events.test_start.add_listener(self.on_test_start)
        events.spawning_complete.add_listener(self.on_spawning_complete)
        events.report_to_master.add_listener(self.on_report_to_master)
        events.worker_report.add_listener(self.on_worker_report)
        events.test_stop.add_listener(self.on_test_stop)
        self.watcher: Any = None

    def on_init(self, runner: Any) -> None:
        if self.suite.is_worker:
            runner.register_message(SHARE_MESSAGE, self.on_shares)

    def engine(self) -> ScenarioEngine | None:
        return getattr(self.suite.run, "scenarios", None)

    def on_test_start(self, **kwargs: Any) -> None:
        suite = self.suite
        selection = suite.select()  # a worker registers the scenario classes before it spawns them
        if getattr(selection, "scenario_classes", None):
            suite.run.scenarios = ScenarioEngine(suite, selection.schedules, selection.scenario_classes)

    def on_spawning_complete(self, user_count: int = 0, **kwargs: Any) -> None:
        engine = self.engine()
        if engine is None or engine.t0 is not None or self.suite.is_worker:
            return
        runner = self.suite.environment.runner
        t0 = time.time() + START_DELAY_S
        if self.suite.is_master:
            engine.t0, engine.process = t0, "master"
            engine.started.set()
            self._send_shares(engine, self._worker_counts(runner), 0.0)
            self.watcher = gevent.spawn(self._watch_workers, engine)
        else:
            engine.start(t0, table_from_counts({LOCAL_SOURCE: dict(runner.user_classes_count)}), LOCAL_SOURCE)

    # -- master -> workers -------------------------------------------------------------------

    @staticmethod
    def _worker_counts(runner: Any) -> dict[str, dict[str, int]]:
        return {node.id: dict(node.user_classes_count) for node in runner.clients.values()
                if node.state != "missing" and sum(node.user_classes_count.values())}

    def _send_shares(self, engine: ScenarioEngine, counts: dict[str, dict[str, int]], from_s: float) -> None:
        engine.tables.append(table_from_counts(counts, from_s))
        payload = {"t0": engine.t0, "from_s": from_s, "counts": counts}
        for client_id in counts:
            self.suite.environment.runner.send_message(SHARE_MESSAGE, payload, client_id=client_id)

    def _watch_workers(self, engine: ScenarioEngine) -> None:
        """A worker lost (or one that got users later): the split changes from now on."""
        runner = self.suite.environment.runner
        last = self._worker_counts(runner)
        while not engine.stopped:
            gevent.sleep(0.5)
            counts = self._worker_counts(runner)
            if counts != last and counts:
                logger.info("Scenario split changed: %d worker(s) hold the pools now", len(counts))
                self._send_shares(engine, counts, engine.elapsed())
                last = counts

    def on_shares(self, environment: Any, msg: Any, **kwargs: Any) -> None:
        engine = self.engine()
        if engine is None:
            return
        data = msg.data
        table = table_from_counts(data["counts"], float(data.get("from_s", 0.0)))
        engine.start(float(data["t0"]), table, environment.runner.client_id)

    # -- progress ----------------------------------------------------------------------------

    def on_report_to_master(self, client_id: str, data: dict, **kwargs: Any) -> None:
        engine = self.engine()
        if engine is not None:
            data[REPORT_KEY] = engine.report()

    def on_worker_report(self, client_id: str, data: dict, **kwargs: Any) -> None:
        engine = self.engine()
        if engine is not None and REPORT_KEY in data:
            engine.reports[client_id] = data[REPORT_KEY]

    def on_test_stop(self, **kwargs: Any) -> None:
        engine = self.engine()
        if engine is not None:
            engine.stop()
            if not self.suite.is_master:
                for name, row in engine.scenario_totals().items():
                    logger.info("Scenario %s: %d iterations started, %d complete, %d interrupted, %d dropped",
                                name, row["started"], row["completed"], row["interrupted"], row["dropped"])
        if self.watcher is not None:
            self.watcher.kill(block=False)
            self.watcher = None
