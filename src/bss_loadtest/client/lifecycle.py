"""Wires the client layer into a Locust run, once per process.

``register(events)`` adds (idempotently):

* an ``init_command_line_parser`` listener that adds the client options
  (:func:`bss_loadtest.client.options.add_arguments`; harmless if the plugin adds them too);
* a ``test_stop`` listener that deletes what this process created
  (:func:`bss_loadtest.client.cleanup.run_cleanup`) and keeps the report in
  ``bss_loadtest.client.cleanup.LAST_REPORT``.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_registered: set[int] = set()


def on_init_command_line_parser(parser: Any, **kwargs: Any) -> None:
    from bss_loadtest.client.options import add_arguments

    add_arguments(parser)


def on_test_stop(environment: Any, **kwargs: Any) -> None:
    """Run the cleanup of this process (workers and local runs; the master created nothing)."""
    from bss_loadtest.client import cleanup
    from bss_loadtest.client.base import identity_pool, routes_for, settings_of

    if len(cleanup.REGISTRY) == 0:
        cleanup.LAST_REPORT = cleanup.CleanupReport()
        return
    host = environment.host or ""
    if not host:
        logger.warning("Cleanup skipped: no host")
        return
    try:
        config, _ = routes_for(settings_of(environment).target_config or None)
        cleanup.run_cleanup(host, identity_pool(environment, host), config)
    except Exception as exc:  # noqa: BLE001 - a failed cleanup must not hide the run's result
        logger.error("Cleanup failed: %s", type(exc).__name__)


def register(events: Any) -> None:
    """Add the client layer's listeners to ``events`` (once per ``events`` object)."""
    if id(events) in _registered:
        return
    _registered.add(id(events))
    events.init_command_line_parser.add_listener(on_init_command_line_parser)
    events.test_stop.add_listener(on_test_stop)
