"""The hub of the suite in one Locust process: one :class:`Suite` hung on the ``Environment``.

Locust hangs ``stats`` and ``runner`` on its ``Environment``; the suite hangs itself there as
``environment.bss``. It holds what the process knows across runs (the options, the profile in
force, the listeners) and the :class:`RunState` of the current run, a fresh object per run, so no
field is ever reset by hand. No module of the suite keeps run state in a global.

``Suite(environment)`` builds the listeners, each of which registers its own methods on
``environment.events`` (see :mod:`bss_loadtest.run.listeners`). A test builds one with a fresh
``Environment(events=Events())`` and fires events at it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import gevent.event
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from bss_loadtest.core import errors, executors, profiles
from bss_loadtest.core.executors import ScenarioSchedule
from bss_loadtest.core.plan import StagePlan
from bss_loadtest.core.stats import LOCAL_SOURCE, RunStats
from bss_loadtest.run.generator import CPU_SATURATION_SAMPLES, CpuSampler, merge_loop_lag
from bss_loadtest.run.scenarios import ScenarioListener, ScenarioPlan, scenario_user_classes

logger = logging.getLogger(__name__)

MANUAL_PROFILE = "manual"
"""Profile name that means: no profile, Locust's own users / spawn rate / run time."""


def suite_of(environment: Any) -> Suite | None:
    """The suite hung on ``environment``, or None (a plain Locust environment)."""
    return getattr(environment, "bss", None)


@dataclass
class RunState:
    """What one run knows, from its ``test_start`` to its written results. A new one per run."""

    run_id: str | None = None
    started_at: float | None = None
    stats: RunStats = field(default_factory=RunStats)
    finalized: bool = True
    """Master/local: the results are decided. Worker: its last numbers and cleanup report were sent."""
    partial_reason: str | None = None
    abort_reason: str | None = None
    live_results: list = field(default_factory=list)
    cleanup_reports: list[dict] = field(default_factory=list)
    max_cpu_percent: float | None = None
    cpu_high_samples: int = 0
    loop_lags: dict[str, dict] = field(default_factory=dict)
    """Each generator process's latest event-loop lag record (its sampler's whole run so far), by
    process (``local``, or a worker's id)."""
    known_workers: set[str] = field(default_factory=set)
    lost_workers: set[str] = field(default_factory=set)
    final_received: set[str] = field(default_factory=set)
    pending_flush: set[str] = field(default_factory=set)
    scrape_before: Any = None
    """The target's own counters before the run (reconciliation), or None."""
    finished: gevent.event.Event = field(default_factory=gevent.event.Event)
    """Set once the results are written (another greenlet may wait for them)."""
    finishing: Any = None
    """The greenlet that writes the results (master / local), once it is started."""
    scenarios: Any = None
    """The run's :class:`~bss_loadtest.run.scenarios.ScenarioEngine` (a profile with scenarios), or None."""

    def __post_init__(self) -> None:
        if self.finalized:
            self.finished.set()

    def note_cpu(self, sample: dict | None, source: str = LOCAL_SOURCE) -> None:
        """Merge a process's CPU record (its own, or a worker's from its report). Each record
        covers its process's run so far: the latest one of a process stands for it."""
        if not sample:
            return
        self.max_cpu_percent = max(self.max_cpu_percent or 0.0, float(sample["max"]))
        self.cpu_high_samples = max(self.cpu_high_samples, int(sample["high"]))
        if sample.get("lag_samples"):
            self.loop_lags[source] = sample

    @property
    def loop_lag(self) -> dict | None:
        """The worst generator process's event-loop lag record (generator.merge_loop_lag)."""
        merged = None
        for record in self.loop_lags.values():
            merged = merge_loop_lag(merged, record)
        return merged

    @property
    def cpu_saturated(self) -> bool:
        return self.cpu_high_samples >= CPU_SATURATION_SAMPLES


class _EndNow:
    """The plan of a profile that could not be loaded: the run ends at once."""

    def advance(self, t: float) -> None:
        return None

    def stages_timeline(self) -> list:
        return []


class _Aborted(_EndNow):
    """The plan of a run aborted by a threshold: the shape's next tick ends it the way the end of
    its profile does (calling ``runner.quit()`` from a listener raced Locust's own quit after the
    shape and stopped every user twice)."""

    def __init__(self, plan: Any) -> None:
        self.plan = plan

    def stages_timeline(self) -> list:
        return self.plan.stages_timeline()


