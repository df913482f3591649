"""Start-up checks of a run, before any user starts: options, profile (and its scenarios' user
classes), host, target, credentials.

Each problem is a :class:`~bss_loadtest.core.errors.SuiteError` with a one-line message; the
suite's ``on_init`` turns it into an ``error:`` line and the exit code through the one boundary.
A master started with ``--processes`` that fails a check ends its forked workers first
(:func:`end_forked_workers`): Locust's own clean-up at exit leaves them running.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bss_loadtest.core import errors, hosts
from bss_loadtest.core.run_ids import check_run_id
from bss_loadtest.run import runtime
from bss_loadtest.run.options import MAX_HEARTBEAT_LIVENESS

if TYPE_CHECKING:
    from bss_loadtest.run.suite import Suite

logger = logging.getLogger(__name__)

PREFLIGHT_TIMEOUT_S = 5.0
"""How long the reachability check waits for a TCP connection to the target."""

LOOPBACK_WEB_HOSTS = ("127.0.0.1", "localhost", "::1")

MAX_TIME_SCALE = 1000.0
"""The largest ``--time-scale``: a 20-minute profile then runs two weeks; beyond, durations and
timestamps stop being numbers a report can hold."""

WORKER_END_TIMEOUT_S = 3.0
"""How long :func:`end_forked_workers` waits for the workers to end on SIGTERM before SIGKILL."""
MASTER_WATCH_S = 1.0
"""How often a forked worker checks that its master is still there (:func:`end_with_master`)."""


def check_startup(suite: Suite, web_ui: Any) -> None:
    """Every check of a master or local process at ``init``; raises the first problem found."""
    options = suite.options
    if options is None:
        return
    try:
        _check_startup(suite, web_ui)
    except errors.SuiteError:
        if getattr(options, "processes", None):
            end_forked_workers()
        raise


def _check_startup(suite: Suite, web_ui: Any) -> None:
    options = suite.options
    check_think_time(suite)
    check_numbers(options)
    if options.fixed_run_id:
        check_run_id(str(options.fixed_run_id), "--run-id")
    check_report_dir(Path(suite.option("report_dir", "reports")))
    if web_ui is not None:
        check_web_ui(options)
    check_metrics(options)
    profile = suite.load_profile(suite.profile_ref())
    if profile is not None:
        check_scenario_users(profile, suite.user_classes_by_name())
    host = suite.environment.host
    if host:
        hosts.check_host(host)
    check_client_options(suite.environment, host)
    if profile is not None and host:
        check_allowed_host(profile, host, options.allow_host)
    if host and options.headless:
        # Nobody is watching a headless run: a target that is not there at all, or credentials it
        # refuses, end it at once instead of producing a run of failures.
        check_reachable(host)
        check_credentials(suite.environment, host)


def check_scenario_users(profile: Any, user_classes: Mapping[str, type]) -> None:
    """Every user class in a scenario's mix is a ``BssUser``: its executor paces each iteration
    in ``BssUser``'s task wrapper (``client.base.as_iteration``), so any other class would run
    its tasks unpaced, whatever the executor says."""
    from bss_loadtest.client.base import BssUser

    for name, scenario in (profile.scenarios or {}).items():
        where = f"scenarios.{name}.users" if scenario.users else "users"
        for class_name in profile.scenario_mix(name):
            cls = user_classes.get(class_name)
            if isinstance(cls, type) and not issubclass(cls, BssUser):
                raise errors.ConfigError(
                    f"profile {profile.name}: {where}: {class_name} is not a BssUser, so scenario {name}'s "
                    f"executor cannot pace its iterations; derive it from bss_loadtest.client.base.BssUser"
                )


def check_think_time(suite: Suite) -> None:
    options = suite.options
    if not options.think_time:
        return
    options.think_time_given = True
    shown = errors.quote(options.think_time)
    try:
        low, high = runtime.think_time(suite.environment)
    except ValueError:
        raise errors.ConfigError(f"--think-time {shown}: expected MIN,MAX in seconds") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high < low:
        raise errors.ConfigError(f"--think-time {shown}: need 0 <= MIN <= MAX, finite numbers of seconds")


def _number(options: Any, name: str, *, low: float, high: float = math.inf, low_open: bool = False,
            integer: bool = False) -> None:
    """Check ``options.<name>`` and store it back as a number (the parser keeps the text, so that
    ``--time-scale abc`` is one ``error:`` line here rather than a usage message from argparse)."""
    flag = "--" + name.replace("_", "-")
    text = getattr(options, name)
    try:
        value = int(text) if integer else float(text)
    except (TypeError, ValueError, OverflowError):
        kind = "a whole number" if integer else "a number"
        raise errors.ConfigError(f"{flag} {errors.quote(str(text))}: not {kind}") from None
    if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
        if integer:
            wanted = f"a whole number from {low:g} to {high:g}"
        else:
            wanted = f"a finite number {'greater than' if low_open else 'at least'} {low:g}"
            wanted += f" and at most {high:g}" if math.isfinite(high) else ""
        raise errors.ConfigError(f"{flag} {errors.quote(str(text))}: must be {wanted}")
    setattr(options, name, value)


def check_numbers(options: Any) -> None:
    """The suite's numeric options: finite, in range, stored back as numbers."""
    _number(options, "time_scale", low=0, low_open=True, high=MAX_TIME_SCALE)
    _number(options, "prometheus_port", low=0, high=65535, integer=True)
    _number(options, "prometheus_linger", low=0)
    _number(options, "push_interval", low=0, low_open=True)
    _number(options, "heartbeat_liveness", low=1, high=MAX_HEARTBEAT_LIVENESS, integer=True)


