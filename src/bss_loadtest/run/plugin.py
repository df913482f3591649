"""The Locust glue: options, event listeners and the life of one run.

Everything the suite adds to Locust goes through Locust's events, registered here once
(:func:`register` is idempotent, so importing it from several locustfiles is harmless).

A run, seen from the master (or the single local process):

* ``init``: the profile named by ``--profile`` is validated before any user starts; a bad one is
  one line on stderr and exit code 104. The Prometheus endpoint starts.
* ``test_start``: a new run id; the profile's think time and the run id are put into the custom
  options, which Locust forwards to workers with the spawn message.
* ``request`` (workers / local): every sample is recorded into :class:`RunStats`; workers ship
  their delta to the master with each stats report and once more on request at the end.
* ``test_stop``: the master asks every live worker for its last delta and cleanup report, then
  thresholds are evaluated on the merged numbers, results are written atomically and the exit
  code is set: 0 passed, 99 a threshold crossed.
* ``quitting``: a run interrupted by a signal is stopped and still written, marked partial.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import gevent.lock
from locust import events
from locust import stats as locust_stats
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from bss_loadtest import __version__
from bss_loadtest.core import errors, failures, hosts
from bss_loadtest.core.stats import RunStats, bucket_key
from bss_loadtest.run import console, generator, options, prometheus, reconcile, runtime

logger = logging.getLogger(__name__)

MANUAL_PROFILE = "manual"
"""Profile name that means: no profile, Locust's own users / spawn rate / run time."""

FLUSH_REQUEST = "bss_flush"
FLUSH_REPLY = "bss_flush_reply"
FLUSH_TIMEOUT_S = 60.0
"""How long the master waits for workers' last numbers (their test-data cleanup runs first)."""

SAMPLE_INTERVAL_S = 1.0
"""How often the master samples users and CPU, closes history intervals and checks aborts."""



_registered = False
_current: RunController | None = None


def controller(environment: Any) -> RunController:
    """The run controller of this process's environment (created on first use)."""
    global _current
    if _current is None or _current.environment is not environment:
        _current = RunController(environment)
    return _current


def active_plan(environment: Any):
    ctl = controller(environment)
    ctl.ensure_profile()
    return ctl.plan


def active_user_classes(environment: Any):
    ctl = controller(environment)
    ctl.ensure_profile()
    if ctl.plan is None:
        return manual_user_classes(environment)
    return ctl.user_classes


def manual_user_classes(environment: Any):
    """Manual mode: the classes named on the command line or picked in the UI, as Locust does;
    with none named, every class except those that end the run after one pass (SmokeUser)."""
    options = environment.parsed_options
    if options is not None and getattr(options, "user_classes", None):
        return None
    classes = list(environment.user_classes)
    kept = [cls for cls in classes if not getattr(cls, "single_pass", False)]
    return kept if kept and len(kept) != len(classes) else None


class _EndNow:
    """The plan of a profile that could not be loaded: the run ends at once."""

    def target_at(self, t: float) -> None:
        return None

    def advance(self, t: float) -> None:
        return None

    def stages_timeline(self) -> list:
        return []


class _Aborted(_EndNow):
    """The plan of a run aborted by a threshold: the shape's next tick ends it the way the end of
    its profile does (calling ``runner.quit()`` from here raced Locust's own quit after the shape
    and stopped every user twice: a Locust traceback and the test-data cleanup run twice)."""

    def __init__(self, plan: Any) -> None:
        self.plan = plan

    def stages_timeline(self) -> list:
        return self.plan.stages_timeline()


