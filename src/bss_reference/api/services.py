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

from fastapi import APIRouter, Query

from bss_contract.enums import ServiceType
from bss_reference.common import UuidPath, iso, json_response, new_id, now_ts, parse_uuid
from bss_reference.context import Context
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
from bss_reference.problems import bad_request, conflict, not_found

BASE = "/api/services"
TYPES = ServiceType.__args__  # type: ignore[attr-defined]
ACTIVATE_STEPS = [("Validate", "Validate the request"),
                  ("Verify Dependencies", "Verify that dependency services are active"),
                  ("Allocate", "Allocate resources"), ("Provision", "Provision the service"),
                  ("Verify", "Verify the service")]
DEACTIVATE_STEPS = [("Deprovision", "Deprovision the service"),
                    ("Release", "Release resources"), ("Confirm", "Confirm deactivation")]


def _step(order: int, name: str, desc: str, status: str, ts: str | None) -> dict:
    return {"id": new_id(), "stepOrder": order, "stepName": name, "stepDescription": desc,
            "status": status, "startedAt": ts, "completedAt": ts, "errorMessage": None,
            "retryCount": 0, "maxRetries": 3, "provisioningSystem": "REFERENCE",
            "provisioningCommand": None, "executionTimeMs": 0 if ts else None}


def build_router(ctx: Context) -> APIRouter:
    db, metrics = ctx.db, ctx.metrics
    r = APIRouter(tags=["services"], responses=ERRORS)
    by_name = "json_extract(doc,'$.name') ASC"

    @r.get(BASE, response_model=list[ServiceEntity])
    async def list_services():
        return json_response(db.select("services", "status='ACTIVE'", order=by_name))

    @r.get(BASE + "/by-category/{category}", response_model=list[ServiceEntity])
    async def list_services_by_category(category: str):
        return json_response(db.select(
            "services", "status='ACTIVE' AND json_extract(doc,'$.category')=?", (category,),
            order=by_name))

    @r.get(BASE + "/by-type/{type}", response_model=list[ServiceEntity])
    async def list_services_by_type(type: str):
        if type not in TYPES:
            raise bad_request("type", f"must be one of {', '.join(TYPES)}")
        return json_response(db.select(
            "services", "status='ACTIVE' AND json_extract(doc,'$.serviceType')=?", (type,),
            order=by_name))

    def eligibility(cid: str, code: str) -> tuple[bool, str | None, dict | None]:
        if db.get("customers", cid) is None:
            return False, f"Customer not found: {cid}", None
        service = db.get_by_key("services", code)
        if service is None:
            return False, f"Service not found: {code}", None
        if service["status"] != "ACTIVE":
            return False, f"Service {code} is not active", service
        active = {a["serviceCode"] for a in db.select("activations", "customer_id=? AND status='ACTIVE'", (cid,))}
        if code in active:
            return False, f"Customer already has an active {code}", service
        for dep in service["dependsOnServiceCodes"]:
            if dep not in active:
                return False, f"Dependency {dep} is not active for this customer", service
        return True, None, service

    @r.post(BASE + "/check-eligibility", response_model=Eligibility)
    async def check_eligibility(customerId: str = Query(..., max_length=64, json_schema_extra={"format": "uuid"}),
                                serviceCode: str = Query(..., max_length=100)):
        ok, reason, _ = eligibility(parse_uuid(customerId, "customerId"), serviceCode)
        return json_response({"eligible": ok, "reason": reason})

    @r.get(BASE + "/activations", response_model=list[ActivationResponse], responses=NOT_FOUND)
    async def list_activations(customerId: str = Query(..., max_length=64, json_schema_extra={"format": "uuid"})):
        cid = parse_uuid(customerId, "customerId")
        if db.get("customers", cid) is None:
            raise not_found("Customer", cid)
        return json_response(db.select("activations", "customer_id=? AND status='ACTIVE'", (cid,)))

    @r.get(BASE + "/activations/{activationId}", response_model=ActivationResponse,
           responses=NOT_FOUND)
    async def get_activation(activationId: UuidPath):
        aid = parse_uuid(activationId, "activationId")
        doc = db.get("activations", aid)
        if doc is None:
            raise not_found("Activation", aid, empty=True)
        return json_response(doc)

    @r.post(BASE + "/activations", response_model=ActivationResponse,
            responses={**NOT_FOUND, **CONFLICT})
    async def create_activation(body: CreateActivation):
        started = time.perf_counter()
        try:
            cid = str(body.customerId)
            if db.get("customers", cid) is None:
                raise not_found("Customer", cid)
            if db.get_by_key("services", body.serviceCode) is None:
                raise not_found("Service", body.serviceCode)
            ok, reason, service = eligibility(cid, body.serviceCode)
            if not ok:
                raise conflict(f"Customer is not eligible: {reason}")
            assert service is not None
            ts = now_ts()
            provision = service["autoProvision"] and body.scheduledDate is None
            steps = [s for s in ACTIVATE_STEPS
                     if s[0] != "Verify Dependencies" or service["dependsOnServiceCodes"]]
            step_status, step_ts = ("COMPLETED", ts) if provision else ("PENDING", None)
            status = "ACTIVE" if provision else ("SCHEDULED" if body.scheduledDate else "PENDING")
            doc = {"id": new_id(), "customerId": cid, "serviceCode": body.serviceCode,
                   "serviceName": service["name"], "status": status,
                   "activationDate": ts if provision else None, "deactivationDate": None,
                   "scheduledDate": iso(body.scheduledDate.replace(tzinfo=None))
                   if body.scheduledDate else None,
                   "activationNotes": body.activationNotes, "deactivationNotes": None,
                   "correlationId": body.correlationId or f"ACTIVATION-{new_id()}",
                   "retryCount": 0, "maxRetries": 3,
                   "steps": [_step(i + 1, n, d, step_status, step_ts) for i, (n, d) in enumerate(steps)]}
            db.insert("activations", doc)
            return json_response(doc)
        finally:
            metrics.activation_duration.observe(time.perf_counter() - started)

    @r.post(BASE + "/activations/{activationId}/deactivate", response_model=ActivationResponse,
            responses={**NOT_FOUND, **CONFLICT})
    async def deactivate_activation(activationId: UuidPath, body: DeactivateActivation):
        started = time.perf_counter()
        try:
            aid = parse_uuid(activationId, "activationId")
            if str(body.activationId) != aid:
                raise bad_request("activationId", "must equal the path activationId")
            doc = db.get("activations", aid)
            if doc is None:
                raise not_found("Activation", aid)
            if doc["status"] != "ACTIVE":
                raise conflict(f"Activation is {doc['status']}, only ACTIVE can be deactivated")
            ts = now_ts()
            n = len(doc["steps"])
            doc["steps"] += [_step(n + i + 1, name, d, "PENDING", None)
                             for i, (name, d) in enumerate(DEACTIVATE_STEPS)]
            doc.update(status="DEPROVISIONING", deactivationDate=ts,
                       deactivationNotes=body.deactivationNotes)
            db.update("activations", doc)
            return json_response(doc)
        finally:
            metrics.deactivation_duration.observe(time.perf_counter() - started)

    return r
