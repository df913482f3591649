"""``create_app(settings)``: the FastAPI application wrapped in the :class:`Gateway`.

The handlers live in ``bss_reference.api`` as module-level routers; the app includes them and puts
its :class:`Context` on ``app.state``, where each handler's ``ctx: Ctx`` parameter reads it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from bss_reference import __version__
from bss_reference.api import BUSINESS_ROUTERS, platform
from bss_reference.config import Settings
from bss_reference.context import Context
from bss_reference.gateway import Gateway, RouteTable
from bss_reference.problems import ApiError, error_response, problem_response
from bss_reference.seed import seed
from bss_reference.tracing import trace_id_of


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    if parts and parts[0].isdigit() and len(loc) == 2 and loc[0] == "body":
        return "body"  # a JSON syntax error: loc is ("body", position)
    return ".".join(parts) or "body"


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(exc, request.url.path, trace_id=trace_id_of(request.scope))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            field = _field_of(tuple(e.get("loc", ())))
            message = "malformed JSON body" if e.get("type") == "json_invalid" else e.get("msg", "invalid")
            errors.append({"field": field, "message": message})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "Validation failed"
        return problem_response(400, detail, request.url.path, code="validation.failed",
                                errors=errors, trace_id=trace_id_of(request.scope))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = getattr(exc, "headers", None)
        table = getattr(request.app.state, "route_table", None)
        if exc.status_code == 405 and table is not None:
            headers = {**(headers or {}), "Allow": ", ".join(table.allowed_methods(request.url.path))}
        return problem_response(exc.status_code, str(exc.detail), request.url.path, headers=headers,
                                trace_id=trace_id_of(request.scope))

    async def bad_value(request: Request, exc: Exception):
        # Arithmetic on accepted input that leaves the representable range (dates past 9999,
        # integers too large for SQLite, unencodable text): the input is at fault, not the server.
        return problem_response(400, f"value out of range: {exc}", request.url.path,
                                code="validation.range", errors=[{"field": "body", "message": str(exc)}],
                                trace_id=trace_id_of(request.scope))

    for exc_type in (OverflowError, ValueError, UnicodeError):
        app.add_exception_handler(exc_type, bad_value)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        # A defect in the server: still answer problem JSON (and let the traceback be logged).
        return problem_response(500, f"Internal error: {type(exc).__name__}", request.url.path,
                                code="system.runtime", trace_id=trace_id_of(request.scope))


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for path, ops in schema.get("paths", {}).items():
        for op in ops.values():
            responses = op.get("responses", {})
            if "422" in responses:
                responses.pop("422")
                responses.setdefault("400", {"description": "Validation failed"})
            for code, response in responses.items():
                content = response.get("content")
                if code[0] in "45" and content and "application/json" in content \
                        and not path.startswith("/realms/"):
                    content["application/problem+json"] = content.pop("application/json")
                elif code == "400" and not content and not path.startswith("/realms/"):
                    response["content"] = {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/ProblemDetail"}}}
            if path.startswith("/api/"):
                op["security"] = [{"bearerAuth": []}]
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings, ctx: Context | None = None) -> tuple[Gateway, Context]:
    """Build the server: the ASGI callable to serve and its :class:`Context`."""
    ctx = ctx or Context.create(settings)
    seed(ctx.db, ctx.clock)
    ctx.metrics.customers.set(ctx.db.count("customers"))
    app = FastAPI(title="BSS reference server", version=__version__,
                  description="Reference implementation of the intended BSS API contract.",
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url=None)
    app.state.ctx = ctx
    _install_handlers(app)
    routers = [*BUSINESS_ROUTERS, platform.router]
    for router in routers:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    table = []
    for route in list(app.routes) + [route for router in routers for route in router.routes]:
        if isinstance(route, (APIRoute, Route)):
            table.append((route.path_regex, frozenset(route.methods or ()), route.path))
    app.state.route_table = route_table = RouteTable(table)
    return Gateway(app, ctx, route_table), ctx
