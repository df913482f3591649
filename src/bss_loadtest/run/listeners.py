"""The suite's Locust glue, one listener class per concern.

Each class takes the :class:`~bss_loadtest.run.suite.Suite`, keeps its state on ``self`` (or on
the suite's current :class:`~bss_loadtest.run.suite.RunState`) and registers its methods on
``environment.events`` in its constructor, as locust-plugins' listeners do. What needs the runner
(master-only and worker-only parts) is in ``on_init(runner)``, which :meth:`Suite.on_init` calls
in order once the runner exists: the suite itself is built in Locust's ``init`` event, too late
for listeners added to that same event.

A run, seen from the master (or the single local process):

* ``init``: the start-up checks (:mod:`bss_loadtest.run.preflight`); the live export starts.
* ``test_start``: a new :class:`RunState` and run id; the profile's think time and the run id go
  into the custom options, which Locust forwards to workers with the spawn message.
* ``request`` (workers / local): every sample goes into the run's ``RunStats``; workers ship their
  delta with each report and once more when asked at the end (``bss_flush``).
* ``test_stop``: :meth:`RunLifecycle.finish_run`: workers flushed, thresholds judged on the
  merged numbers, results written atomically, exit code set (0 passed, 99 a threshold crossed).
* ``quitting``: a run interrupted by a signal is stopped and still written, marked partial.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent
import gevent.lock
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from bss_loadtest.core import errors, failures, thresholds
from bss_loadtest.core.stats import AUTH_REQUEST_TYPE
from bss_loadtest.run import console, locust_fixes, reconcile, runtime
from bss_loadtest.run.generator import loop_lag_summary

if TYPE_CHECKING:
    from bss_loadtest.run.suite import RunState, Suite

logger = logging.getLogger(__name__)

FLUSH_REQUEST = "bss_flush"
FLUSH_REPLY = "bss_flush_reply"
FLUSH_TIMEOUT_S = 60.0
"""How long the master waits for workers' last numbers (their test-data cleanup runs first)."""
FLUSH_UNTRACKED_TIMEOUT_S = 5.0
"""How long the master waits for the last numbers of a worker that Locust no longer tracks: one
that reported "stopped" (its cleanup done, so a live one answers at once) and has not come back
"ready". Locust checks the heartbeats of the workers it tracks only, so a worker cut off then is
otherwise waited for the whole ``FLUSH_TIMEOUT_S``."""

SAMPLE_INTERVAL_S = 1.0
"""How often the master samples users and CPU, closes history intervals and checks aborts."""


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


