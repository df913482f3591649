"""What a running user may ask about the run it belongs to.

User classes call these accessors instead of reading options directly, because
remote workers receive the master's options only with the first spawn message, and because the
unit tests of the client layer run users without the plugin (``parsed_options`` may be ``None``).
This module does not import locust.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from bss_loadtest.core.profiles import DEFAULT_THINK_TIME

logger = logging.getLogger(__name__)


STOP_MESSAGE = "bss_stop_run"
"""Custom message a worker sends the master to end the whole run (e.g. the smoke pass is done)."""

_fallback_run_id = uuid.uuid4().hex[:12]


def _option(environment: Any, name: str, default: Any = None) -> Any:
    options = getattr(environment, "parsed_options", None)
    if options is None:
        return default
    value = getattr(options, name, None)
    return default if value in (None, "") else value


def run_id(environment: Any) -> str:
    """The run id every created entity is tagged with (the master's, once workers have it)."""
    return str(_option(environment, "run_id", _fallback_run_id))


def think_time(environment: Any, scenario: str | None = None) -> tuple[float, float]:
    """(min, max) seconds a user waits between tasks: ``--think-time``, else the scenario's own
    ``think_time`` (a profile with scenarios), else the profile's."""
    if scenario not in (None, "default") and not _option(environment, "think_time_given", False):
        profile = getattr(getattr(getattr(environment, "bss", None), "selection", None), "profile", None)
        own = getattr((getattr(profile, "scenarios", None) or {}).get(scenario), "think_time", None)
        if own is not None:
            return float(own.min), float(own.max)
    value = _option(environment, "think_time")
    if not value:
        return DEFAULT_THINK_TIME
    if isinstance(value, (tuple, list)):
        low, high = value
    else:
        low, _, high = str(value).partition(",")
        high = high or low
    return float(low), float(high)


def stop_users(environment: Any) -> None:
    """Stop the users of the run and wait until they have stopped (called when the shape ends).

    On a master this reaches every worker and waits for them, so that their last numbers can be
    collected before Locust's quit; without it, a headless master would quit at once.
    """
    runner = getattr(environment, "runner", None)
    if runner is not None:
        logger.info("The profile has ended: stopping the users (their test data is cleaned up next)")
        runner.stop()


def request_stop(environment: Any, reason: str) -> None:
    """Ask for the whole run to end (locally, or on the master when called on a worker)."""
    runner = getattr(environment, "runner", None)
    if runner is None:
        return
    logger.info("Stopping the run: %s", reason)
    import gevent

    suite = getattr(environment, "bss", None)
    if type(runner).__name__ == "WorkerRunner":
        runner.send_message(STOP_MESSAGE, {"reason": reason})
    elif suite is not None:
        gevent.spawn(suite.end_run)  # through the profile's shape where there is one
    elif _option(environment, "headless", False):
        # Quitting from inside a user greenlet would kill the caller first; do it from outside.
        gevent.spawn(runner.quit)
    else:
        gevent.spawn(runner.stop)
