"""``k6 inspect``: a k6 script's options as k6 itself resolves them.

Two calls: ``k6 inspect SCRIPT`` gives the options as the script wrote them (``null`` where it
said nothing), ``k6 inspect --execution-requirements SCRIPT`` adds the scenarios k6 derives from
its shortcut options (``vus`` + ``duration`` → ``constant-vus``, ``iterations`` →
``shared-iterations``, ...), the run's length and peak VUs, and k6's own checks of the options.
Each is bounded in time; whatever goes wrong is one :class:`~bss_loadtest.core.errors.ConfigError`
line naming the script.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bss_loadtest.core.errors import ConfigError, one_line
from bss_loadtest.core.files import read_named_file
from bss_loadtest.k6.binary import require_k6

INSPECT_TIMEOUT_S = 60.0
"""The longest one ``k6 inspect`` may take (it compiles the script; a real one takes well under 1 s)."""
MAX_SCRIPT_BYTES = 8 * 1024 * 1024

_FILE_URL = re.compile(r"file://\S+?:\s*")


@dataclass
class Inspection:
    """What k6 says about a script."""

    script: Path
    options: dict[str, Any]
    """``k6 inspect``: the options as written, resolved (``__ENV`` already read)."""
    requirements: dict[str, Any]
    """``k6 inspect --execution-requirements``: the same with ``scenarios`` derived, ``totalDuration``, ``maxVUs``."""
    source: str
    """The script's text (for what k6 does not print: ``__ENV`` reads, ``setup()``)."""
    warnings: list[str] = field(default_factory=list)
    """k6's own warnings about the options, one line each."""
    version: str = "unknown"


def _messages(stderr: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) from k6's ``--log-format=json`` lines on stderr; other lines count as errors."""
    found: dict[str, list[str]] = {"error": [], "warning": []}
    for line in stderr.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            found["error"].append(line)
            continue
        if not isinstance(record, dict):
            continue
        level = "warning" if record.get("level") in ("warning", "warn") else (
            "error" if record.get("level") in ("error", "fatal", "panic") else None)
        if level:
            message = str(record.get("msg", "")).strip()
            message = message.removeprefix("GoError: ")
            found[level].append(one_line(_FILE_URL.sub("", message)))
    return found["error"], found["warning"]


def _run(binary: Path, args: list[str], script: Path, shown: str) -> tuple[dict[str, Any], list[str]]:
    # As `k6 run` does (k6 inspect alone would not), the script sees the environment in __ENV.
    command = [str(binary), "inspect", "--log-format=json", "--include-system-env-vars", *args, str(script)]
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=INSPECT_TIMEOUT_S,
                              env=env, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{shown}: k6 inspect did not finish within {INSPECT_TIMEOUT_S:g} s") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot run {binary}: {exc.strerror or exc}") from None
    errors, warnings = _messages(done.stderr)
    if done.returncode != 0:
        why = errors[0] if errors else (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ConfigError(one_line(f"{shown}: k6 cannot read this script (k6 inspect exit code {done.returncode}): {why}"))
    try:
        options = json.loads(done.stdout)
    except ValueError:
        raise ConfigError(f"{shown}: k6 inspect printed no JSON options (is {binary} k6?)") from None
    if not isinstance(options, dict):
        raise ConfigError(f"{shown}: k6 inspect printed {type(options).__name__}, not an options object")
    return options, warnings


def read_script(script: str | os.PathLike[str], *, shown: str | None = None) -> str:
    """The script's text; :class:`ConfigError` naming it when it is missing, a directory or unreadable."""
    raw = read_named_file(Path(script), shown=shown or str(script), what="k6 script", error=ConfigError,
                          limit=MAX_SCRIPT_BYTES)
    return raw.decode("utf-8", errors="replace")


def inspect_script(script: str | os.PathLike[str], *, shown: str | None = None) -> Inspection:
    """Run ``k6 inspect`` (twice: plain and ``--execution-requirements``) on ``script``.

    Raises :class:`ConfigError` (exit 104) with one line naming the script: not found, not
    readable, k6 missing, k6 refusing the script (its own message: ``Line 3:20 Unexpected token
    ILLEGAL``), or k6 taking longer than :data:`INSPECT_TIMEOUT_S`.
    """
    from bss_loadtest.k6.binary import k6_version

    path = Path(script)
    shown = shown or str(script)
    source = read_script(path, shown=shown)
    binary = require_k6()
    options, warnings = _run(binary, [], path, shown)
    requirements, more = _run(binary, ["--execution-requirements"], path, shown)
    return Inspection(script=path, options=options, requirements=requirements, source=source,
                      warnings=list(dict.fromkeys([*warnings, *more])), version=k6_version(binary))
