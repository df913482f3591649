"""The hub every handler receives: settings, clock, database, metrics, faults, auth, rate limiter.

``create_app`` puts the one :class:`Context` on ``app.state``; a handler declares ``ctx: Ctx`` and
FastAPI passes it in. A test calls the handler itself with a context it built
(``Context.create(Settings())``: an in-memory database), without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from bss_reference.auth import TokenIssuer
from bss_reference.clock import Clock
from bss_reference.config import Settings
from bss_reference.db import Database
from bss_reference.faults import FaultState
from bss_reference.metrics import Metrics
from bss_reference.ratelimit import SlidingWindowLimiter


@dataclass
class Context:
    settings: Settings
    clock: Clock
    db: Database
    metrics: Metrics
    faults: FaultState
    issuer: TokenIssuer
    limiter: SlidingWindowLimiter | None

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Context:
        return cls(
            settings=settings,
            clock=clock or Clock(),
            db=Database(settings.db),
            metrics=Metrics(),
            faults=FaultState(settings.latency_ms, settings.error_rate),
            issuer=TokenIssuer(settings.clients, settings.client_secret, settings.token_ttl_s),
            limiter=(SlidingWindowLimiter(settings.rate_limit_user, settings.rate_limit_ip)
                     if settings.rate_limit else None),
        )


async def app_context(request: Request) -> Context:
    """The :class:`Context` of the app that serves ``request``."""
    return request.app.state.ctx


#: A handler parameter FastAPI fills with the app's :class:`Context`.
Ctx = Annotated[Context, Depends(app_context)]
