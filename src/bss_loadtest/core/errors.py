"""One error hierarchy for the suite and the exit codes it maps to.

Errors are raised where they are found and turned into a one-line message and an exit code at
one boundary, :func:`boundary`, which the CLI's ``main`` and the Locust plugin's start-up both use
(:func:`report` where a run must go on, e.g. results that could not be written).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

OK = 0
REGRESSION = 1
BAD_INPUT = 2
THRESHOLDS_CROSSED = 99
INVALID_CONFIG = 104
TARGET_UNREACHABLE = 105
INTERRUPTED = 130


class SuiteError(Exception):
    """A user-facing error: its message is one line, ``exit_code`` says how the process ends."""

    exit_code = INVALID_CONFIG

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigError(SuiteError):
    """Invalid configuration: a profile, an option, a target config (k6's code 104)."""

    exit_code = INVALID_CONFIG


class InputError(SuiteError):
    """Unusable input to compare/baseline/report: a corrupt, empty or incompatible file."""

    exit_code = BAD_INPUT


class TargetError(SuiteError):
    """The target system could not be reached at all."""

    exit_code = TARGET_UNREACHABLE


def describe(error: BaseException) -> tuple[str, int]:
    """The one line and the exit code a user's error ends in.

    A :class:`SuiteError` says both itself. An ``OSError`` that reaches the boundary is a file or
    directory the user named that cannot be used (input to compare, baseline, report): bad input.
    Where an ``OSError`` means something else (results that cannot be written), the code that
    meets it raises the right :class:`SuiteError` instead.
    """
    if isinstance(error, SuiteError):
        return error.message, error.exit_code
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}", BAD_INPUT
    raise TypeError(f"not a user's error: {type(error).__name__}")


QUOTE_CHARS = 60
"""The most of a user's value that an error message quotes."""
MESSAGE_CHARS = 500
"""The longest message :func:`one_line` lets through."""


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters: a message never carries
    a whole file, a huge expanded YAML value or a target's body. Containers are not expanded."""
    if isinstance(value, (list, tuple, set, dict)):
        return f"a {type(value).__name__} of {len(value)}"
    text = repr(value[: limit + 1] if isinstance(value, (str, bytes)) else value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(message: str, limit: int = MESSAGE_CHARS) -> str:
    """``message`` on one line and at most ``limit`` characters."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


USER_ERRORS = (SuiteError, OSError)
"""What :func:`report` and :func:`boundary` turn into one line; anything else is a bug."""


def report(error: BaseException, stream: TextIO | None = None) -> int:
    """Print ``error: <message>`` on stderr (one line) and return the exit code it maps to."""
    message, code = describe(error)
    stream = stream if stream is not None else sys.stderr
    stream.write("error: " + one_line(message) + "\n")
    stream.flush()
    return code


@contextlib.contextmanager
def boundary() -> Iterator[None]:
    """Around ``main`` and the Locust plugin's start-up: a user's error becomes one ``error:``
    line on stderr and ``SystemExit`` with its exit code; Ctrl-C becomes exit code 130."""
    try:
        yield
    except BrokenPipeError:
        # The reader of our output went away (``| head``): nothing is wrong with the run.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(OK) from None
    except USER_ERRORS as error:
        raise SystemExit(report(error)) from None
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(INTERRUPTED) from None
