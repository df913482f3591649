"""The ASGI layer in front of the FastAPI app: tracing, metrics, auth, rate limiting and faults.

Every HTTP request is observed exactly once in ``http_server_requests_seconds`` with its route
template as ``uri`` (``UNKNOWN`` when no route matches), including 401, 429, injected 503 and the
token endpoint. The ``/actuator/prometheus`` scrape itself is not counted. For ``/api/**`` the
order is: authentication (401) → rate limit (429, only allowed calls count) → faults (latency via
``asyncio.sleep``, then maybe an injected 503).

Every HTTP request (the scrape too) is also one server span (``bss_reference.tracing``): the
request's trace context is in the scope under ``SCOPE_KEY`` for the problems answered further in,
and when it has been answered it gets its access-log line and its exported span.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from bss_reference.context import Context
from bss_reference.problems import problem_response
from bss_reference.ratelimit import RETRY_AFTER_S
from bss_reference.tracing import SCOPE_KEY, UNKNOWN_ROUTE, RequestTrace

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

UNKNOWN_URI = UNKNOWN_ROUTE
SCRAPE_PATH = "/actuator/prometheus"
RATE_LIMIT_BODY = json.dumps({"error": "Rate limit exceeded", "retry_after": RETRY_AFTER_S}).encode()


class RouteTable:
    """Maps (method, path) to the route template, in the app's own routing order."""

    def __init__(self, routes: list[tuple[re.Pattern[str], frozenset[str], str]]) -> None:
        self.routes = routes

    def match(self, method: str, path: str) -> str:
        fallback = None
        for regex, methods, template in self.routes:
            if regex.match(path):
                if method in methods:
                    return template
                if fallback is None:
                    fallback = template
        return fallback or UNKNOWN_URI

    def allowed_methods(self, path: str) -> list[str]:
        """Every method some route accepts for ``path`` (the ``Allow`` header of a 405)."""
        methods: set[str] = set()
        for regex, route_methods, _ in self.routes:
            if regex.match(path):
                methods |= route_methods
        return sorted(methods)


class Gateway:
    def __init__(self, app: ASGIApp, ctx: Context, routes: RouteTable) -> None:
        self.app = app
        self.ctx = ctx
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        uri = self.routes.match(method, path)
        tracing = self.ctx.tracing
        scope[SCOPE_KEY] = trace = tracing.begin(scope, method, uri)
        status = 500
        extra_headers: list[tuple[bytes, bytes]] = []

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if extra_headers:
                    message["headers"] = list(message.get("headers", [])) + extra_headers
            await send(message)

        try:
            if path.startswith("/api/"):
                denial = await self._guard(scope, method, uri, trace, extra_headers)
                if denial is not None:
                    await denial(scope, receive, send_wrapper)
                    return
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            if path != SCRAPE_PATH:
                self.ctx.metrics.observe_request(uri, method, status, elapsed)
            tracing.end(trace, status, elapsed)

    async def _guard(self, scope: Scope, method: str, uri: str, trace: RequestTrace,
                     extra_headers: list[tuple[bytes, bytes]]) -> Any:
        ctx = self.ctx
        path = scope["path"]
        subject = None
        if ctx.settings.auth:
            token = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    v = value.decode("latin-1")
                    if v[:7].lower() == "bearer ":
                        token = v[7:].strip()
                    break
            subject = ctx.issuer.verify(token) if token else None
            if subject is None:
                challenge = 'Bearer error="invalid_token"' if token else "Bearer"
                return problem_response(
                    401, "Full authentication is required to access this resource"
                    if not token else "Invalid or expired bearer token", path,
                    code="auth.unauthorized", trace_id=trace.trace_id,
                    headers={"WWW-Authenticate": challenge})
            scope["bss.principal"] = subject
        if ctx.limiter is not None:
            client = scope.get("client")
            ip = client[0] if client else "unknown"
            if not ctx.limiter.allow(subject, ip):
                return Response(RATE_LIMIT_BODY, status_code=429, media_type="application/json",
                                headers={"Retry-After": str(RETRY_AFTER_S)})
            extra_headers.append((b"x-rate-limit-limited", b"false"))
        faults = ctx.faults
        if faults.active:
            delay, fail = faults.decide(f"{method} {uri}")
            if delay > 0:
                await asyncio.sleep(delay)
            if fail:
                return problem_response(503, "Injected fault", path, code="fault.injected",
                                        trace_id=trace.trace_id)
        return None
