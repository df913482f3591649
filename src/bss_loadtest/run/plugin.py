"""The suite's entry into Locust: :func:`register`, called by the locustfiles.

It adds, once per ``events`` object, the suite's command-line options and an ``init`` listener
that builds the :class:`~bss_loadtest.run.suite.Suite` on the environment; the suite's listeners
(:mod:`bss_loadtest.run.listeners`) register themselves on ``environment.events`` from there.
"""

from __future__ import annotations

from typing import Any

from locust import events as locust_events
from locust import stats as locust_stats

from bss_loadtest.core.stats import bucket_key
from bss_loadtest.run import locust_fixes, options
from bss_loadtest.run.suite import Suite, suite_of

_registered: set[int] = set()
"""The ``events`` objects the suite is registered on (import-time wiring, not run state)."""


def register(events: Any = None) -> None:
    """Add the suite to Locust's events (idempotent: importing it from several locustfiles is harmless)."""
    events = events if events is not None else locust_events
    if id(events) in _registered:
        return
    _registered.add(id(events))
    from bss_loadtest.client import lifecycle

    # The client's own listeners first: its test-data cleanup must run before results are written.
    lifecycle.register(events)
    events.init_command_line_parser.add_listener(on_init_command_line_parser)
    events.init.add_listener(on_init)
    # Locust's own statistics (its console table, web UI and CSV) use the suite's buckets too, so
    # every output shows the same percentiles. Locust documents this function as replaceable.
    locust_stats.bucket_response_time = locust_bucket
    # A worker builds Locust's whole argument parser once per forwarded option for every spawn
    # message: its loop stalled long enough for the master to mark it missing (run/locust_fixes.py).
    locust_fixes.cache_default_args()
    # Locust's --csv files are closed at the end without a last write: a second of requests short.
    locust_fixes.write_csv_at_close()


def on_init_command_line_parser(parser: Any, **kwargs: Any) -> None:
    options.add_arguments(parser)


def on_init(environment: Any, runner: Any = None, web_ui: Any = None, **kwargs: Any) -> None:
    if runner is None:
        return
    suite = suite_of(environment) or Suite(environment)
    suite.on_init(runner, web_ui)
    if suite.is_master:  # after the start-up checks: a number from 1 to MAX_HEARTBEAT_LIVENESS
        liveness = int(suite.option("heartbeat_liveness", options.DEFAULT_HEARTBEAT_LIVENESS))
        locust_fixes.set_heartbeat_liveness(liveness, runner)


def locust_bucket(response_time: float) -> float:
    return bucket_key(response_time) / 10.0