class RunController:
    """State of the current run in one process, and what happens at each step of its life."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.stats = RunStats()
        self.profile = None
        self.plan = None
        self.user_classes = None
        self.thresholds: list = []
        self.live_results: list = []
        self.run_id: str | None = None
        self.started_at: float | None = None
        self.finalized = True
        self.partial_reason: str | None = None
        self.abort_reason: str | None = None
        self.pending_flush: set[str] = set()
        self.cleanup_reports: list[dict] = []
        self.max_cpu_percent: float | None = None
        self.cpu_high_samples = 0
        self.lost_workers: set[str] = set()
        self.final_received: set[str] = set()
        self.known_workers: set[str] = set()
        self.sampler = None
        self.metrics = None
        self.run_dir: Path | None = None
        self.applied: tuple | None = None
        self.finished = gevent.event.Event()
        self.finished.set()
        self.scrape_before = None

    # -- options -----------------------------------------------------------------------------

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

    def profile_ref(self) -> str | None:
        ref = getattr(self.environment, "profile", None) or self.option("profile")
        if not ref or ref == MANUAL_PROFILE:
            return None
        return str(ref)

    # -- profile -----------------------------------------------------------------------------

    def load_profile(self, ref: str | None):
        """Load and validate a profile against this locustfile's users and the endpoint table."""
        if ref is None:
            return None
        from bss_loadtest.client.endpoints import endpoint_names
        from bss_loadtest.core import profiles

        user_classes = sorted(self.environment.available_user_classes or {}) or sorted(
            cls.__name__ for cls in self.environment.user_classes
        )
        profile = profiles.load_profile(ref, user_classes=user_classes, endpoints=endpoint_names())
        return profile

    def ensure_profile(self) -> None:
        """Load the selected profile unless it is already the one in force."""
        wanted = (self.profile_ref(), float(self.option("time_scale", 1.0) or 1.0))
        if self.applied == wanted:
            return
        self.applied = wanted
        try:
            self.apply_profile(self.load_profile(wanted[0]))
        except errors.SuiteError as error:
            # Picked in the web UI: say why, and end the run instead of running something else.
            logger.error("error: %s", error.message)
            console.say(f"error: {error.message}")
            self.apply_profile(None)
            self.plan = _EndNow()
            self.abort_reason = error.message

    def apply_profile(self, profile) -> None:
        from bss_loadtest.run.shape import StagePlan

        self.profile = profile
        if profile is None:
            self.plan = None
            self.user_classes = None
            self.thresholds = []
            return
        scaled = profile.scaled(float(self.option("time_scale", 1.0)))
        self.profile = scaled
        self.plan = StagePlan(scaled)
        by_name = self.environment.available_user_classes or {
            cls.__name__: cls for cls in self.environment.user_classes
        }
        classes = []
        for name, weight in scaled.users.items():
            cls = by_name[name]
            cls.weight = weight
            cls.fixed_count = 0
            classes.append(cls)
        self.user_classes = classes
        self.thresholds = list(scaled.parsed_thresholds)  # delayAbortEval scaled with the stages
        options = self.options
        if options is not None:
            if not getattr(options, "think_time_given", False):
                options.think_time = f"{scaled.think_time.min},{scaled.think_time.max}"

    # -- run lifecycle (master / local) ------------------------------------------------------

    def start_run(self) -> None:
        if not self.finalized:
            return
        self.stats = RunStats()
        self.run_id = self.option("fixed_run_id") or _new_run_id()
        if self.options is not None:
            self.options.run_id = self.run_id
        self.started_at = time.time()
        self.finalized = False
        self.finished.clear()
        self.partial_reason = None
        self.abort_reason = None
        self.cleanup_reports = []
        self.max_cpu_percent = None
        self.cpu_high_samples = 0
        self.lost_workers = set()
        self.final_received = set()
        self.known_workers = set(self.environment.runner.clients.keys()) if self.is_master else set()
        self.live_results = []
        self.ensure_profile()
        self.scrape_before = reconcile.scrape(self.environment.host) if self.environment.host else None
        if self.metrics is not None:
            self.metrics.start_run(self.run_id)
        logger.info(
            "Run %s: profile %s against %s",
            self.run_id,
            self.profile.name if self.profile else MANUAL_PROFILE,
            self.environment.host,
        )
        if self.sampler is None or self.sampler.dead:
            self.sampler = gevent.spawn(self._sample_loop)

    def _sample_loop(self) -> None:
        while not self.finalized:
            try:
                self.sample()
            except Exception:  # never let a sampling bug end the run
                logger.exception("sampling the run failed")
            gevent.sleep(SAMPLE_INTERVAL_S)

    def sample(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        runner = self.environment.runner
        self.stats.record_users(runner.user_count, now)
        self.stats.close_intervals()
        self._check_workers(runner)
        if not self.is_master:
            self.note_cpu(generator.SAMPLER.take())
        if self.thresholds:
            from bss_loadtest.core import thresholds as thresholds_module

            elapsed = now - (self.started_at or now)
            self.live_results = thresholds_module.evaluate_all(self.thresholds, self.stats)
            for threshold in self.thresholds:
                if threshold.should_abort(self.stats, elapsed):
                    self.abort_reason = f"threshold {threshold.describe()} crossed (abortOnFail)"
                    logger.error("Aborting the run: %s", self.abort_reason)
                    gevent.spawn(self._abort)
                    return

    def _abort(self) -> None:
        runner = self.environment.runner
        if self.environment.shape_class is not None and self.plan is not None:
            self.plan = _Aborted(self.plan)
            return
        if self.option("headless"):
            runner.quit()
        else:
            runner.stop()

    def _check_workers(self, runner: Any) -> None:
        if not self.is_master:
            return
        for client in runner.clients.values():
            self.known_workers.add(client.id)
            if client.state == "missing":
                self.lost_workers.add(client.id)

    def note_cpu(self, sample: dict | None) -> None:
        """Merge a process's CPU record (its own, or a worker's from its report)."""
        if not sample:
            return
        self.max_cpu_percent = max(self.max_cpu_percent or 0.0, float(sample["max"]))
        self.cpu_high_samples = max(self.cpu_high_samples, int(sample["high"]))

    def flush_workers(self) -> list[str]:
        """Ask every live worker for its last delta; return the ids that did not answer in time."""
        runner = self.environment.runner
        # Workers that reported "stopped" are out of runner.clients until they are ready again,
        # so ask every worker this run has seen, except those known to be gone.
        self._check_workers(runner)
        # A worker that sent its last numbers on its own (it got the signal too) is not asked again.
        live = sorted(self.known_workers - self.lost_workers - self.final_received)
        self.pending_flush = set(live)
        for client_id in live:
            runner.send_message(FLUSH_REQUEST, {"run_id": self.run_id}, client_id=client_id)
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        while self.pending_flush and time.monotonic() < deadline:
            gevent.sleep(0.05)
        silent = sorted(self.pending_flush)
        self.pending_flush = set()
        return silent

    def finish_run(self, *, interrupted: str | None = None) -> int | None:
        """Evaluate, write and report the run; returns the exit code it decided (None: manual)."""
        if self.finalized:
            return None
        self.finalized = True
        try:
            return self._finish(interrupted)
        finally:
            self.finished.set()

    def wait_finished(self, timeout: float = FLUSH_TIMEOUT_S + 30) -> None:
        """Block until a finish running in another greenlet has written its results."""
        self.finished.wait(timeout)

    def _finish(self, interrupted: str | None) -> int | None:
        if self.is_master:
            silent = self.flush_workers()
            if silent:
                self.lost_workers.update(silent)
        else:
            from bss_loadtest.client import cleanup

            if cleanup.LAST_REPORT is not None:
                self.cleanup_reports.append(cleanup.LAST_REPORT.to_dict())
        if not self.is_master:
            self.note_cpu(generator.SAMPLER.take())
        self.stats.ended_at = time.time()
        self.stats.close_intervals(before=time.time() + 1)
        if interrupted:
            self.partial_reason = interrupted
        elif self.abort_reason:
            self.partial_reason = f"aborted: {self.abort_reason}"
        elif self.lost_workers:
            self.partial_reason = f"worker(s) lost during the run: {', '.join(sorted(self.lost_workers))}"

        from bss_loadtest.core import thresholds as thresholds_module

        results = thresholds_module.evaluate_all(self.thresholds, self.stats) if self.thresholds else []
        self.live_results = results
        if self.profile is None:
            exit_code = None
        elif any(not r.passed for r in results):
            exit_code = errors.THRESHOLDS_CROSSED
        else:
            exit_code = errors.OK
        if interrupted and exit_code == errors.OK:
            exit_code = errors.INTERRUPTED
        summary = self.build_summary(results, exit_code)
        if self.scrape_before is not None:
            summary["reconciliation"] = reconcile.reconcile(
                self.scrape_before,
                reconcile.scrape(self.environment.host),
                self.stats,
                extra_requests=_cleanup_requests(self.cleanup_reports),
            )
        console.print_console_report(summary, results, thresholds_module)
        if exit_code is not None:
            self.environment.process_exit_code = exit_code
        if not self.write_results(summary):
            exit_code = self.environment.process_exit_code
        if self.metrics is not None:
            self.metrics.end_run()  # the final push holds the final numbers and verdicts
        return exit_code

    # -- results -----------------------------------------------------------------------------

    def build_summary(self, results: list, exit_code: int | None) -> dict[str, Any]:
        stats = self.stats
        duration = stats.duration_s()
        requests = []
        for key in stats.endpoint_keys():
            method, name = stats.methods[key]
            requests.append({"method": method, "name": name, **stats.endpoints[key].summary_row(duration)})
        totals = {"method": "", "name": "Aggregated", **stats.total.summary_row(duration)}
        profile = self.profile
        ended = stats.ended_at or time.time()
        return {
            "schema": "bss-loadtest/summary",
            "schema_version": 1,
            "run_id": self.run_id,
            "profile": profile.name if profile else MANUAL_PROFILE,
            "profile_hash": profile.hash if profile else None,
            "host": prometheus.redact_url(self.environment.host),
            "suite_version": __version__,
            "git_commit": _git_commit(),
            "time_scale": float(self.option("time_scale", 1.0)),
            "started_at": _iso(self.started_at or ended),
            "ended_at": _iso(ended),
            "duration_s": round(ended - (self.started_at or ended), 3),
            "status": "partial" if self.partial_reason else "complete",
            "partial_reason": self.partial_reason,
            "exit_code": exit_code if exit_code is not None else 0,
            "stages": self.plan.stages_timeline() if self.plan else [],
            "thresholds": [
                {
                    "metric": r.metric,
                    "expression": r.expression,
                    "scope": r.scope,
                    "observed": r.observed,
                    "passed": r.passed,
                    "reason": r.reason,
                    "abort_on_fail": r.abort_on_fail,
                }
                for r in results
            ],
            "requests": requests,
            "totals": totals,
            "failures_by_class": stats.failures_by_class(),
            "user_classes": [
                {
                    "name": name,
                    "count": agg.count,
                    "failures": agg.failures,
                    "p95_ms": agg.summary_row(duration)["p95_ms"],
                }
                for name, agg in sorted(stats.user_classes.items())
            ],
            "tolerances": _tolerances(profile),
            "cleanup": _merge_cleanup(self.cleanup_reports),
            "reconciliation": None,
            "generator": {
                "cpu_saturated": self.cpu_high_samples >= generator.CPU_SATURATION_SAMPLES,
                "max_cpu_percent": self.max_cpu_percent,
            },
            "workers": {
                "count": len(self.known_workers),
                "lost": sorted(self.lost_workers),
            },
        }

    def write_results(self, summary: dict[str, Any]) -> bool:
        """Write the run directory; on failure say why in one line and set the exit code."""
        from bss_loadtest.reports import results

        run_dir = Path(self.option("report_dir", "reports")) / "runs" / str(self.run_id)
        self.run_dir = run_dir
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            results.write_run(
                run_dir,
                summary,
                self.stats.history,
                self.stats.users_at,
                started_at=self.started_at or time.time(),
            )
        except errors.SuiteError as error:
            console.say(f"error: {error.message}")
            self.environment.process_exit_code = error.exit_code
            return False
        except OSError as error:
            message = f"{run_dir}: cannot write results: {error.strerror or error}"
            console.say(f"error: {message}")
            self.environment.process_exit_code = errors.INVALID_CONFIG
            return False
        console.say(f"Results: {run_dir}/summary.json, {run_dir}/report.html, {run_dir}/history.csv")
        return True


# -- listeners ---------------------------------------------------------------------------------


def _on_init_command_line_parser(parser: Any, **kwargs: Any) -> None:
    options.add_arguments(parser)


def _on_init(environment: Any, runner: Any = None, web_ui: Any = None, **kwargs: Any) -> None:
    if runner is None:
        return
    ctl = controller(environment)
    if isinstance(runner, WorkerRunner):
        runner.register_message(FLUSH_REQUEST, _on_flush_request)
        # After the WorkerRunner's own listener, so it runs before it (quitting fires in reverse).
        environment.events.quitting.add_listener(_on_worker_quitting)
        _install_signal_handlers()
        return
    try:
        _check_startup(ctl, web_ui)
    except errors.SuiteError as error:
        _fail_startup(error)
    if isinstance(runner, MasterRunner):
        runner.register_message(FLUSH_REPLY, _on_flush_reply)
        runner.register_message(runtime.STOP_MESSAGE, _on_stop_request)
    _install_signal_handlers()
    if web_ui is not None:
        from bss_loadtest.core import profiles

        web_ui.template_args["all_profiles"] = [MANUAL_PROFILE] + [p.name for p in profiles.list_profiles()]
    _start_metrics(ctl)


def _check_startup(ctl: RunController, web_ui: Any) -> None:
    options = ctl.options
    if options is None:
        return
    if options.think_time:
        options.think_time_given = True
        try:
            low, high = runtime.think_time(ctl.environment)
        except ValueError:
            raise errors.ConfigError(f"--think-time {options.think_time!r}: expected MIN,MAX in seconds")
        if low < 0 or high < low:
            raise errors.ConfigError(f"--think-time {options.think_time!r}: need 0 <= MIN <= MAX")
    if options.time_scale is None or options.time_scale <= 0:
        raise errors.ConfigError(f"--time-scale {options.time_scale}: must be greater than 0")
    _check_report_dir(Path(ctl.option("report_dir", "reports")))
    if web_ui is not None and options.web_host not in ("127.0.0.1", "localhost", "::1"):
        if not options.expose_web_ui:
            raise errors.ConfigError(
                f"--web-host {options.web_host or '*'}: the web UI listens on loopback only; "
                "add --expose-web-ui (with --web-login) to expose it"
            )
        if not options.web_login:
            raise errors.ConfigError("--expose-web-ui needs --web-login so the exposed UI asks for a login")
    profile = ctl.load_profile(ctl.profile_ref())
    host = ctl.environment.host
    if profile is not None:
        _check_host(profile, host, options.allow_host)
    elif host:
        hosts.check_host(host)
    if host and options.headless:
        # Nobody is watching a headless run: a target that is not there at all, or credentials it
        # refuses, end it at once instead of producing a run of failures.
        hosts.check_reachable(host)
        _check_credentials(ctl.environment, host)


def _check_report_dir(root: Path) -> None:
    """The results root must take a file now, not after the whole run (a probe file, as root
    ignores permission bits)."""
    import tempfile

    try:
        (root / "runs").mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root / "runs", prefix=".probe-"):
            pass
    except OSError as error:
        raise errors.ConfigError(
            f"--report-dir {root}: results cannot be written there ({error.strerror or error})"
        ) from None


