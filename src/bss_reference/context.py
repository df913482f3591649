"""The hub every API module receives: settings, database, metrics, faults, auth, rate limiter."""

from __future__ import annotations

from dataclasses import dataclass

from bss_reference.auth import TokenIssuer
from bss_reference.config import Settings
from bss_reference.db import Database
from bss_reference.faults import FaultState
from bss_reference.metrics import Metrics
from bss_reference.ratelimit import SlidingWindowLimiter


@dataclass
class Context:
    settings: Settings
    db: Database
    metrics: Metrics
    faults: FaultState
    issuer: TokenIssuer
    limiter: SlidingWindowLimiter | None

    @classmethod
    def create(cls, settings: Settings) -> Context:
        return cls(
            settings=settings,
            db=Database(settings.db),
            metrics=Metrics(),
            faults=FaultState(settings.latency_ms, settings.error_rate),
            issuer=TokenIssuer(settings.clients, settings.client_secret, settings.token_ttl_s),
            limiter=(SlidingWindowLimiter(settings.rate_limit_user, settings.rate_limit_ip)
                     if settings.rate_limit else None),
        )
