"""Wires the client layer into a Locust run.

``register(events)`` adds (once per ``events`` object):

* an ``init_command_line_parser`` listener that adds the client options
  (:func:`bss_loadtest.client.options.add_arguments`; harmless if the plugin adds them too);
* a ``test_stop`` listener that deletes what this process created
  (:func:`bss_loadtest.client.cleanup.run_cleanup`, with the sweep for its customers once it has
  sent a customer create) and keeps the report in the environment's
  :class:`~bss_loadtest.client.state.ClientState` (``last_cleanup_report``).
"""

from __future__ import annotations

import logging
from typing import Any

from bss_loadtest.client.cleanup import CleanupReport, run_cleanup
from bss_loadtest.client.data import customer_marker, process_salt
from bss_loadtest.client.options import add_arguments, identity_pool
from bss_loadtest.client.state import client_state, target_of
from bss_loadtest.run import runtime

logger = logging.getLogger(__name__)

REGISTERED = "bss_client_registered"
"""The attribute that marks an ``Events`` object the listeners were added to."""


def on_init_command_line_parser(parser: Any, **kwargs: Any) -> None:
    add_arguments(parser)


def on_test_stop(environment: Any, **kwargs: Any) -> None:
    """Run the cleanup of this process (workers and local runs; the master created nothing)."""
    state = client_state(environment)
    sweep = (customer_marker(runtime.run_id(environment), process_salt(environment))
             if "customers" in state.registry.sent else None)
    if len(state.registry) == 0 and sweep is None:
        state.cleanup_report = CleanupReport()
        return
    host = environment.host or ""
    if not host:
        logger.warning("Cleanup skipped: no host")
        return
    try:
        state.cleanup_report = run_cleanup(host, identity_pool(environment, host), target_of(environment).config,
                                           registry=state.registry, token_cache=state.tokens, sweep=sweep)
    except Exception as exc:  # noqa: BLE001 - a failed cleanup must not hide the run's result
        logger.error("Cleanup failed: %s", type(exc).__name__)


def register(events: Any) -> None:
    """Add the client layer's listeners to ``events`` (once per ``events`` object)."""
    if getattr(events, REGISTERED, False):
        return
    setattr(events, REGISTERED, True)
    events.init_command_line_parser.add_listener(on_init_command_line_parser)
    events.test_stop.add_listener(on_test_stop)
