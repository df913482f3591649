"""Non-business endpoints: actuator (health, info, prometheus), the token endpoint, fault admin."""

from __future__ import annotations

import base64
import binascii
import os
import shutil
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Body, Request
from pydantic import ValidationError
from starlette.responses import Response

from bss_reference import __version__
from bss_reference.api import ENDPOINT_KEYS
from bss_reference.auth import AuthError
from bss_reference.common import json_response
from bss_reference.context import Context, Ctx
from bss_reference.faults import FaultConfig
from bss_reference.problems import ApiError

TOKEN_PATH = "/realms/bss/protocol/openid-connect/token"
HEALTH_GROUPS = ["liveness", "readiness"]
TOKEN_FORM = {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["grant_type", "client_id", "client_secret"],
    "properties": {"grant_type": {"type": "string", "enum": ["client_credentials"]},
                   "client_id": {"type": "string"}, "client_secret": {"type": "string"}}}}}

router = APIRouter()


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        user, _, pw = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return user, pw


def components(ctx: Context) -> dict[str, Any]:
    try:
        ctx.db.conn.execute("SELECT 1").fetchone()
        db_status = {"status": "UP", "details": {"database": "SQLite", "validationQuery": "isValid()"}}
    except Exception as exc:  # noqa: BLE001 - health must report, not raise
        db_status = {"status": "DOWN", "details": {"error": str(exc)}}
    usage = shutil.disk_usage(os.getcwd())
    return {
        "db": db_status,
        "diskSpace": {"status": "UP", "details": {"total": usage.total, "free": usage.free,
                                                  "threshold": 10485760, "exists": True}},
        "ping": {"status": "UP"},
        "livenessState": {"status": "UP"},
        "readinessState": {"status": "UP"},
    }


# -- actuator ----------------------------------------------------------------------------------
@router.get("/actuator/health", tags=["actuator"])
async def health(ctx: Ctx):
    comps = components(ctx)
    up = all(c["status"] == "UP" for c in comps.values())
    return json_response({"status": "UP" if up else "DOWN", "components": comps,
                          "groups": HEALTH_GROUPS}, 200 if up else 503)


@router.get("/actuator/health/liveness", tags=["actuator"])
async def health_liveness():
    return json_response({"status": "UP"})


@router.get("/actuator/health/readiness", tags=["actuator"])
async def health_readiness(ctx: Ctx):
    up = components(ctx)["db"]["status"] == "UP"
    return json_response({"status": "UP" if up else "OUT_OF_SERVICE"}, 200 if up else 503)


@router.get("/actuator/info", tags=["actuator"])
async def info(ctx: Ctx):
    s = ctx.settings
    return json_response({"app": {"name": "bss-reference", "version": __version__,
                                  "description": "Reference BSS server"},
                          "reference": {"auth": s.auth, "rateLimit": s.rate_limit, "quirks": s.quirks,
                                        "db": "memory" if s.db == ":memory:" else "file"}})


@router.get("/actuator/prometheus", tags=["actuator"], responses={200: {"content": {"text/plain": {}}}})
async def prometheus(ctx: Ctx):
    return Response(ctx.metrics.render(), media_type=ctx.metrics.content_type)


# -- token endpoint ----------------------------------------------------------------------------
@router.post(TOKEN_PATH, tags=["auth"], openapi_extra={"requestBody": {"content": TOKEN_FORM}},
             responses={400: {"description": "unsupported_grant_type / invalid_request"},
                        401: {"description": "unauthorized_client"}})
async def token(ctx: Ctx, request: Request):
    raw = await request.body()
    try:
        form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        form = {}
    try:
        body = ctx.issuer.issue(form, _basic_credentials(request.headers.get("authorization")),
                                str(request.base_url))
    except AuthError as exc:
        return json_response(exc.body(), exc.status)
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


# -- fault injection admin ---------------------------------------------------------------------
def current_faults(ctx: Context) -> Response:
    return json_response(ctx.faults.current.model_dump(mode="json", exclude_none=False))


@router.get("/admin/faults", tags=["admin"], response_model=FaultConfig)
async def get_faults(ctx: Ctx):
    return current_faults(ctx)


@router.put("/admin/faults", tags=["admin"], response_model=FaultConfig)
async def put_faults(ctx: Ctx, config: dict[str, Any] = Body(...)):
    try:
        parsed = FaultConfig.model_validate(config)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(x) for x in e["loc"]) or "body", "message": e["msg"]}
                  for e in exc.errors()]
        raise ApiError(400, "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                       code="validation.failed", errors=errors) from None
    unknown = sorted(set(parsed.endpoints) - set(ENDPOINT_KEYS))
    if unknown:
        raise ApiError(400, f"unknown endpoint(s) {', '.join(unknown)}; valid: " + ", ".join(ENDPOINT_KEYS),
                       code="validation.failed",
                       errors=[{"field": f"endpoints.{k}", "message": "unknown endpoint"} for k in unknown])
    ctx.faults.replace(parsed)
    return current_faults(ctx)


@router.delete("/admin/faults", tags=["admin"], response_model=FaultConfig)
async def delete_faults(ctx: Ctx):
    ctx.faults.reset()
    return current_faults(ctx)
