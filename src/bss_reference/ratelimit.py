"""Sliding-window rate limiting per token subject and per client IP (only allowed calls count)."""

from __future__ import annotations

import time
from collections import deque

from bss_reference.config import RATE_LIMIT_WINDOW_S

RETRY_AFTER_S = 60


class SlidingWindowLimiter:
    def __init__(self, per_user: int, per_ip: int, window_s: float = RATE_LIMIT_WINDOW_S) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}

    def _load(self, key: str, now: float) -> deque[float]:
        q = self._hits.get(key)
        if q is None:
            q = self._hits[key] = deque()
        cutoff = now - self.window_s
        while q and q[0] <= cutoff:
            q.popleft()
        return q

    def allow(self, user: str | None, ip: str, now: float | None = None) -> bool:
        """True (and the call is counted) when both the user and the IP are under their limits."""
        now = time.monotonic() if now is None else now
        ip_q = self._load("ip:" + ip, now)
        user_q = self._load("user:" + user, now) if user is not None else None
        if len(ip_q) >= self.per_ip or (user_q is not None and len(user_q) >= self.per_user):
            return False
        ip_q.append(now)
        if user_q is not None:
            user_q.append(now)
        return True
