"""One error hierarchy for the suite and the exit codes it maps to.

Errors are raised where they are found and turned into a one-line message and an exit code at
one boundary (the CLI's ``main`` or the Locust plugin's start-up check).
"""

from __future__ import annotations

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
