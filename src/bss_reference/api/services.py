"""Service API: ``/api/services`` (contract §7): read-only catalogue, activations, eligibility.

Intent over the real code: unknown customer / service / activation → 404, bad enum → 400.
One addition so that activations have a life cycle over REST: an activation of a service with
``autoProvision: true`` and no ``scheduledDate`` is provisioned at once (its steps COMPLETED,
status ACTIVE); other services stay PENDING (or SCHEDULED), as documented. Deactivation works from
ACTIVE only (→ DEPROVISIONING, 3 more steps), anything else → 409. The deactivation uses the path
id; a body ``activationId`` that differs → 400.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, get_args

from fastapi import APIRouter, Query
from prometheus_client import Summary

from bss_contract.enums import ServiceType
from bss_reference.common import UuidPath, enum_value, fetch, iso, json_response, new_id, parse_uuid, same_id
from bss_reference.context import Context, Ctx
from bss_reference.models import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    ActivationResponse,
    CreateActivation,
    DeactivateActivation,
    Eligibility,
    ServiceEntity,
)
from bss_reference.problems import conflict, not_found

BASE = "/api/services"
TYPES = get_args(ServiceType)
ACTIVATE_STEPS = [("Validate", "Validate the request"),
                  ("Verify Dependencies", "Verify that dependency services are active"),
                  ("Allocate", "Allocate resources"), ("Provision", "Provision the service"),
                  ("Verify", "Verify the service")]
DEACTIVATE_STEPS = [("Deprovision", "Deprovision the service"),
                    ("Release", "Release resources"), ("Confirm", "Confirm deactivation")]
BY_NAME = "json_extract(doc,'$.name') ASC"
ACTIVE_OF_CUSTOMER = "customer_id=? AND status='ACTIVE'"

router = APIRouter(tags=["services"], responses=ERRORS)


def _step(order: int, name: str, desc: str, status: str, ts: str | None) -> dict:
    return {"id": new_id(), "stepOrder": order, "stepName": name, "stepDescription": desc,
            "status": status, "startedAt": ts, "completedAt": ts, "errorMessage": None,
            "retryCount": 0, "maxRetries": 3, "provisioningSystem": "REFERENCE",
            "provisioningCommand": None, "executionTimeMs": 0 if ts else None}


@contextmanager
def timed(summary: Summary) -> Iterator[None]:
    """Observe the duration of the block in ``summary``, whether it answers or raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        summary.observe(time.perf_counter() - started)


def active_services(ctx: Context, where: str = "", params: tuple = ()) -> list[dict[str, Any]]:
    return ctx.db.select("services", "status='ACTIVE'" + (f" AND {where}" if where else ""), params, order=BY_NAME)


def eligibility(ctx: Context, cid: str, code: str) -> tuple[bool, str | None, dict | None]:
    db = ctx.db
    if db.get("customers", cid) is None:
        return False, f"Customer not found: {cid}", None
    service = db.get_by_key("services", code)
    if service is None:
        return False, f"Service not found: {code}", None
    if service["status"] != "ACTIVE":
        return False, f"Service {code} is not active", service
    active = {a["serviceCode"] for a in db.select("activations", ACTIVE_OF_CUSTOMER, (cid,))}
    if code in active:
        return False, f"Customer already has an active {code}", service
    for dep in service["dependsOnServiceCodes"]:
        if dep not in active:
            return False, f"Dependency {dep} is not active for this customer", service
    return True, None, service


@router.get(BASE, response_model=list[ServiceEntity])
async def list_services(ctx: Ctx):
    return json_response(active_services(ctx))


@router.get(BASE + "/by-category/{category}", response_model=list[ServiceEntity])
async def list_services_by_category(ctx: Ctx, category: str):
    return json_response(active_services(ctx, "json_extract(doc,'$.category')=?", (category,)))


@router.get(BASE + "/by-type/{type}", response_model=list[ServiceEntity])
async def list_services_by_type(ctx: Ctx, type: str):
    return json_response(active_services(ctx, "json_extract(doc,'$.serviceType')=?",
                                         (enum_value(type, TYPES, "type"),)))