class SignalListener:
    """SIGINT/SIGTERM at any moment: noted, then the run ends the way Ctrl-C does, once.

    In a headless run with a shape, Locust catches Ctrl-C and stops the run as if the shape had
    ended, and it installs its SIGTERM handler only after the shape ends, so SIGTERM killed the
    process without results. The first signal is noted and raised as KeyboardInterrupt in the main
    greenlet, so the run is known to be cut short: partial results, exit code 130 (99 if a
    threshold was crossed). Later signals (a second Ctrl-C, a SIGTERM from a supervisor) are only
    noted: the run is already ending, and a second interrupt would break the writing of its
    results. From ``quitting`` on, the handlers are put back in place after Locust's own.
    """

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.received: str | None = None
        self.repeats = 0
        self.shutting_down = False

    def install(self) -> None:
        try:
            signal.signal(signal.SIGINT, self.on_signal)
            signal.signal(signal.SIGTERM, self.on_signal)
        except ValueError:  # not the main thread (an embedded Environment): leave the handlers alone
            pass

    def on_signal(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        suite = self.suite
        if self.received is None and not self.shutting_down:
            self.received = name
            if suite.run.finalized and suite.option("headless") and not suite.is_worker:
                # The results are written and Locust is ending the run by itself: nothing to cut short.
                self.mark_interrupted()
                return
            main = gevent.get_hub().parent
            # Thrown into the main greenlet from the hub, as gevent does with Ctrl-C itself, but
            # without the hub printing a KeyboardInterrupt traceback first.
            gevent.get_hub().loop.run_callback(main.throw, KeyboardInterrupt)
            return
        self.repeats += 1
        if self.repeats == 1:
            logger.info("Got %s while the run ends; its results are being written", name)
        self.mark_interrupted()

    def mark_interrupted(self) -> None:
        """The process ends with 130 (99 stays 99) once a signal came, whatever it found done."""
        suite = self.suite
        if suite.is_worker or suite.selection.profile is None:
            return
        if suite.environment.process_exit_code in (None, errors.OK):
            suite.environment.process_exit_code = errors.INTERRUPTED

    def on_quitting(self, **kwargs: Any) -> None:
        """Locust is shutting down, and its own SIGTERM handler would start a second shutdown: from
        here on every signal is only noted (registered last, so it runs first)."""
        self.shutting_down = True
        if self.received is not None:
            self.mark_interrupted()
        self.install()

    def interrupted_reason(self) -> str | None:
        return f"interrupted ({self.received}) before the profile ended" if self.received else None


class StatsListener:
    """Every sample into the run's :class:`RunStats`; worker deltas to the master, merged there;
    the end-of-run flush that makes sure no worker's last samples are lost."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self._final_lock = gevent.lock.Semaphore()
        self._watched: RunState | None = None
        """The run :attr:`_users` and :attr:`_missing` are of (a new run starts them afresh)."""
        self._users: dict[str, int] = {}
        """Each tracked worker's users at the last check (Locust empties a missing worker's count)."""
        self._missing: dict[str, list[dict[str, Any]]] = {}
        """Per worker, each time Locust marked it missing: ``at`` (s into the run), ``users`` it
        held, ``back`` (s into the run it sent a heartbeat again, or None)."""
        events = suite.environment.events
        events.request.add_listener(self.on_request)
        events.report_to_master.add_listener(self.on_report_to_master)
        events.worker_report.add_listener(self.on_worker_report)

    def on_init(self, runner: Any) -> None:
        if self.suite.is_worker:
            runner.register_message(FLUSH_REQUEST, self.on_flush_request)
            # After the WorkerRunner's own listener, so it runs before it (quitting fires in reverse).
            self.suite.environment.events.quitting.add_listener(self.on_worker_quitting)
        elif self.suite.is_master:
            runner.register_message(FLUSH_REPLY, self.on_flush_reply)

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        exception: BaseException | None = None,
        context: dict | None = None,
        **kwargs: Any,
    ) -> None:
        failure_class = failures.failure_class_of(exception) if exception is not None else None
        # The client's context: its user class, for a traced request its trace id, its status, its
        # checks (passed, failed), whether the status was expected, its k6 scenario and group.
        context = context or {}
        stats = self.suite.run.stats
        if not stats.configured:  # the run's first request: what its thresholds need kept
            self.suite.thresholds.configure(self.suite.run)
        checks = context.get("checks")
        stats.record(request_type, name, response_time, failure_class, context.get("user_class"),
                     trace_id=context.get("trace_id"), status=context.get("status"),
                     checks=(int(checks[0]), int(checks[1])) if checks is not None else None,
                     expected=context.get("expected"), scenario=context.get("scenario"), group=context.get("group"))

    # -- workers -> master -------------------------------------------------------------------

    def on_report_to_master(self, client_id: str, data: dict, **kwargs: Any) -> None:
        data["bss"] = self.suite.run.stats.take_delta()
        data["bss_cpu"] = self.suite.cpu.snapshot()

    def on_worker_report(self, client_id: str, data: dict, **kwargs: Any) -> None:
        if "bss" not in data:
            return
        run = self.suite.run
        run.known_workers.add(client_id)
        if not run.stats.configured:
            self.suite.thresholds.configure(run)
        run.stats.merge_dict(data["bss"], source=client_id)
        run.note_cpu(data.get("bss_cpu"), source=client_id)

    def check_workers(self, now: float | None = None) -> None:
        """Note every worker the master has seen, and those Locust marked missing: each time one
        goes missing (or comes back) it is said at once, and the run's partial reason says when."""
        if not self.suite.is_master:
            return
        run = self.suite.run
        if self._watched is not run:
            self._watched, self._users, self._missing = run, {}, {}
        now = time.time() if now is None else now
        at = round(now - (run.started_at or now), 1)
        for client in list(self.suite.environment.runner.clients.values()):
            run.known_workers.add(client.id)
            episodes = self._missing.setdefault(client.id, [])
            if client.state == "missing":
                run.lost_workers.add(client.id)
                if not episodes or episodes[-1]["back"] is not None:
                    users = self._users.get(client.id, 0)
                    episodes.append({"at": at, "users": users, "back": None})
                    logger.warning(
                        "Worker %s went missing %.0f s into the run: the master had no heartbeat from it for over %d s "
                        "(--heartbeat-liveness %d); its %d users are out of the count, and the run will be "
                        "marked partial. A worker that busy is usually one short of CPU: fewer users/s per "
                        "worker (--spawn-rate / workers) or more cores.",
                        client.id, at, locust_fixes.heartbeat_liveness() + 1, locust_fixes.heartbeat_liveness(),
                        users)
            else:
                self._users[client.id] = sum((client.user_classes_count or {}).values())
                if episodes and episodes[-1]["back"] is None:
                    episodes[-1]["back"] = at
                    logger.warning("Worker %s is back %.0f s into the run (missing since %.0f s); the run stays "
                                   "partial: its users were out of the count meanwhile", client.id, at,
                                   episodes[-1]["at"])

    def lost_reason(self, lost: set[str]) -> str:
        """The partial reason for ``lost`` workers: which, and when each went missing, with how many
        users (and when it came back); one that only missed the end-of-run flush is said so."""
        parts, heartbeats = [], False
        for worker in sorted(lost):
            episodes = self._missing.get(worker) if self._watched is self.suite.run else None
            if not episodes:
                parts.append(f"{worker} (no last numbers at the end)")
                continue
            said = ", ".join(
                f"missing at {e['at']:.0f} s with {e['users']} users"
                + (f", back at {e['back']:.0f} s" if e["back"] is not None else "") for e in episodes)
            parts.append(f"{worker} ({said})")
            heartbeats = True
        reason = f"worker(s) lost during the run: {'; '.join(parts)}"
        if heartbeats:
            liveness = locust_fixes.heartbeat_liveness()
            reason += f"; missing: no heartbeat for over {liveness + 1} s (--heartbeat-liveness {liveness})"
        return reason

    # -- the end-of-run flush ----------------------------------------------------------------

    def flush_workers(self) -> list[str]:
        """Ask every live worker for its last delta; return the ids that did not answer in time."""
        run = self.suite.run
        runner = self.suite.environment.runner
        # Workers that reported "stopped" are out of runner.clients until they are ready again,
        # so ask every worker this run has seen, except those known to be gone.
        self.check_workers()
        # A worker that sent its last numbers on its own (it got the signal too) is not asked again.
        live = sorted(run.known_workers - run.lost_workers - run.final_received)
        run.pending_flush = set(live)
        for client_id in live:
            runner.send_message(FLUSH_REQUEST, {"run_id": run.run_id}, client_id=client_id)
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        gone: set[str] = set()
        untracked_since: dict[str, float] = {}
        while run.pending_flush and time.monotonic() < deadline:
            gevent.sleep(0.05)
            now = time.monotonic()
            tracked = {c.id: c.state for c in runner.clients.values()}
            for worker in sorted(run.pending_flush):
                if worker in tracked:
                    untracked_since.pop(worker, None)
                    if tracked[worker] == "missing":  # Locust's heartbeat check: gone
                        gone.add(worker)
                elif now - untracked_since.setdefault(worker, now) > FLUSH_UNTRACKED_TIMEOUT_S:
                    gone.add(worker)
            run.pending_flush -= gone
        silent = sorted(gone | run.pending_flush)
        run.pending_flush = set()
        return silent

    def on_flush_request(self, environment: Any, msg: Any, **kwargs: Any) -> None:
        """Send this worker's last numbers, and its cleanup report once (on a worker ``finalized``
        means: the cleanup report of this run was sent). The master's request and this worker's own
        quitting may race: the lock makes the second wait until the first has stopped and cleaned up."""
        with self._final_lock:
            run = self.suite.run
            runner = environment.runner
            if runner.state in (STATE_RUNNING, STATE_SPAWNING):
                # The master quit without stopping us first (SIGINT/SIGTERM): stop the users now, so
                # that the test-data cleanup runs and its report and last samples reach the master.
                runner.stop()
            report = cleanup_report(environment)
            if run.finalized:  # already sent: never count it twice
                report = None
            elif report is not None:
                run.finalized = True
            runner.send_message(
                FLUSH_REPLY, {"stats": run.stats.take_delta(), "cleanup": report, "cpu": self.suite.cpu.snapshot()}
            )

    def on_flush_reply(self, environment: Any, msg: Any, **kwargs: Any) -> None:
        run = self.suite.run
        if not run.stats.configured:
            self.suite.thresholds.configure(run)
        run.stats.merge_dict(msg.data["stats"], source=msg.node_id)
        run.note_cpu(msg.data.get("cpu"), source=msg.node_id)
        if msg.data.get("cleanup"):
            run.cleanup_reports.append(msg.data["cleanup"])
        run.final_received.add(msg.node_id)
        run.pending_flush.discard(msg.node_id)

    def on_worker_quitting(self, environment: Any, **kwargs: Any) -> None:
        """A worker that got SIGINT/SIGTERM itself (Ctrl-C reaches the whole process group) stops,
        cleans up and sends its last numbers before its "quit", so the master need not wait for them."""
        if environment.runner.state in (STATE_RUNNING, STATE_SPAWNING) or not self.suite.run.finalized:
            self.on_flush_request(environment, None)


