"""The files a user names (a k6 script, a summary, a baseline): read whole, or up to a bound,
with every problem one line naming the file; and hints to the kernel's page cache about them.

The only I/O of the core besides reading a profile; no Locust, nothing else of the suite above it,
so that a command can ask for a read-ahead before its slow imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from bss_loadtest.core.errors import SuiteError

_MIB = 1024 * 1024


def os_reason(exc: OSError) -> str:
    """Why an ``OSError`` happened, in a few words (``Permission denied``)."""
    return exc.strerror or str(exc) or exc.__class__.__name__


def _size(limit: int) -> str:
    if limit % _MIB == 0:
        return f"{limit // _MIB} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


def read_named_file(path: Path, *, shown: str, what: str, error: type[SuiteError],
                    limit: int | None = None) -> bytes:
    """The bytes of ``path``, a ``what`` (``"k6 script"``, ``"summary file"``) the user named.

    Missing, a directory, unreadable, or (with ``limit``) longer than ``limit`` bytes: an ``error``
    (the caller's :class:`SuiteError` class, for its exit code) with one line naming it as
    ``shown``. With ``limit``, no more than ``limit + 1`` bytes are read, whatever the file's size.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read() if limit is None else handle.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{shown}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{shown}: is a directory, not a {what}") from None
    except OSError as exc:
        raise error(f"{shown}: cannot read: {os_reason(exc)}") from None
    if limit is not None and len(raw) > limit:
        raise error(f"{shown}: larger than {_size(limit)}; not a {what}")
    return raw


def advise_page_cache(path: Path, advice: str) -> bool:
    """Tell the kernel how the whole of ``path`` will be used: ``advice`` is the name of a
    ``posix_fadvise`` advice without its prefix (``"WILLNEED"``, ``"DONTNEED"``). Best effort: False
    when the file cannot be opened or the system has no such advice (not Linux / POSIX)."""
    flag = getattr(os, f"POSIX_FADV_{advice}", None)
    if flag is None or not hasattr(os, "posix_fadvise"):
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        os.posix_fadvise(fd, 0, 0, flag)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read_ahead(path: Path) -> bool:
    """Ask the kernel to read ``path`` into the page cache now, in the background (a 24-hour run's
    history.csv is 600 MB): by the time the imports are done, it is there. Best effort."""
    return advise_page_cache(path, "WILLNEED")
