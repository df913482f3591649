"""Work-arounds for Locust's own costs and faults that the suite runs into; each one documented,
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

:func:`set_heartbeat_liveness`: ``--heartbeat-liveness BEATS`` on the master. Locust's master
counts a worker's heartbeats down from ``locust.runners.HEARTBEAT_LIVENESS`` (3), one a second
(``HEARTBEAT_INTERVAL``), and marks it missing below zero: four seconds in which no heartbeat got
through. Its users drop out of the count and the run ends partial. On two cores shared with the
target and other jobs, a worker's loop (spawning 250 users a tick, starting them, stopping
thousands at the end) got that late with nothing wrong with the worker. Locust reads the constant
each time it (re)arms a worker's countdown, and its maintainers point users at that module
attribute to change it (locustio/locust#1988), so the master sets it from the option.

:func:`write_csv_at_close`: Locust's ``--csv`` files are rewritten once a second by a greenlet,
and at the end of the run they are closed without being written again (locustio/locust#1806,
#2299): the requests its users finished in the last second before the shutdown, the stop timeout's
and the cleanup's second included, were missing from ``_stats.csv`` while the console's table and
the suite's own ``summary.json`` counted them. Once Locust has closed them, the stats, failures and
exceptions files are written once more, each atomically, so they hold the run's final numbers (a
write that fails leaves Locust's last one whole, with one warning); the history file keeps its
once-a-second samples.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
from typing import Any

from locust import argument_parser
from locust import runners as locust_runners
from locust import stats as locust_stats

logger = logging.getLogger(__name__)


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


def set_heartbeat_liveness(beats: int, runner: Any = None) -> None:
    """How many heartbeat intervals a worker may miss before the master marks it missing, in the
    master's process. Workers connect while the master's ``init`` listeners run (the start-up
    checks wait on the network), so ``runner``'s workers already connected have their countdown
    moved by the difference: the beats they already missed still count, and a worker busy from its
    first second (spawning) gets the new liveness before its next heartbeat, not after it."""
    if beats < 1:
        raise ValueError(f"heartbeat liveness must be at least 1, not {beats}")
    before = int(locust_runners.HEARTBEAT_LIVENESS)
    locust_runners.HEARTBEAT_LIVENESS = int(beats)
    clients = getattr(runner, "clients", None)
    for node in list(clients.values()) if clients is not None else ():
        if node.state != locust_runners.STATE_MISSING:
            node.heartbeat += int(beats) - before


def heartbeat_liveness() -> int:
    """The liveness in force in this process."""
    return int(locust_runners.HEARTBEAT_LIVENESS)


def write_csv_at_close() -> None:
    """Make ``locust.stats.StatsCSVFileWriter.close_files`` write the final numbers into the
    stats, failures and exceptions files before it closes them (once)."""
    writer_class = locust_stats.StatsCSVFileWriter
    close = writer_class.close_files
    if getattr(close, "bss_final_write", False):
        return

    @functools.wraps(close)
    def close_files(self: Any) -> None:
        from bss_loadtest.reports.results import ResultsWriteError  # at the end, not at start-up

        close(self)  # Locust's last once-a-second content goes to disk whole first
        try:
            _write_final(self)
        except ResultsWriteError as exc:  # a full disk: each file keeps what Locust last wrote
            logger.warning("Locust's --csv files keep the numbers of up to a second before the end: %s", exc)

    close_files.bss_final_write = True  # type: ignore[attr-defined]
    close_files.bss_original = close  # type: ignore[attr-defined]
    writer_class.close_files = close_files  # type: ignore[method-assign]


def _write_final(writer: Any) -> None:
    """Replace ``writer``'s stats, failures and exceptions files, each atomically, with what its
    once-a-second greenlet writes there (header and rows), with the numbers as they are now."""
    from bss_loadtest.reports.results import atomic_write_bytes

    for suffix, columns, rows in (
        ("_stats.csv", writer.requests_csv_columns, writer._requests_data_rows),
        ("_failures.csv", writer.failures_columns, writer._failures_data_rows),
        ("_exceptions.csv", writer.exceptions_columns, writer._exceptions_data_rows),
    ):
        text = io.StringIO()
        csv_writer = csv.writer(text)  # Locust's own dialect (excel: \r\n line ends)
        csv_writer.writerow(columns)
        rows(csv_writer)
        atomic_write_bytes(writer.base_filepath + suffix, text.getvalue().encode())