LOCUST_RATE_WINDOW_S = 60
"""Seconds of Locust's own per-second request counters kept on the master (its current rates read
the last 12); Locust keeps every second otherwise, which grows by megabytes an hour."""


LOCUST_CHART_POINTS = 1440
"""Points of Locust's own chart history kept (its web UI's charts; one every 5 s: the last 2 hours).
Locust keeps every one otherwise, about 1 MiB an hour (bench/memory_real_run.py); the suite's
own history is history.csv, on disk."""


def trim_locust_rates(stats: Any, before: float) -> None:
    """Drop Locust's per-second request and failure counters older than ``before`` from every
    entry of ``stats`` (a ``locust.stats.RequestStats``), all but the last LOCUST_CHART_POINTS of
    its chart history, and the per-endpoint copies of the response times that Locust keeps for
    "current" percentiles: a day's run keeps a flat memory.

    Locust copies each endpoint's response-time dict every second and keeps 20 copies, for current
    percentiles that only its total's chart reads; with the suite's 0.1 ms buckets
    (``plugin.locust_bucket``) each dict grows to thousands of keys as a run's tail fills, which
    made most of the memory a real run kept on growing (bench/memory_real_run.py --tracemalloc).
    The total keeps its copies (the web UI's chart); an endpoint's own "current" percentiles, in
    Locust's ``--csv-full-history`` only, are then its whole run's."""
    if stats is None:
        return
    history = getattr(stats, "history", None)
    if isinstance(history, list) and len(history) > LOCUST_CHART_POINTS:
        del history[: len(history) - LOCUST_CHART_POINTS]
    cutoff = int(before)
    entries = getattr(stats, "entries", {})
    for entry in entries.values():
        if getattr(entry, "use_response_times_cache", False):
            entry.use_response_times_cache = False
            entry.response_times_cache = None
    for entry in (*entries.values(), getattr(stats, "total", None)):
        for counters in (getattr(entry, "num_reqs_per_sec", None), getattr(entry, "num_fail_per_sec", None)):
            if counters:
                for second in [s for s in counters if s < cutoff]:
                    del counters[second]