def _check_credentials(environment: Any, host: str) -> None:
    """Get one token per client identity of the run, or say in one line why not."""
    from bss_loadtest.client.auth import TokenError, fetch_token
    from bss_loadtest.client.base import identity_pool

    for identity in identity_pool(environment, host):
        try:
            fetch_token(identity)
        except TokenError as error:
            where = f"token endpoint {identity.token_url}"
            if error.failure_class == "auth":
                raise errors.ConfigError(
                    f"{where}: {error}; check --client-id and --client-secret (BSS_CLIENT_SECRET)"
                ) from None
            raise errors.TargetError(f"{where}: {error}") from None


def _check_host(profile: Any, host: str | None, allow_host: bool) -> None:
    if host:
        hosts.check_host(host)
    if profile.guard_hosts and not allow_host and host:
        if not hosts.host_allowed(host, profile.allowed_hosts):
            raise errors.ConfigError(
                f"profile {profile.name}: host {hosts.host_name(host)} is not in allowed_hosts "
                f"({', '.join(profile.allowed_hosts)}); pass --allow-host to target it anyway"
            )


def _fail_startup(error: errors.SuiteError) -> None:
    console.say(f"error: {error.message}")
    # Exit now: nothing has started yet, and workers forked by --processes are ended by Locust.
    sys.stdout.flush()
    sys.exit(error.exit_code)


