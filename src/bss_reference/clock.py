"""The server's wall clock: local time without zone, as the contract writes it.

Handlers read the time only through ``ctx.clock``, so a test passes a fixed clock instead of
sleeping or racing midnight: ``Clock(lambda: dt.datetime(2025, 1, 31, 10, 15, 30))``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable


class Clock:
    def __init__(self, now: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self._now = now

    def now(self) -> dt.datetime:
        return self._now()

    def timestamp(self) -> str:
        """Date-time without zone, millisecond precision: ``2025-01-31T10:15:30.123``."""
        return self._now().isoformat(timespec="milliseconds")

    def today(self) -> dt.date:
        return self._now().date()
