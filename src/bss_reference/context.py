"""The hub every handler receives: settings, clock, database, metrics, faults, auth, rate limiter
and tracing.

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
from bss_reference.tracing import Tracing


@dataclass
class Context:
    settings: Settings
    clock: Clock
    db: Database
    metrics: Metrics
    faults: FaultState
    issuer: TokenIssuer
    limiter: SlidingWindowLimiter | None
    tracing: Tracing

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Context:
        """Build the hub; opens the access log and starts the span export the settings ask for
        (:class:`~bss_reference.tracing.TracingError` when they cannot be)."""
        return cls(
            settings=settings,
            clock=clock or Clock(),
            db=Database(settings.db),
            metrics=Metrics(),
            faults=FaultState(settings.latency_ms, settings.error_rate),
            issuer=TokenIssuer(settings.clients, settings.client_secret, settings.token_ttl_s),
            limiter=(SlidingWindowLimiter(settings.rate_limit_user, settings.rate_limit_ip)
                     if settings.rate_limit else None),
            tracing=Tracing.from_settings(settings),
        )

    def close(self) -> None:
        """Flush and close what the context holds open: the spans, the access log, the database."""
        self.tracing.close()
        self.db.close()


async def app_context(request: Request) -> Context:
    """The :class:`Context` of the app that serves ``request``."""
    return request.app.state.ctx


#: A handler parameter FastAPI fills with the app's :class:`Context`.
Ctx = Annotated[Context, Depends(app_context)]
