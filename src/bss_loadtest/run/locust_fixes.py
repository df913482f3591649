"""Work-arounds for Locust's own costs that the suite's size makes visible; each one documented,
idempotent and tested (tests/run/test_locust_fixes.py).

:func:`cache_default_args`: a Locust worker handles every ``spawn`` message of the master (one a
second per worker while users ramp, at any spawn rate) with::

    {k: v for k, v in job["parsed_options"].items() if k not in argument_parser.default_args_dict() ...}

which builds and runs Locust's whole argument parser once per option the master forwards (about
80 with the suite's options), in the worker's event loop, without a switch: 150 ms of CPU a
message on an idle core; on two cores shared with the target and other jobs (bench/worker_heartbeat.py,
500 users/s) 150-200 ms of CPU and 0.6 s of wall time a message (up to 1.4 s), more than spawning
the users took. The worker's heartbeat greenlet waits behind it, and with the users' own work the
master went over four seconds without a heartbeat and marked the worker missing. Cached: 0-14 ms.
``default_args_dict()`` is Locust's defaults before any custom argument: the same for the
process's life (it reads no locustfile; environment variables are read once, at start), so it is
computed once and each caller gets its own copy.

"""

from __future__ import annotations

import functools
from typing import Any

from locust import argument_parser


def cache_default_args() -> None:
    """Replace ``locust.argument_parser.default_args_dict`` with a memoised copy (once)."""
    current = argument_parser.default_args_dict
    if getattr(current, "bss_cached", False):
        return
    computed = functools.cache(current)

    @functools.wraps(current)
    def default_args_dict() -> dict[str, Any]:
        return dict(computed())

    default_args_dict.bss_cached = True  # type: ignore[attr-defined]
    default_args_dict.bss_original = current  # type: ignore[attr-defined]
    argument_parser.default_args_dict = default_args_dict