def _start_metrics(ctl: RunController) -> None:
    port = int(ctl.option("prometheus_port", 0) or 0)
    pushgateway = ctl.option("pushgateway", "")
    if not port and not pushgateway:
        return
    try:
        ctl.metrics = prometheus.LiveExport(
            prometheus.build_registry(MetricsState(ctl)),
            port=port,
            bind_address=ctl.option("prometheus_host", "127.0.0.1"),
            pushgateway=pushgateway or None,
            push_interval=float(ctl.option("push_interval", 10.0)),
        )
    except errors.SuiteError as error:
        _fail_startup(error)


class MetricsState:
    """What the Prometheus collector reads at scrape time."""

    def __init__(self, ctl: RunController) -> None:
        self.ctl = ctl

    @property
    def stats(self) -> RunStats:
        return self.ctl.stats

    def user_count(self) -> int:
        runner = self.ctl.environment.runner
        return int(runner.user_count) if runner is not None else 0

    def threshold_results(self) -> list:
        return list(self.ctl.live_results)

    def run_info(self) -> dict[str, str]:
        ctl = self.ctl
        return {
            "run_id": ctl.run_id or "",
            "profile": ctl.profile.name if ctl.profile else MANUAL_PROFILE,
            "host": prometheus.redact_url(ctl.environment.host) or "",
            "started_at": ctl.started_at,
        }


