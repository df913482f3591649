"""Run ids. A run id names the run's results directory, ``REPORT_DIR/runs/<run-id>/``, so it is
one safe path component: checked before any user starts (``--run-id``, ``BSS_RUN_ID``, the CLI's
``run --run-id``), never after the run has been made. Pure: no I/O."""

from __future__ import annotations

import re

from bss_loadtest.core.errors import ConfigError, quote

RUN_ID_MAX_CHARS = 100
"""The longest run id: a directory name well inside every file system's limit, and short enough
for the baseline file names and labels made of it."""

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_run_id(run_id: str, option: str = "--run-id") -> str:
    """``run_id`` if it can name a results directory, else a :class:`ConfigError` in one line.

    Letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit: no ``/``, no ``..``,
    nothing that leaves ``REPORT_DIR/runs/``.
    """
    if len(run_id) > RUN_ID_MAX_CHARS:
        raise ConfigError(f"{option} {quote(run_id, 40)}: {len(run_id)} characters, more than {RUN_ID_MAX_CHARS}")
    if not _RUN_ID.fullmatch(run_id):
        raise ConfigError(
            f"{option} {quote(run_id)}: a run id names its results directory: use letters, digits, '.', '_' "
            "and '-', starting with a letter or digit"
        )
    return run_id
