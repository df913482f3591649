"""What the client layer knows of one run, as one object hung on the Locust ``Environment``.

Locust hangs a run's statistics and runner on its ``Environment``; the client layer hangs its own
state there too, as ``environment.bss_client`` (created on first use by :func:`client_state`):
the token cache, the registry of test data to clean up, the last cleanup's report, the resolved
routes per target config, and the counters that number users and make test data unique. Users
reach it through ``self.environment``; nothing in the client layer keeps run state in a module.
"""

from __future__ import annotations

import itertools
from typing import Any

from bss_loadtest.client.auth import TokenCache
from bss_loadtest.client.cleanup import CleanupReport, Registry
from bss_loadtest.client.options import client_settings
from bss_loadtest.client.routes import Target

ATTRIBUTE = "bss_client"
"""The ``Environment`` attribute the state hangs on."""


class ClientState:
    """The client layer's state for one ``Environment``."""

    def __init__(self) -> None:
        self.tokens = TokenCache()
        """Bearer tokens per identity, shared by the users (and the cleanup) of this environment."""
        self.registry = Registry()
        """Entities this process created and has not deleted."""
        self.cleanup_report: CleanupReport | None = None
        """What the last cleanup did (``None`` before one ran)."""
        self.data_sequence = itertools.count(1)
        """The sequence that makes test data unique across this process's users."""
        self.logged_run_id: str | None = None
        self._user_numbers = itertools.count()
        self._targets: dict[str, Target] = {}

    @property
    def last_cleanup_report(self) -> dict[str, Any] | None:
        """The last cleanup's report as the summary carries it (``None`` when no cleanup ran)."""
        return self.cleanup_report.to_dict() if self.cleanup_report is not None else None

    def next_user_number(self) -> int:
        """0, 1, 2, ...: the users of this process in the order they start."""
        return next(self._user_numbers)

    def target(self, config_file: str | None) -> Target:
        """The routes of a target config file (read once per file)."""
        key = config_file or ""
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = Target.load(config_file or None)
        return target


def client_state(environment: Any) -> ClientState:
    """The client state of ``environment``, created on first use."""
    state = getattr(environment, ATTRIBUTE, None)
    if state is None:
        state = ClientState()
        setattr(environment, ATTRIBUTE, state)
    return state


def target_of(environment: Any) -> Target:
    """The target config (``--target-config``) of ``environment``'s run, with its routes."""
    return client_state(environment).target(client_settings(environment).target_config or None)