def cleanup_report(environment: Any) -> dict | None:
    """This process's test-data cleanup report of the run, or None when no cleanup ran."""
    from bss_loadtest.client.state import client_state

    return client_state(environment).last_cleanup_report


def merge_cleanup(reports: list[dict]) -> dict | None:
    """The cleanup reports of the run's processes as one (``client.cleanup.merge_reports``)."""
    from bss_loadtest.client.cleanup import merge_reports

    return merge_reports(reports)


class RequestLogListener:
    """``--request-log PATH``: every raw sample of this process, for audits of the histogram (and
    of the wire: each line starts with the time the request was sent)."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.file: Any = None
        events = suite.environment.events
        events.test_start.add_listener(self.on_test_start)
        events.test_stop.add_listener(self.on_test_stop)
        events.quitting.add_listener(self.on_quitting)

    def on_test_start(self, **kwargs: Any) -> None:
        path = self.suite.option("request_log", "")
        if not path or self.file is not None:
            return
        target = Path(f"{path}.{os.getpid()}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.file = target.open("a", encoding="utf-8", buffering=1024 * 1024)
        except OSError as error:
            errors.report(errors.ConfigError(f"--request-log {target}: {error.strerror or error}"))
            return
        self.suite.environment.events.request.add_listener(self.on_request)

    def on_request(
        self, request_type: str, name: str, response_time: float, exception: BaseException | None = None,
        start_time: float | None = None, **kwargs: Any
    ) -> None:
        """One line: when the request was sent (epoch seconds; now less its time for a sample
        without a start), its type, name, time in ms and failure class (empty for a success)."""
        if self.file is None:
            return
        failure_class = failures.failure_class_of(exception) if exception is not None else ""
        if not isinstance(start_time, (int, float)):
            start_time = time.time() - response_time / 1000.0
        self.file.write(f"{start_time:.6f},{request_type},{name},{response_time:.6f},{failure_class}\n")

    def on_test_stop(self, **kwargs: Any) -> None:
        if self.file is not None:
            self.file.flush()

    def on_quitting(self, **kwargs: Any) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class LiveExportListener:
    """The live export (master / local only): the ``/metrics`` endpoint, Pushgateway pushes, and
    the run's metrics over OTLP (``--otlp-endpoint``) for a Prometheus behind a Collector."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.export: Any = None
        self.otlp: Any = None
        suite.environment.events.quitting.add_listener(self.on_quitting)

    def on_init(self, runner: Any) -> None:
        if self.suite.is_worker:
            return
        from bss_loadtest.run import prometheus

        port = int(self.suite.option("prometheus_port", 0) or 0)
        pushgateway = self.suite.option("pushgateway", "")
        otlp_endpoint = str(self.suite.option("otlp_endpoint", "") or "")
        interval_s = float(self.suite.option("push_interval", 10.0))
        with errors.boundary():
            if port or pushgateway:
                self.export = prometheus.LiveExport(
                    prometheus.build_registry(self.suite),
                    port=port,
                    bind_address=self.suite.option("prometheus_host", "127.0.0.1"),
                    pushgateway=pushgateway or None,
                    push_interval=interval_s,
                )
            if otlp_endpoint:
                from bss_loadtest.run import otlp

                self.otlp = otlp.OtlpExport(self.suite, otlp_endpoint, interval_s=interval_s)

    def start_run(self, run_id: str) -> None:
        for export in (self.export, self.otlp):
            if export is not None:
                export.start_run(run_id)

    def end_run(self) -> None:
        """The final push (and OTLP export) holds the final numbers and verdicts."""
        for export in (self.export, self.otlp):
            if export is not None:
                export.end_run()

    def on_quitting(self, **kwargs: Any) -> None:
        if self.export is None and self.otlp is None:
            return
        # After the run's results (the lifecycle's quitting listener waits for them first).
        self.suite.run.finished.wait(FLUSH_TIMEOUT_S + 30)
        if self.otlp is not None:
            self.otlp.stop()
            self.otlp = None
        if self.export is None:
            return
        linger = float(self.suite.option("prometheus_linger", 0.0) or 0.0)
        if linger > 0 and self.export.server is not None:
            logger.info("Serving the final metrics for %.0f s more", linger)
            gevent.sleep(linger)
        self.export.stop()
        self.export = None


