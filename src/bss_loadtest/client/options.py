"""The client layer's command-line options (Locust custom arguments).

``add_arguments(parser)`` is called from an ``init_command_line_parser`` listener (the plugin's,
or :mod:`bss_loadtest.client.lifecycle`'s until the plugin routes it). Calling it twice on one
parser is harmless. :func:`client_settings` reads them back from an ``Environment`` with the
defaults the contract gives, so users work with ``parsed_options`` ``None`` (unit tests) too;
:func:`identity_pool` turns them into the run's client identities.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field
from typing import Any

from bss_loadtest.client.auth import DEFAULT_CLIENT_SECRET, Identity, identities
from bss_loadtest.core.errors import ConfigError, quote

ENV_VARS = {
    "token_url": "BSS_TOKEN_URL",
    "client_id": "BSS_CLIENT_ID",
    "client_secret": "BSS_CLIENT_SECRET",
    "client_pool": "BSS_CLIENT_POOL",
    "no_auth": "BSS_NO_AUTH",
    "target_config": "BSS_TARGET_CONFIG",
    "request_timeout": "BSS_REQUEST_TIMEOUT",
    "trace_sample": "BSS_TRACE_SAMPLE",
}
"""The environment variable of each option (read when the option is not given)."""

DEFAULT_REQUEST_TIMEOUT_S = 30.0
DEFAULT_TRACE_SAMPLE = 1.0

SECRET_ATTRIBUTE = "client_secret_given"
"""Where ``--client-secret`` / ``BSS_CLIENT_SECRET`` is kept in the parsed options: not under the
option's own name, because Locust puts the value of every web-UI option into the page it serves.
The option itself stays empty (the UI's password field), and holds what is typed there."""


class _SecretOutOfThePage(argparse.Action):
    """Stores the secret under :data:`SECRET_ATTRIBUTE`, which the web UI does not show."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, SECRET_ATTRIBUTE, values)


def add_arguments(parser: Any) -> None:
    """Add ``--token-url``, ``--client-id``, ``--client-secret``, ``--client-pool``, ``--no-auth``,
    ``--target-config``, ``--trace-sample`` to a Locust argument parser (idempotent)."""
    if "--token-url" in getattr(parser, "_option_string_actions", {}):
        return
    # Locust's web-UI keywords (include_in_web_ui, is_secret) exist on the parser, not on argument groups.
    parser.add_argument(
        "--token-url", default="", env_var=ENV_VARS["token_url"], include_in_web_ui=True,
        help="OAuth2 token endpoint (default: {host}/realms/bss/protocol/openid-connect/token)",
    )
    parser.add_argument(
        "--client-id", default="", env_var=ENV_VARS["client_id"], include_in_web_ui=True,
        help="Client id, or a comma-separated list of ids to spread users over (default: bss-backend)",
    )
    parser.add_argument(
        "--client-secret", default="", env_var=ENV_VARS["client_secret"], include_in_web_ui=True, is_secret=True,
        action=_SecretOutOfThePage, help="Client secret (default: bss-secret). Never logged, never in the web UI's page",
    )
    parser.add_argument(
        "--client-pool", type=int, default=0, env_var=ENV_VARS["client_pool"], include_in_web_ui=True,
        help="Spread users over client ids bss-loadtest-01..N (the backend limits each token subject)",
    )
    parser.add_argument(
        "--no-auth", action="store_true", default=False, env_var=ENV_VARS["no_auth"], include_in_web_ui=True,
        help="Send no bearer token",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=0.0, env_var=ENV_VARS["request_timeout"], include_in_web_ui=True,
        help=f"Seconds a request may take before it counts as a timeout (default: {DEFAULT_REQUEST_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--target-config", default="", env_var=ENV_VARS["target_config"], include_in_web_ui=True,
        help="YAML file with the target's paths, sort, accepted statuses and skipped endpoints "
             "(e.g. targets/droid-spring.yaml; default: the contract)",
    )
    parser.add_argument(
        "--trace-sample", default="", metavar="F", env_var=ENV_VARS["trace_sample"], include_in_web_ui=False,
        help="Fraction (0 to 1) of requests whose traceparent is marked sampled (default: 1); the report's "
             "slowest requests are taken from the sampled ones, whose traces the backend keeps",
    )


@dataclass(frozen=True)
class ClientSettings:
    token_url: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    client_pool: int = 0
    no_auth: bool = False
    target_config: str = ""
    request_timeout: float = 0.0
    trace_sample: float = DEFAULT_TRACE_SAMPLE


def client_settings(environment: Any) -> ClientSettings:
    """The client options of a run: parsed options, else the environment variables, else defaults."""
    options = getattr(environment, "parsed_options", None)

    def get(name: str, default: Any) -> Any:
        value = getattr(options, name, None) if options is not None else None
        if value in (None, "", 0, False):
            value = os.environ.get(ENV_VARS[name], "")
        return default if value in (None, "") else value

    # Typed into the web UI, else given on the command line or in the environment.
    secret = get("client_secret", "") or getattr(options, SECRET_ATTRIBUTE, "") or DEFAULT_CLIENT_SECRET
    no_auth = get("no_auth", False)
    if isinstance(no_auth, str):
        no_auth = no_auth.strip().lower() not in ("", "0", "false", "no")
    return ClientSettings(
        token_url=str(get("token_url", "")),
        client_id=str(get("client_id", "")),
        client_secret=str(secret),
        client_pool=int(get("client_pool", 0) or 0),
        no_auth=bool(no_auth),
        target_config=str(get("target_config", "")),
        request_timeout=float(get("request_timeout", DEFAULT_REQUEST_TIMEOUT_S) or DEFAULT_REQUEST_TIMEOUT_S),
        trace_sample=trace_sample(getattr(options, "trace_sample", None) if options is not None else None),
    )


def trace_sample(given: Any) -> float:
    """``--trace-sample`` (else ``BSS_TRACE_SAMPLE``, else 1) as a number; ``ConfigError`` unless from 0 to 1."""
    if given is None or given == "":
        given = os.environ.get(ENV_VARS["trace_sample"], "")
    if given is None or given == "":
        return DEFAULT_TRACE_SAMPLE
    try:
        value = float(given)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN compares false
        raise ConfigError(f"--trace-sample {quote(str(given))}: must be a number from 0 to 1")
    return value


def identity_pool(environment: Any, host: str) -> list[Identity]:
    """The client identities of a run (empty with ``--no-auth``)."""
    settings = client_settings(environment)
    if settings.no_auth:
        return []
    return identities(
        host,
        token_url=settings.token_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        client_pool=settings.client_pool,
    )