def check_client_options(environment: Any, host: str | None) -> None:
    """The client layer's options: request timeout, token URL, client ids, target config."""
    from bss_loadtest.client.config import load_target_config
    from bss_loadtest.client.options import ENV_VARS, client_settings, identity_pool

    options = environment.parsed_options
    given = getattr(options, "request_timeout", None) or os.environ.get(ENV_VARS["request_timeout"])
    if given:
        try:
            timeout = float(given)
        except ValueError:
            raise errors.ConfigError(f"--request-timeout {errors.quote(str(given))}: not a number") from None
        if not math.isfinite(timeout) or timeout <= 0:
            raise errors.ConfigError(f"--request-timeout {errors.quote(str(given))}: must be a finite number "
                                     "of seconds greater than 0")
    settings = client_settings(environment)
    if settings.client_pool < 0:
        raise errors.ConfigError(f"--client-pool {settings.client_pool}: must be at least 0")
    if settings.token_url:
        hosts.check_url(settings.token_url, "--token-url")
    if not settings.no_auth and not identity_pool(environment, host or ""):
        raise errors.ConfigError(f"--client-id {errors.quote(settings.client_id)}: names no client id; "
                                 "give one or more ids separated by commas")
    try:
        load_target_config(settings.target_config or None)
    except errors.ConfigError as error:  # checked here once, not in every user as it starts
        raise errors.ConfigError(f"--target-config {error.message}") from None


def check_web_ui(options: Any) -> None:
    if options.web_host in LOOPBACK_WEB_HOSTS:
        return
    if not options.expose_web_ui:
        raise errors.ConfigError(
            f"--web-host {options.web_host or '*'}: the web UI listens on loopback only; "
            "add --expose-web-ui (with --web-login) to expose it"
        )
    if not options.web_login:
        raise errors.ConfigError("--expose-web-ui needs --web-login so the exposed UI asks for a login")


def check_metrics(options: Any) -> None:
    """``/metrics`` listens on loopback unless exposed on purpose (``--expose-metrics``), as the web UI."""
    host = getattr(options, "prometheus_host", "127.0.0.1") or ""
    if not options.prometheus_port or host in LOOPBACK_WEB_HOSTS:
        return
    if not getattr(options, "expose_metrics", False):
        raise errors.ConfigError(
            f"--prometheus-host {host or '*'}: /metrics listens on loopback only; "
            "add --expose-metrics to serve it on that address"
        )