@dataclass
class Selection:
    """The profile in force, as the run uses it (time-scaled), with its plan and user classes."""

    profile: Any = None
    plan: Any = None
    user_classes: list | None = None
    thresholds: list = field(default_factory=list)
    error: str | None = None
    """Why the selected profile could not be used (the run then ends at once)."""
    scenario_classes: list | None = None
    """A profile with scenarios: the user classes of its lanes (one per scenario and class)."""
    schedules: dict[str, ScenarioSchedule] | None = None
    """A profile with scenarios: each scenario's schedule, by name, built once for the run (the
    lanes, the shape's plan and the engine all read these)."""


class Suite:
    """The suite in one process: options, the selected profile, the current run, the listeners."""

    def __init__(self, environment: Any) -> None:
        from bss_loadtest.run import listeners

        self.environment = environment
        environment.bss = self
        self.run = RunState()
        self.selection = Selection()
        self._selected: tuple | None = None
        self.git_commit: str | None = None
        """The commit of the suite's own checkout, when it is one (``summary.json``)."""
        self.cpu = CpuSampler()
        self.signals = listeners.SignalListener(self)
        self.collector = listeners.StatsListener(self)
        self.request_log = listeners.RequestLogListener(self)
        self.export = listeners.LiveExportListener(self)
        self.thresholds = listeners.ThresholdListener(self)
        self.results = listeners.ResultsListener(self)
        self.lifecycle = listeners.RunLifecycle(self)
        self.scenarios = ScenarioListener(self)  # after the lifecycle: its test_start needs the new RunState
        # Last, so that it runs first (quitting fires in reverse): signals during the shutdown are noted only.
        environment.events.quitting.add_listener(self.signals.on_quitting)

    def on_init(self, runner: Any, web_ui: Any = None) -> None:
        """Once the runner exists (Locust's ``init``): start-up checks, then each listener's part.

        A master or local process that fails a check prints one ``error:`` line and exits with its
        code before any user starts (workers forked by ``--processes`` are ended by Locust)."""
        from bss_loadtest.run import preflight, webui

        if not self.is_worker:
            with errors.boundary():
                preflight.check_startup(self, web_ui)
            # Asked now, not while the results are written (a signal then must not meet a subprocess).
            self.git_commit = suite_git_commit()
        self.collector.on_init(runner)
        self.lifecycle.on_init(runner)
        self.scenarios.on_init(runner)
        if self.is_worker and getattr(runner, "worker_state", None) in (STATE_SPAWNING, STATE_RUNNING):
            # A worker that joined a running test: Locust handed it the master's spawn while it
            # connected, before init, so its test_start came before these listeners. Start its run now.
            self.request_log.on_test_start()
            self.lifecycle.on_test_start()
        self.signals.install()
        if self.is_worker:
            preflight.end_with_master(self.environment)
        if web_ui is not None:
            web_ui.template_args["all_profiles"] = [MANUAL_PROFILE] + [p.name for p in profiles.list_profiles()]
            webui.install(self, web_ui)
        self.export.on_init(runner)

    # -- options and roles ---------------------------------------------------------------------

    @property
    def options(self) -> Any:
        return self.environment.parsed_options

    def option(self, name: str, default: Any = None) -> Any:
        options = self.options
        value = getattr(options, name, None) if options is not None else None
        return default if value is None else value

    @property
    def is_worker(self) -> bool:
        return isinstance(self.environment.runner, WorkerRunner)

    @property
    def is_master(self) -> bool:
        return isinstance(self.environment.runner, MasterRunner)

    @property
    def time_scale(self) -> float:
        return float(self.option("time_scale", 1.0) or 1.0)

    # -- the profile ---------------------------------------------------------------------------

    def profile_ref(self) -> str | None:
        """The profile picked in the web UI or named by ``--profile``; None: manual mode."""
        ref = getattr(self.environment, "profile", None) or self.option("profile")
        if not ref or ref == MANUAL_PROFILE:
            return None
        return str(ref)

    def load_profile(self, ref: str | None) -> Any:
        """Load and validate a profile against this locustfile's users and the endpoint table."""
        if ref is None:
            return None
        from bss_loadtest.client.endpoints import endpoint_names

        return profiles.load_profile(ref, user_classes=sorted(self.user_classes_by_name()),
                                     endpoints=endpoint_names())

    def user_classes_by_name(self) -> dict[str, type]:
        """This locustfile's user classes by name (those Locust offers, else those it was given)."""
        environment = self.environment
        return dict(environment.available_user_classes or {cls.__name__: cls for cls in environment.user_classes})

    def select(self) -> Selection:
        """The selection for the profile asked for now (loaded again only when that changes)."""
        wanted = (self.profile_ref(), self.time_scale)
        if self._selected != wanted:
            self._selected = wanted
            try:
                self.selection = self._selection_for(self.load_profile(wanted[0]))
            except errors.SuiteError as error:
                # Picked in the web UI: say why, and end the run instead of running something else.
                errors.report(error)
                self.selection = Selection(plan=_EndNow(), error=error.message)
        return self.selection

    def _selection_for(self, profile: Any) -> Selection:
        if profile is None:
            return Selection()
        from bss_loadtest.run.preflight import check_scenario_users

        scaled = profile.scaled(self.time_scale)
        environment = self.environment
        by_name = self.user_classes_by_name()
        options = self.options
        if scaled.scenarios:
            check_scenario_users(scaled, by_name)  # a profile picked in the web UI, after start-up
            if options is not None and not getattr(options, "think_time_given", False):
                options.think_time = f"{scaled.think_time.min},{scaled.think_time.max}"
            schedules = executors.schedules(scaled)
            lanes = scenario_user_classes(schedules, by_name)
            # Every process registers the same classes, so that the master's spawn names them.
            names = {cls.__name__ for cls in lanes}
            environment.user_classes = [c for c in environment.user_classes if c.__name__ not in names] + lanes
            return Selection(profile=scaled, plan=ScenarioPlan(self, scaled, schedules, lanes), user_classes=lanes,
                             thresholds=list(scaled.parsed_thresholds), scenario_classes=lanes,
                             schedules=schedules)
        classes = []
        for name, weight in scaled.users.items():
            cls = by_name[name]
            cls.weight = weight
            cls.fixed_count = 0
            classes.append(cls)
        if options is not None and not getattr(options, "think_time_given", False):
            options.think_time = f"{scaled.think_time.min},{scaled.think_time.max}"
        # delayAbortEval is scaled with the stages.
        return Selection(profile=scaled, plan=StagePlan(scaled), user_classes=classes,
                         thresholds=list(scaled.parsed_thresholds))

    def abort_plan(self) -> None:
        """End the run at the shape's next tick, keeping the stages for the report."""
        self.selection.plan = _Aborted(self.selection.plan)

    def end_run(self) -> None:
        """End the whole run early (a crossed ``abortOnFail`` threshold, the smoke pass done, a
        worker's request), from a greenlet of its own. A profile's run ends through its shape: the
        shape's greenlet stops the users and fires ``test_stop`` while Locust's main greenlet waits
        for it. Stopping the runner from another greenlet would let the main greenlet quit and
        write the run off as interrupted while a ``test_stop`` listener (the cleanup) still waits
        on the network. Without a shape: quit when headless, else stop (the web UI stays)."""
        runner = self.environment.runner
        if self.environment.shape_class is not None and self.selection.plan is not None:
            self.abort_plan()
        elif self.option("headless"):
            runner.quit()
        else:
            runner.stop()

    # -- what the shape asks -------------------------------------------------------------------

    def active_plan(self) -> Any:
        """The stage plan of the selected profile, or ``None`` in manual mode (plain Locust)."""
        return self.select().plan

    def active_user_classes(self) -> list | None:
        """User classes the selected profile runs, or ``None`` to use Locust's own selection."""
        selection = self.select()
        if selection.plan is None:
            return manual_user_classes(self.environment)
        return selection.user_classes

    # -- what the live export reads (prometheus.LiveState) --------------------------------------

    @property
    def stats(self) -> RunStats:
        """The current run's statistics (on the master: merged over every worker)."""
        return self.run.stats

    def user_count(self) -> int:
        runner = self.environment.runner
        return int(runner.user_count) if runner is not None else 0

    def threshold_results(self) -> list:
        return list(self.run.live_results)

    def run_info(self) -> dict[str, Any]:
        from bss_loadtest.run.prometheus import redact_url

        profile = self.selection.profile
        return {
            "run_id": self.run.run_id or "",
            "profile": profile.name if profile else MANUAL_PROFILE,
            "host": redact_url(self.environment.host) or "",
            "started_at": self.run.started_at,
        }

    def new_run(self, run_id: str | None) -> RunState:
        """Begin a run: a fresh :class:`RunState` replaces the last one."""
        known = set(self.environment.runner.clients.keys()) if self.is_master else set()
        self.run = RunState(run_id=run_id, started_at=time.time(), finalized=False, known_workers=known)
        return self.run


def suite_git_commit() -> str | None:
    from pathlib import Path

    from bss_loadtest.reports.baseline import git_commit

    return git_commit(Path(__file__).resolve().parent)


def manual_user_classes(environment: Any) -> list | None:
    """Manual mode: the classes named on the command line or picked in the UI, as Locust does;
    with none named, every class except those that end the run after one pass (SmokeUser)."""
    options = environment.parsed_options
    if options is not None and getattr(options, "user_classes", None):
        return None
    classes = list(environment.user_classes)
    kept = [cls for cls in classes if not getattr(cls, "single_pass", False)]
    return kept if kept and len(kept) != len(classes) else None