def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None = None,
    context: dict | None = None,
    **kwargs: Any,
) -> None:
    ctl = _current
    if ctl is None:
        return
    failure_class = failures.failure_class_of(exception) if exception is not None else None
    ctl.stats.record(
        request_type,
        name,
        response_time,
        failure_class,
        context.get("user_class") if context else None,
    )
    if _request_log is not None:
        _request_log.write(f"{time.time():.6f},{request_type},{name},{response_time:.6f},{failure_class or ''}\n")


_request_log = None


def _open_request_log(ctl: RunController) -> None:
    """Per-process raw sample log (opt-in), for audits of the histogram against exact values."""
    global _request_log
    path = ctl.option("request_log", "")
    if not path or _request_log is not None:
        return
    target = Path(f"{path}.{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _request_log = target.open("a", encoding="utf-8", buffering=1024 * 1024)
    except OSError as error:
        logger.error("error: --request-log %s: %s", target, error.strerror or error)


def _close_request_log() -> None:
    global _request_log
    if _request_log is not None:
        _request_log.close()
        _request_log = None


def _on_test_start(environment: Any, **kwargs: Any) -> None:
    ctl = controller(environment)
    _open_request_log(ctl)
    if not ctl.is_master:
        generator.SAMPLER.start()
    if ctl.is_worker:
        ctl.stats = RunStats()
        ctl.finalized = False
        return
    ctl.start_run()


_signal_received: str | None = None
"""SIGINT or SIGTERM, once the master (or the single local process) got one."""


def _interrupted_reason() -> str | None:
    return f"interrupted ({_signal_received}) before the profile ended" if _signal_received else None


def _install_signal_handlers() -> None:
    """Note SIGINT/SIGTERM, then end the run the way Ctrl-C does (master / local only).

    In a headless run with a shape, Locust catches Ctrl-C and stops the run as if the shape had
    ended, and it installs its SIGTERM handler only after the shape ends, so SIGTERM killed the
    process without results. Both now raise KeyboardInterrupt after being noted, so ``test_stop``
    knows the run was cut short: partial results, exit code 130 (99 if a threshold was crossed).
    """

    main = gevent.get_hub().parent

    def on_signal(signum: int, frame: Any) -> None:
        global _signal_received
        _signal_received = signal.Signals(signum).name
        # Thrown into the main greenlet from the hub, as gevent does with Ctrl-C itself, but
        # without the hub printing a KeyboardInterrupt traceback first.
        gevent.get_hub().loop.run_callback(main.throw, KeyboardInterrupt)

    try:
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
    except ValueError:  # not the main thread (an embedded Environment): leave the handlers alone
        pass


def _on_test_stop(environment: Any, **kwargs: Any) -> None:
    ctl = controller(environment)
    if _request_log is not None:
        _request_log.flush()
    if ctl.is_worker:
        return
    ctl.finish_run(interrupted=_interrupted_reason())


def _on_quitting(environment: Any, **kwargs: Any) -> None:
    ctl = controller(environment)
    if ctl.is_worker:
        _close_request_log()
        return
    if not ctl.finalized:
        # Interrupted (SIGINT/SIGTERM): stop the users, then write what we have, marked partial.
        reason = _interrupted_reason() or "interrupted before the profile ended"
        ctl.partial_reason = reason
        runner = environment.runner
        try:
            runner.stop()
        except Exception:
            logger.exception("stopping the runner failed")
        ctl.finish_run(interrupted=reason)
        if ctl.profile is not None and environment.process_exit_code in (None, errors.OK):
            environment.process_exit_code = errors.INTERRUPTED
    ctl.wait_finished()
    if ctl.metrics is not None:
        linger = float(ctl.option("prometheus_linger", 0.0) or 0.0)
        if linger > 0 and ctl.metrics.server is not None:
            logger.info("Serving the final metrics for %.0f s more", linger)
            gevent.sleep(linger)
        ctl.metrics.stop()
        ctl.metrics = None
    _close_request_log()


def _on_worker_quitting(environment: Any, **kwargs: Any) -> None:
    """A worker that got SIGINT/SIGTERM itself (Ctrl-C reaches the whole process group) stops,
    cleans up and sends its last numbers before its "quit", so the master need not wait for them."""
    if environment.runner.state in (STATE_RUNNING, STATE_SPAWNING) or not controller(environment).finalized:
        _on_flush_request(environment, None)


def _on_report_to_master(client_id: str, data: dict, **kwargs: Any) -> None:
    if _current is not None:
        data["bss"] = _current.stats.take_delta()
        data["bss_cpu"] = generator.SAMPLER.snapshot()


def _on_worker_report(client_id: str, data: dict, **kwargs: Any) -> None:
    if _current is not None and "bss" in data:
        _current.known_workers.add(client_id)
        _current.stats.merge_dict(data["bss"])
        _current.note_cpu(data.get("bss_cpu"))


_final_lock = gevent.lock.Semaphore()


def _on_flush_request(environment: Any, msg: Any, **kwargs: Any) -> None:
    """Send this worker's last numbers, and its cleanup report once (on a worker ``finalized``
    means: the cleanup report of this run was sent). The master's request and this worker's own
    quitting may race: the lock makes the second wait until the first has stopped and cleaned up."""
    from bss_loadtest.client import cleanup

    with _final_lock:
        ctl = controller(environment)
        runner = environment.runner
        if runner.state in (STATE_RUNNING, STATE_SPAWNING):
            # The master quit without stopping us first (SIGINT/SIGTERM): stop the users now, so that
            # the test-data cleanup runs and its report and the last samples reach the master.
            runner.stop()
        report = cleanup.LAST_REPORT.to_dict() if cleanup.LAST_REPORT is not None else None
        if ctl.finalized:  # already sent: never count it twice
            report = None
        elif report is not None:
            ctl.finalized = True
        runner.send_message(
            FLUSH_REPLY, {"stats": ctl.stats.take_delta(), "cleanup": report, "cpu": generator.SAMPLER.snapshot()}
        )


def _on_flush_reply(environment: Any, msg: Any, **kwargs: Any) -> None:
    ctl = controller(environment)
    ctl.stats.merge_dict(msg.data["stats"])
    ctl.note_cpu(msg.data.get("cpu"))
    if msg.data.get("cleanup"):
        ctl.cleanup_reports.append(msg.data["cleanup"])
    ctl.final_received.add(msg.node_id)
    ctl.pending_flush.discard(msg.node_id)


def _on_stop_request(environment: Any, msg: Any, **kwargs: Any) -> None:
    logger.info("Worker %s asked to end the run: %s", msg.node_id, (msg.data or {}).get("reason"))
    runner = environment.runner
    gevent.spawn(runner.quit if controller(environment).option("headless") else runner.stop)


def register() -> None:
    """Add the suite's listeners to Locust's events, once per process."""
    global _registered
    if _registered:
        return
    _registered = True
    from bss_loadtest.client import lifecycle

    # The client's own listeners first: its test-data cleanup must run before results are written.
    lifecycle.register(events)
    events.init_command_line_parser.add_listener(_on_init_command_line_parser)
    events.init.add_listener(_on_init)
    events.request.add_listener(_on_request)
    events.test_start.add_listener(_on_test_start)
    events.test_stop.add_listener(_on_test_stop)
    events.quitting.add_listener(_on_quitting)
    events.report_to_master.add_listener(_on_report_to_master)
    events.worker_report.add_listener(_on_worker_report)
    # Locust's own statistics (its console table, web UI and CSV) use the suite's buckets too, so
    # every output shows the same percentiles. Locust documents this function as replaceable.
    locust_stats.bucket_response_time = _locust_bucket


def _locust_bucket(response_time: float) -> float:
    return bucket_key(response_time) / 10.0


# -- helpers -----------------------------------------------------------------------------------


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="milliseconds")


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _tolerances(profile: Any) -> dict | None:
    tolerances = getattr(profile, "tolerances", None) if profile is not None else None
    return None if tolerances is None else tolerances.as_compare_mapping()


def _cleanup_requests(reports: list[dict]) -> dict[str, int]:
    """Requests the test-data cleanup made outside the statistics, by endpoint key."""
    counts: dict[str, int] = {}
    for report in reports:
        for key, n in (report.get("requests") or {}).items():
            counts[key] = counts.get(key, 0) + int(n)
    return counts


def _merge_cleanup(reports: list[dict]) -> dict | None:
    if not reports:
        return None
    merged = {"deleted": 0, "not_deleted": []}
    for report in reports:
        merged["deleted"] += int(report.get("deleted", 0))
        merged["not_deleted"].extend(report.get("not_deleted", []))
    return merged


@functools.lru_cache(maxsize=1)
def _git_commit() -> str | None:
    """The commit of the suite's own checkout, when it is one."""
    from bss_loadtest.reports import baseline

    return baseline.git_commit(Path(__file__).resolve().parent)
