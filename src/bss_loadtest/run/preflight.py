"""Start-up checks of a run, before any user starts: options, profile, host, target, credentials.

Each problem is a :class:`~bss_loadtest.core.errors.SuiteError` with a one-line message; the
suite's ``on_init`` turns it into an ``error:`` line and the exit code through the one boundary.
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bss_loadtest.core import errors, hosts
from bss_loadtest.run import runtime

if TYPE_CHECKING:
    from bss_loadtest.run.suite import Suite

PREFLIGHT_TIMEOUT_S = 5.0
"""How long the reachability check waits for a TCP connection to the target."""

LOOPBACK_WEB_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_startup(suite: Suite, web_ui: Any) -> None:
    """Every check of a master or local process at ``init``; raises the first problem found."""
    options = suite.options
    if options is None:
        return
    check_think_time(suite)
    if options.time_scale is None or options.time_scale <= 0:
        raise errors.ConfigError(f"--time-scale {options.time_scale}: must be greater than 0")
    check_report_dir(Path(suite.option("report_dir", "reports")))
    if web_ui is not None:
        check_web_ui(options)
    profile = suite.load_profile(suite.profile_ref())
    host = suite.environment.host
    if host:
        hosts.check_host(host)
    if profile is not None and host:
        check_allowed_host(profile, host, options.allow_host)
    if host and options.headless:
        # Nobody is watching a headless run: a target that is not there at all, or credentials it
        # refuses, end it at once instead of producing a run of failures.
        check_reachable(host)
        check_credentials(suite.environment, host)


def check_think_time(suite: Suite) -> None:
    options = suite.options
    if not options.think_time:
        return
    options.think_time_given = True
    try:
        low, high = runtime.think_time(suite.environment)
    except ValueError:
        raise errors.ConfigError(f"--think-time {options.think_time!r}: expected MIN,MAX in seconds") from None
    if low < 0 or high < low:
        raise errors.ConfigError(f"--think-time {options.think_time!r}: need 0 <= MIN <= MAX")


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
        raise errors.TargetError(f"--host {host}: cannot connect to {parts.hostname}:{port} ({reason})") from None


def check_credentials(environment: Any, host: str) -> None:
    """Get one token per client identity of the run, or say in one line why not."""
    from bss_loadtest.client.auth import TokenError, fetch_token
    from bss_loadtest.client.options import identity_pool

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