@router.post(BASE + "/check-eligibility", response_model=Eligibility)
async def check_eligibility(ctx: Ctx,
                            customerId: str = Query(..., max_length=64, json_schema_extra={"format": "uuid"}),
                            serviceCode: str = Query(..., max_length=100)):
    ok, reason, _ = eligibility(ctx, parse_uuid(customerId, "customerId"), serviceCode)
    return json_response({"eligible": ok, "reason": reason})


@router.get(BASE + "/activations", response_model=list[ActivationResponse], responses=NOT_FOUND)
async def list_activations(ctx: Ctx,
                           customerId: str = Query(..., max_length=64, json_schema_extra={"format": "uuid"})):
    cid = parse_uuid(customerId, "customerId")
    fetch(ctx.db, "customers", "Customer", cid)
    return json_response(ctx.db.select("activations", ACTIVE_OF_CUSTOMER, (cid,)))


@router.get(BASE + "/activations/{activationId}", response_model=ActivationResponse, responses=NOT_FOUND)
async def get_activation(ctx: Ctx, activationId: UuidPath):
    aid = parse_uuid(activationId, "activationId")
    return json_response(fetch(ctx.db, "activations", "Activation", aid, empty=True))


@router.post(BASE + "/activations", response_model=ActivationResponse, responses={**NOT_FOUND, **CONFLICT})
async def create_activation(ctx: Ctx, body: CreateActivation):
    with timed(ctx.metrics.activation_duration):
        cid = str(body.customerId)
        fetch(ctx.db, "customers", "Customer", cid)
        if ctx.db.get_by_key("services", body.serviceCode) is None:
            raise not_found("Service", body.serviceCode)
        ok, reason, service = eligibility(ctx, cid, body.serviceCode)
        if not ok:
            raise conflict(f"Customer is not eligible: {reason}")
        assert service is not None
        ts = ctx.clock.timestamp()
        provision = service["autoProvision"] and body.scheduledDate is None
        steps = [s for s in ACTIVATE_STEPS if s[0] != "Verify Dependencies" or service["dependsOnServiceCodes"]]
        step_status, step_ts = ("COMPLETED", ts) if provision else ("PENDING", None)
        status = "ACTIVE" if provision else ("SCHEDULED" if body.scheduledDate else "PENDING")
        doc = {"id": new_id(), "customerId": cid, "serviceCode": body.serviceCode,
               "serviceName": service["name"], "status": status,
               "activationDate": ts if provision else None, "deactivationDate": None,
               "scheduledDate": iso(body.scheduledDate.replace(tzinfo=None)) if body.scheduledDate else None,
               "activationNotes": body.activationNotes, "deactivationNotes": None,
               "correlationId": body.correlationId or f"ACTIVATION-{new_id()}",
               "retryCount": 0, "maxRetries": 3,
               "steps": [_step(i + 1, n, d, step_status, step_ts) for i, (n, d) in enumerate(steps)]}
        ctx.db.insert("activations", doc)
        return json_response(doc)


@router.post(BASE + "/activations/{activationId}/deactivate", response_model=ActivationResponse,
             responses={**NOT_FOUND, **CONFLICT})
async def deactivate_activation(ctx: Ctx, activationId: UuidPath, body: DeactivateActivation):
    with timed(ctx.metrics.deactivation_duration):
        aid = parse_uuid(activationId, "activationId")
        same_id(aid, body.activationId, "activationId")
        doc = fetch(ctx.db, "activations", "Activation", aid)
        if doc["status"] != "ACTIVE":
            raise conflict(f"Activation is {doc['status']}, only ACTIVE can be deactivated")
        n = len(doc["steps"])
        doc["steps"] += [_step(n + i + 1, name, d, "PENDING", None) for i, (name, d) in enumerate(DEACTIVATE_STEPS)]
        doc.update(status="DEPROVISIONING", deactivationDate=ctx.clock.timestamp(),
                   deactivationNotes=body.deactivationNotes)
        ctx.db.update("activations", doc)
        return json_response(doc)
