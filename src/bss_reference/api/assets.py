"""Asset API: ``/api/assets`` (contract §8): assets, network elements and SIM cards.

Intent over the real code: unknown ids → 404 (problem JSON), wrong state → 409. Path ``{assetId}``
is the asset's UUID; ``{elementId}`` and ``{simId}`` accept the UUID ``id`` or the business key
(``elementId`` / ``iccid``). A SIM assignment moves AVAILABLE → ASSIGNED (else 409). Network
element statuses default to ACTIVE; ``isOnline`` means a heartbeat within the last 5 minutes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query

from bss_reference.common import UuidPath, empty_ok, fetch, iso, json_response, new_id, parse_uuid, try_uuid
from bss_reference.context import Context, Ctx
from bss_reference.models import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    AssetResponse,
    AssignAsset,
    CreateAsset,
    CreateNetworkElement,
    CreateSimCard,
    NetworkElementResponse,
    SimCardResponse,
)
from bss_reference.problems import conflict, not_found

BASE = "/api/assets"
ONLINE_WINDOW = dt.timedelta(minutes=5)
Days = Query(30, ge=0, le=36500, description="Look-ahead in days.")

router = APIRouter(tags=["assets"], responses=ERRORS)


def online_since(ctx: Context) -> str:
    """The oldest heartbeat that still counts as online."""
    return (ctx.clock.now() - ONLINE_WINDOW).isoformat(timespec="milliseconds")


def with_online(ctx: Context, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    since = online_since(ctx)
    for doc in docs:
        hb = doc.get("lastHeartbeat")
        doc["isOnline"] = bool(hb) and hb >= since
    return docs


def expiring(ctx: Context, table: str, field: str, days: int) -> list[dict[str, Any]]:
    """Rows of ``table`` whose date ``field`` falls from today through ``days`` days ahead."""
    t = ctx.clock.today()
    return ctx.db.select(table, f"json_extract(doc,'$.{field}') BETWEEN ? AND ?",
                         (t.isoformat(), (t + dt.timedelta(days=days)).isoformat()))


def by_id_or_key(ctx: Context, table: str, what: str, ident: str) -> dict[str, Any]:
    """The row whose UUID ``id`` or business key is ``ident``, or a 404."""
    uid = try_uuid(ident)
    doc = (ctx.db.get(table, uid) if uid else None) or ctx.db.get_by_key(table, ident)
    if doc is None:
        raise not_found(what, ident)
    return doc


def load_asset(ctx: Context, assetId: str) -> dict:
    return fetch(ctx.db, "assets", "Asset", parse_uuid(assetId, "assetId"))


# -- assets ------------------------------------------------------------------------------------
@router.post(BASE, response_model=AssetResponse, responses=CONFLICT)
async def create_asset(ctx: Ctx, body: CreateAsset):
    if ctx.db.key_exists("assets", body.assetTag):
        raise conflict(f"Asset tag already exists: {body.assetTag}")
    doc = {"id": new_id(), "assetTag": body.assetTag, "assetType": body.assetType,
           "name": body.name, "description": body.description,
           "serialNumber": body.serialNumber, "modelNumber": body.modelNumber,
           "manufacturer": body.manufacturer, "status": "AVAILABLE",
           "purchaseDate": iso(body.purchaseDate), "warrantyExpiry": iso(body.warrantyExpiry),
           "location": body.location, "assignedToType": None, "assignedToId": None,
           "assignedToName": None, "assignedDate": None, "costCenter": body.costCenter,
           "notes": body.notes}
    ctx.db.insert("assets", doc)
    return json_response(doc)


@router.post(BASE + "/{assetId}/assign", response_model=AssetResponse, responses={**NOT_FOUND, **CONFLICT})
async def assign_asset(ctx: Ctx, assetId: UuidPath, body: AssignAsset):
    doc = load_asset(ctx, assetId)
    if doc["status"] != "AVAILABLE":
        raise conflict(f"Asset is {doc['status']}, only AVAILABLE can be assigned")
    doc.update(status="IN_USE", assignedToType=body.assignedToType,
               assignedToId=body.assignedToId, assignedToName=body.assignedToName,
               assignedDate=iso(ctx.clock.today()))
    ctx.db.update("assets", doc)
    return json_response(doc)


@router.post(BASE + "/{assetId}/release", response_model=AssetResponse, responses={**NOT_FOUND, **CONFLICT})
async def release_asset(ctx: Ctx, assetId: UuidPath):
    doc = load_asset(ctx, assetId)
    if doc["status"] != "IN_USE":
        raise conflict(f"Asset is {doc['status']}, only IN_USE can be released")
    doc.update(status="AVAILABLE", assignedToType=None, assignedToId=None,
               assignedToName=None, assignedDate=None)
    ctx.db.update("assets", doc)
    return json_response(doc)


@router.get(BASE, response_model=list[AssetResponse])
async def list_assets(ctx: Ctx):
    return json_response(ctx.db.select("assets"))


@router.get(BASE + "/available", response_model=list[AssetResponse])
async def list_available_assets(ctx: Ctx):
    return json_response(ctx.db.select("assets", "status='AVAILABLE'"))


@router.get(BASE + "/by-customer/{customerId}", response_model=list[AssetResponse])
async def list_assets_by_customer(ctx: Ctx, customerId: str):
    return json_response(ctx.db.select("assets", "customer_id=?", (customerId,)))


@router.get(BASE + "/warranty-expiring", response_model=list[AssetResponse])
async def list_assets_warranty_expiring(ctx: Ctx, days: int = Days):
    return json_response(expiring(ctx, "assets", "warrantyExpiry", days))


# -- network elements --------------------------------------------------------------------------
@router.post(BASE + "/elements", response_model=NetworkElementResponse, responses=CONFLICT)
async def create_network_element(ctx: Ctx, body: CreateNetworkElement):
    if ctx.db.key_exists("elements", body.elementId):
        raise conflict(f"Network element already exists: {body.elementId}")
    doc = {"id": new_id(), **body.model_dump(), "status": body.status or "ACTIVE",
           "lastHeartbeat": None, "isOnline": False, "createdAt": ctx.clock.timestamp()}
    ctx.db.insert("elements", doc)
    return json_response(doc)


@router.post(BASE + "/elements/{elementId}/heartbeat",
             responses={200: {"description": "Empty body"}, **NOT_FOUND})
async def network_element_heartbeat(ctx: Ctx, elementId: str):
    doc = by_id_or_key(ctx, "elements", "Network element", elementId)
    doc["lastHeartbeat"] = ctx.clock.timestamp()
    ctx.db.update("elements", with_online(ctx, [doc])[0])
    return empty_ok()


@router.get(BASE + "/elements", response_model=list[NetworkElementResponse])
async def list_network_elements(ctx: Ctx):
    return json_response(with_online(ctx, ctx.db.select("elements")))


@router.get(BASE + "/elements/online", response_model=list[NetworkElementResponse])
async def list_online_network_elements(ctx: Ctx):
    return json_response(with_online(ctx, ctx.db.select(
        "elements", "json_extract(doc,'$.lastHeartbeat') >= ?", (online_since(ctx),))))


@router.get(BASE + "/elements/maintenance", response_model=list[NetworkElementResponse])
async def list_maintenance_network_elements(ctx: Ctx):
    return json_response(with_online(ctx, ctx.db.select("elements", "status='MAINTENANCE'")))


# -- SIM cards ---------------------------------------------------------------------------------
@router.post(BASE + "/sim-cards", response_model=SimCardResponse, responses=CONFLICT)
async def create_sim_card(ctx: Ctx, body: CreateSimCard):
    if ctx.db.key_exists("sims", body.iccid):
        raise conflict(f"SIM card already exists: {body.iccid}")
    doc = {"id": new_id(), "iccid": body.iccid, "msisdn": body.msisdn, "imsi": body.imsi,
           "networkOperator": body.networkOperator, "apn": body.apn,
           "status": body.status or "AVAILABLE", "expiryDate": iso(body.expiryDate),
           "assignedToType": None, "assignedToId": None, "assignedToName": None,
           "assignedDate": None}
    ctx.db.insert("sims", doc)
    return json_response(doc)


@router.post(BASE + "/sim-cards/{simId}/assign", response_model=SimCardResponse,
             responses={**NOT_FOUND, **CONFLICT})
async def assign_sim_card(ctx: Ctx, simId: str,
                          assignedToType: str = Query(..., min_length=1, max_length=50),
                          assignedToId: str = Query(..., min_length=1, max_length=100),
                          assignedToName: str = Query(..., min_length=1, max_length=200)):
    doc = by_id_or_key(ctx, "sims", "SIM card", simId)
    if doc["status"] != "AVAILABLE":
        raise conflict(f"SIM card is {doc['status']}, only AVAILABLE can be assigned")
    doc.update(status="ASSIGNED", assignedToType=assignedToType, assignedToId=assignedToId,
               assignedToName=assignedToName, assignedDate=iso(ctx.clock.today()))
    ctx.db.update("sims", doc)
    return json_response(doc)


@router.get(BASE + "/sim-cards", response_model=list[SimCardResponse])
async def list_sim_cards(ctx: Ctx):
    return json_response(ctx.db.select("sims"))


@router.get(BASE + "/sim-cards/available", response_model=list[SimCardResponse])
async def list_available_sim_cards(ctx: Ctx):
    return json_response(ctx.db.select("sims", "status='AVAILABLE'"))


@router.get(BASE + "/sim-cards/by-customer/{customerId}", response_model=list[SimCardResponse])
async def list_sim_cards_by_customer(ctx: Ctx, customerId: str):
    return json_response(ctx.db.select("sims", "customer_id=?", (customerId,)))


@router.get(BASE + "/sim-cards/expired", response_model=list[SimCardResponse])
async def list_expired_sim_cards(ctx: Ctx):
    return json_response(ctx.db.select("sims", "json_extract(doc,'$.expiryDate') < ?",
                                       (ctx.clock.today().isoformat(),)))


@router.get(BASE + "/sim-cards/expiring", response_model=list[SimCardResponse])
async def list_expiring_sim_cards(ctx: Ctx, days: int = Days):
    return json_response(expiring(ctx, "sims", "expiryDate", days))