class ThresholdListener:
    """The profile's thresholds: live verdicts every second, abortOnFail, and the final verdict."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite

    def configure(self, run: RunState) -> None:
        """Tell the run's statistics what its thresholds read beyond the always-on numbers (the tag
        scopes they name; for windowed and stage thresholds the run's start and the stages), once
        per run: on its first request (workers, local), its first worker report (master), or its
        first check. Workers select the same profile, so their deltas carry the same scopes."""
        suite = self.suite
        selection = suite.selection if suite.selection.profile is not None else suite.select()
        run.stats.configure(thresholds.tracking_for(
            selection.thresholds, origin=run.started_at,
            stages=thresholds.stage_spans(selection.plan, selection.profile)))

    def check(self, run: RunState, now: float) -> str | None:
        """Evaluate the thresholds live; the reason to abort the run, or None."""
        if not run.stats.configured:
            self.configure(run)
        active = self.suite.selection.thresholds
        if not active:
            return None
        elapsed = now - (run.started_at or now)
        run.live_results = thresholds.evaluate_all(active, run.stats)
        for threshold in active:
            if threshold.should_abort(run.stats, elapsed):
                return f"threshold {threshold.describe()} crossed (abortOnFail)"
        return None

    def verdict(self, run: RunState, *, interrupted: bool) -> tuple[list, int | None]:
        """The final results and exit code (None: manual mode, Locust's own code stands)."""
        active = self.suite.selection.thresholds
        if not run.stats.configured:
            self.configure(run)
        results = thresholds.evaluate_all(active, run.stats) if active else []
        run.live_results = results
        if self.suite.selection.profile is None:
            return results, None
        if any(not r.passed for r in results):
            return results, errors.THRESHOLDS_CROSSED
        return results, errors.INTERRUPTED if interrupted else errors.OK


class ResultsListener:
    """The run directory: ``summary.json`` (last), ``history.csv`` and ``report.html``."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.run_dir: Path | None = None

    def build_summary(self, run: RunState, results: list, exit_code: int | None) -> dict[str, Any]:
        from bss_loadtest import __version__
        from bss_loadtest.reports.results import summary_from_stats
        from bss_loadtest.run.prometheus import redact_url
        from bss_loadtest.run.suite import MANUAL_PROFILE

        selection = self.suite.selection
        profile = selection.profile
        ended = run.stats.ended_at or time.time()
        tolerances = getattr(profile, "tolerances", None) if profile is not None else None
        return summary_from_stats(
            run.stats,
            run_id=str(run.run_id),
            profile=profile.name if profile else MANUAL_PROFILE,
            profile_hash=profile.hash if profile else None,
            host=redact_url(self.suite.environment.host),
            suite_version=__version__,
            git_commit=self.suite.git_commit,
            time_scale=self.suite.time_scale,
            started_at=run.started_at or ended,
            ended_at=ended,
            status="partial" if run.partial_reason else "complete",
            partial_reason=run.partial_reason,
            exit_code=exit_code if exit_code is not None else 0,
            stages=selection.plan.stages_timeline() if selection.plan else [],
            thresholds=[r.to_dict() for r in results],
            tolerances=None if tolerances is None else tolerances.as_compare_mapping(),
            cleanup=merge_cleanup(run.cleanup_reports),
            generator={"cpu_saturated": run.cpu_saturated, "max_cpu_percent": run.max_cpu_percent,
                       **loop_lag_summary(run.loop_lag)},
            workers={"count": len(run.known_workers), "lost": sorted(run.lost_workers)},
            trace_url=self.suite.option("trace_url") or None,
        )

    def write(self, run: RunState, summary: dict[str, Any]) -> bool:
        """Write the run directory; on failure say why in one line and set the exit code."""
        from bss_loadtest.reports import results

        run_dir = results.run_directory(self.suite.option("report_dir", "reports"), str(run.run_id))
        self.run_dir = run_dir
        history = run.stats.history_sink
        if isinstance(history, results.HistoryWriter):
            history.close()  # complete: _finish closed the last interval; write_run reads it back
        try:
            try:
                run_dir.mkdir(parents=True, exist_ok=True)
                results.write_run(run_dir, summary, started_at=run.started_at or time.time())
            except OSError as error:
                raise errors.ConfigError(f"{run_dir}: cannot write results: {error.strerror or error}") from None
        except errors.SuiteError as error:
            self.suite.environment.process_exit_code = errors.report(error)
            return False
        console.say(f"Results: {run_dir}/summary.json, {run_dir}/report.html, {run_dir}/history.csv")
        from bss_loadtest.reports import ci

        try:  # --junit FILE, and the job summary on GitHub Actions
            ci.write_ci_outputs(summary, junit_path=self.suite.option("junit"), step_summary_path=ci.step_summary_path())
        except errors.SuiteError as error:
            self.suite.environment.process_exit_code = errors.report(error)
        return True


class RunLifecycle:
    """The life of a run: its start, the sampling loop, an abort, its end and an interruption."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.sampler: Any = None
        events = suite.environment.events
        events.test_start.add_listener(self.on_test_start)
        events.test_stop.add_listener(self.on_test_stop)
        events.quitting.add_listener(self.on_quitting)

    def on_init(self, runner: Any) -> None:
        if self.suite.is_master:
            runner.register_message(runtime.STOP_MESSAGE, self.on_stop_request)

    def on_test_start(self, **kwargs: Any) -> None:
        suite = self.suite
        if not suite.is_master:
            suite.cpu.start()
        if suite.is_worker:
            suite.new_run(suite.option("run_id") or None)
            return
        if not suite.run.finalized:
            return
        run = suite.new_run(suite.option("fixed_run_id") or new_run_id())
        if suite.options is not None:
            suite.options.run_id = run.run_id
        from bss_loadtest.reports.results import HISTORY_FILE, HistoryWriter, run_directory

        try:  # history.csv grows as intervals close: the run keeps no history in memory
            run.stats.history_sink = HistoryWriter(
                run_directory(suite.option("report_dir", "reports"), str(run.run_id)) / HISTORY_FILE,
                started_at=run.started_at or time.time())
        except errors.SuiteError as error:
            errors.report(error)
        selection = suite.select()
        host = suite.environment.host
        run.scrape_before = reconcile.scrape(host) if host else None
        suite.export.start_run(run.run_id)
        from bss_loadtest.run.prometheus import redact_url
        from bss_loadtest.run.suite import MANUAL_PROFILE

        logger.info("Run %s: profile %s against %s", run.run_id,
                    selection.profile.name if selection.profile else MANUAL_PROFILE, redact_url(host))
        if self.sampler is None or self.sampler.dead:
            self.sampler = gevent.spawn(self._sample_loop)

    def _sample_loop(self) -> None:
        while not self.suite.run.finalized:
            try:
                self.sample()
            except Exception:  # never let a sampling bug end the run
                logger.exception("sampling the run failed")
            gevent.sleep(SAMPLE_INTERVAL_S)

    def sample(self, now: float | None = None) -> None:
        """One second of the run: users, closed history intervals, workers, CPU, abort checks."""
        suite = self.suite
        run = suite.run
        now = time.time() if now is None else now
        run.stats.record_users(suite.user_count(), now)
        run.stats.close_intervals()
        trim_locust_rates(getattr(suite.environment, "stats", None), now - LOCUST_RATE_WINDOW_S)
        suite.collector.check_workers()
        if not suite.is_master:
            run.note_cpu(suite.cpu.take())
        reason = suite.thresholds.check(run, now)
        if reason is not None and run.abort_reason is None:
            run.abort_reason = reason
            logger.error("Aborting the run: %s", reason)
            gevent.spawn(self.suite.end_run)

    def on_stop_request(self, environment: Any, msg: Any, **kwargs: Any) -> None:
        logger.info("Worker %s asked to end the run: %s", msg.node_id, (msg.data or {}).get("reason"))
        gevent.spawn(self.suite.end_run)

    def on_test_stop(self, **kwargs: Any) -> None:
        if not self.suite.is_worker:
            self.finish_run(interrupted=self.suite.signals.interrupted_reason())

    def on_quitting(self, environment: Any, **kwargs: Any) -> None:
        suite = self.suite
        if suite.is_worker:
            return
        run = suite.run
        if not run.finalized:
            # Interrupted (SIGINT/SIGTERM): stop the users, then write what we have, marked partial.
            reason = suite.signals.interrupted_reason() or "interrupted before the profile ended"
            run.partial_reason = reason
            try:
                environment.runner.stop()
            except Exception:
                logger.exception("stopping the runner failed")
            self.finish_run(interrupted=reason)
            if suite.selection.profile is not None and environment.process_exit_code in (None, errors.OK):
                environment.process_exit_code = errors.INTERRUPTED
        run.finished.wait(FLUSH_TIMEOUT_S + 30)
        if suite.signals.received is not None:
            suite.signals.mark_interrupted()

    def finish_run(self, *, interrupted: str | None = None) -> int | None:
        """Evaluate, write and report the run; returns the exit code it decided (None: manual).

        The work runs in a greenlet of its own, outside the runner's: Locust's ``quit`` kills the
        runner's greenlets (a signal while the test-data cleanup runs at the end of the profile),
        and the run must still be written, once. Whoever calls this waits for it; whoever is
        killed while waiting leaves it to finish.
        """
        run = self.suite.run
        if run.finishing is None:
            if run.finalized:
                return None
            run.finalized = True
            run.finishing = gevent.spawn(self._finish_guarded, run, interrupted)
        run.finishing.join()
        return run.finishing.value

    def _finish_guarded(self, run: RunState, interrupted: str | None) -> int | None:
        try:
            return self._finish(run, interrupted)
        except Exception:  # a bug here must not hide the run's numbers behind a traceback
            logger.exception("writing the run's results failed")
            self.suite.environment.process_exit_code = errors.INVALID_CONFIG
            return None
        finally:
            run.finished.set()

    def _finish(self, run: RunState, interrupted: str | None) -> int | None:
        suite = self.suite
        if suite.is_master:
            run.lost_workers.update(suite.collector.flush_workers())
        else:
            report = cleanup_report(suite.environment)
            if report is not None:
                run.cleanup_reports.append(report)
            run.note_cpu(suite.cpu.take())
        run.stats.ended_at = time.time()
        run.stats.close_intervals(before=time.time() + 1)
        if interrupted:
            run.partial_reason = interrupted
        elif run.abort_reason:
            run.partial_reason = f"aborted: {run.abort_reason}"
        elif run.lost_workers:
            run.partial_reason = suite.collector.lost_reason(run.lost_workers)
        no_requests = suite.selection.profile is not None and run.stats.total.count == 0
        if no_requests and run.partial_reason is None:
            run.partial_reason = no_requests_reason(run)
        results, exit_code = suite.thresholds.verdict(run, interrupted=bool(interrupted))
        if no_requests and exit_code == errors.OK:
            exit_code = errors.INVALID_CONFIG
        summary = suite.results.build_summary(run, results, exit_code)
        if run.scrape_before is not None:
            from bss_loadtest.client.state import target_of

            summary["reconciliation"] = reconcile.reconcile(
                run.scrape_before,
                reconcile.scrape(suite.environment.host),
                run.stats,
                extra_requests=cleanup_requests(run.cleanup_reports),
                config=target_of(suite.environment).config,
            )
        console.print_console_report(summary, results)
        if exit_code is not None:
            suite.environment.process_exit_code = exit_code
        if not suite.results.write(run, summary):
            exit_code = suite.environment.process_exit_code
        suite.export.end_run()
        return exit_code


def no_requests_reason(run: RunState) -> str:
    """Why a run that made no business request is not a complete run, in one line."""
    tokens = sum(a.count for key, a in run.stats.endpoints.items() if run.stats.methods[key][0] == AUTH_REQUEST_TYPE)
    failed = sum(a.failures for key, a in run.stats.endpoints.items() if run.stats.methods[key][0] == AUTH_REQUEST_TYPE)
    why = f"{tokens} token request(s), {failed} failed" if tokens else "no user made a request"
    return f"no business request was made ({why}); see the errors above"


def cleanup_requests(reports: list[dict]) -> dict[str, int]:
    """Requests the test-data cleanup made outside the statistics, by endpoint key."""
    merged = merge_cleanup(reports)
    return merged["requests"] if merged is not None else {}