def check_report_dir(root: Path) -> None:
    """The results root must take a file now, not after the whole run (a probe file, as root
    ignores permission bits)."""
    try:
        (root / "runs").mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root / "runs", prefix=".probe-"):
            pass
    except OSError as error:
        raise errors.ConfigError(
            f"--report-dir {root}: results cannot be written there ({error.strerror or error})"
        ) from None


def check_allowed_host(profile: Any, host: str, allow_host: bool) -> None:
    """A guarded profile targets only its ``allowed_hosts`` unless ``--allow-host`` is given."""
    if profile.guard_hosts and not allow_host and not profile.host_allowed(host):
        raise errors.ConfigError(
            f"profile {profile.name}: host {hosts.host_name(host)} is not in allowed_hosts "
            f"({', '.join(profile.allowed_hosts)}); pass --allow-host to target it anyway"
        )


def check_reachable(host: str, timeout: float = PREFLIGHT_TIMEOUT_S) -> None:
    """Open (and close) one TCP connection to the host, or raise :class:`TargetError`."""
    parts = urlsplit(host)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    hosts.resolve(host)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise errors.TargetError(
            f"--host {hosts.redact_url(host)}: cannot connect to {parts.hostname}:{port} ({reason})"
        ) from None


def check_credentials(environment: Any, host: str) -> None:
    """Get one token per client identity of the run, or say in one line why not."""
    from bss_loadtest.client.auth import TokenError, fetch_token
    from bss_loadtest.client.options import identity_pool

    for identity in identity_pool(environment, host):
        try:
            fetch_token(identity)
        except TokenError as error:
            where = f"token endpoint {hosts.redact_url(identity.token_url)}"
            if error.failure_class == "auth":
                raise errors.ConfigError(
                    f"{where}: {error}; check --client-id and --client-secret (BSS_CLIENT_SECRET)"
                ) from None
            raise errors.TargetError(f"{where}: {error}") from None


def end_forked_workers(timeout: float = WORKER_END_TIMEOUT_S) -> list[int]:
    """End the workers this master forked (``--processes``) before it exits at start-up.

    They are this process's children running the same command line. Each gets SIGTERM, and
    SIGKILL if it has not ended within ``timeout``. They are not reaped here: Locust's own exit
    handler waits for them, and takes a worker still running for one that has ended (so without
    this it leaves them to run until their heartbeat timeout). Returns their process ids.
    """
    import psutil

    me = psutil.Process()
    command = me.cmdline()
    workers = []
    for child in me.children():
        try:
            if child.cmdline() == command:
                workers.append(child)
        except psutil.Error:  # ended meanwhile
            continue

    def running() -> list:
        alive = []
        for worker in workers:
            try:
                if worker.status() != psutil.STATUS_ZOMBIE:
                    alive.append(worker)
            except psutil.NoSuchProcess:
                pass
        return alive

    for signum, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 1.0)):
        for worker in running():
            try:
                worker.send_signal(signum)
            except psutil.NoSuchProcess:
                pass
        deadline = time.monotonic() + wait_s
        while running() and time.monotonic() < deadline:
            time.sleep(0.05)
    return [worker.pid for worker in workers]


def end_with_master(environment: Any, interval: float = MASTER_WATCH_S) -> Any:
    """On a worker forked by ``--processes``: end it (SIGTERM to itself, the way a Ctrl-C ends
    it) once its master is gone, instead of after Locust's 60 s heartbeat timeout. The master may
    have exited at start-up or been killed. Returns the watching greenlet, or None elsewhere."""
    if not getattr(environment.parsed_options, "processes", None):
        return None
    import gevent

    master = os.getppid()

    def watch() -> None:
        while os.getppid() == master and master != 1:
            gevent.sleep(interval)
        logger.warning("The master process (%d) is gone: this worker ends", master)
        os.kill(os.getpid(), signal.SIGTERM)

    return gevent.spawn(watch)
