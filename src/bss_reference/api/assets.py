"""Asset API: ``/api/assets`` (contract §8): assets, network elements and SIM cards.

Intent over the real code: unknown ids → 404 (problem JSON), wrong state → 409. Path ``{assetId}``
is the asset's UUID; ``{elementId}`` and ``{simId}`` accept the UUID ``id`` or the business key
(``elementId`` / ``iccid``). A SIM assignment moves AVAILABLE → ASSIGNED (else 409). Network
element statuses default to ACTIVE; ``isOnline`` means a heartbeat within the last 5 minutes.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query

from bss_reference.common import UuidPath, empty_ok, iso, json_response, new_id, now_ts, parse_uuid, today, try_uuid
from bss_reference.context import Context
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


def _online(doc: dict) -> dict:
    hb = doc.get("lastHeartbeat")
    doc["isOnline"] = bool(hb) and hb >= (dt.datetime.now() - ONLINE_WINDOW).isoformat(timespec="milliseconds")
    return doc


def build_router(ctx: Context) -> APIRouter:
    db = ctx.db
    r = APIRouter(tags=["assets"], responses=ERRORS)

    # -- assets --------------------------------------------------------------------------------
    @r.post(BASE, response_model=AssetResponse, responses=CONFLICT)
    async def create_asset(body: CreateAsset):
        if db.key_exists("assets", body.assetTag):
            raise conflict(f"Asset tag already exists: {body.assetTag}")
        doc = {"id": new_id(), "assetTag": body.assetTag, "assetType": body.assetType,
               "name": body.name, "description": body.description,
               "serialNumber": body.serialNumber, "modelNumber": body.modelNumber,
               "manufacturer": body.manufacturer, "status": "AVAILABLE",
               "purchaseDate": iso(body.purchaseDate), "warrantyExpiry": iso(body.warrantyExpiry),
               "location": body.location, "assignedToType": None, "assignedToId": None,
               "assignedToName": None, "assignedDate": None, "costCenter": body.costCenter,
               "notes": body.notes}
        db.insert("assets", doc)
        return json_response(doc)

    def load_asset(assetId: UuidPath) -> dict:
        aid = parse_uuid(assetId, "assetId")
        doc = db.get("assets", aid)
        if doc is None:
            raise not_found("Asset", aid)
        return doc

    @r.post(BASE + "/{assetId}/assign", response_model=AssetResponse,
            responses={**NOT_FOUND, **CONFLICT})
    async def assign_asset(assetId: UuidPath, body: AssignAsset):
        doc = load_asset(assetId)
        if doc["status"] != "AVAILABLE":
            raise conflict(f"Asset is {doc['status']}, only AVAILABLE can be assigned")
        doc.update(status="IN_USE", assignedToType=body.assignedToType,
                   assignedToId=body.assignedToId, assignedToName=body.assignedToName,
                   assignedDate=iso(today()))
        db.update("assets", doc)
        return json_response(doc)

    @r.post(BASE + "/{assetId}/release", response_model=AssetResponse,
            responses={**NOT_FOUND, **CONFLICT})
    async def release_asset(assetId: UuidPath):
        doc = load_asset(assetId)
        if doc["status"] != "IN_USE":
            raise conflict(f"Asset is {doc['status']}, only IN_USE can be released")
        doc.update(status="AVAILABLE", assignedToType=None, assignedToId=None,
                   assignedToName=None, assignedDate=None)
        db.update("assets", doc)
        return json_response(doc)

    @r.get(BASE, response_model=list[AssetResponse])
    async def list_assets():
        return json_response(db.select("assets"))

    @r.get(BASE + "/available", response_model=list[AssetResponse])
    async def list_available_assets():
        return json_response(db.select("assets", "status='AVAILABLE'"))

    @r.get(BASE + "/by-customer/{customerId}", response_model=list[AssetResponse])
    async def list_assets_by_customer(customerId: str):
        return json_response(db.select("assets", "customer_id=?", (customerId,)))

    @r.get(BASE + "/warranty-expiring", response_model=list[AssetResponse])
    async def list_assets_warranty_expiring(days: int = Days):
        t = today()
        return json_response(db.select(
            "assets", "json_extract(doc,'$.warrantyExpiry') BETWEEN ? AND ?",
            (t.isoformat(), (t + dt.timedelta(days=days)).isoformat())))

    # -- network elements ----------------------------------------------------------------------
    def load_element(elementId: str) -> dict:
        uid = try_uuid(elementId)
        doc = (db.get("elements", uid) if uid else None) or db.get_by_key("elements", elementId)
        if doc is None:
            raise not_found("Network element", elementId)
        return doc

    @r.post(BASE + "/elements", response_model=NetworkElementResponse, responses=CONFLICT)
    async def create_network_element(body: CreateNetworkElement):
        if db.key_exists("elements", body.elementId):
            raise conflict(f"Network element already exists: {body.elementId}")
        doc = {"id": new_id(), **body.model_dump(), "status": body.status or "ACTIVE",
               "lastHeartbeat": None, "isOnline": False, "createdAt": now_ts()}
        db.insert("elements", doc)
        return json_response(doc)

    @r.post(BASE + "/elements/{elementId}/heartbeat", responses={200: {"description": "Empty body"},
                                                                  **NOT_FOUND})
    async def network_element_heartbeat(elementId: str):
        doc = load_element(elementId)
        doc["lastHeartbeat"] = now_ts()
        db.update("elements", _online(doc))
        return empty_ok()

    @r.get(BASE + "/elements", response_model=list[NetworkElementResponse])
    async def list_network_elements():
        return json_response([_online(d) for d in db.select("elements")])

    @r.get(BASE + "/elements/online", response_model=list[NetworkElementResponse])
    async def list_online_network_elements():
        cutoff = (dt.datetime.now() - ONLINE_WINDOW).isoformat(timespec="milliseconds")
        return json_response([_online(d) for d in db.select(
            "elements", "json_extract(doc,'$.lastHeartbeat') >= ?", (cutoff,))])

    @r.get(BASE + "/elements/maintenance", response_model=list[NetworkElementResponse])
    async def list_maintenance_network_elements():
        return json_response([_online(d) for d in db.select("elements", "status='MAINTENANCE'")])

    # -- SIM cards -----------------------------------------------------------------------------
    @r.post(BASE + "/sim-cards", response_model=SimCardResponse, responses=CONFLICT)
    async def create_sim_card(body: CreateSimCard):
        if db.key_exists("sims", body.iccid):
            raise conflict(f"SIM card already exists: {body.iccid}")
        doc = {"id": new_id(), "iccid": body.iccid, "msisdn": body.msisdn, "imsi": body.imsi,
               "networkOperator": body.networkOperator, "apn": body.apn,
               "status": body.status or "AVAILABLE", "expiryDate": iso(body.expiryDate),
               "assignedToType": None, "assignedToId": None, "assignedToName": None,
               "assignedDate": None}
        db.insert("sims", doc)
        return json_response(doc)

    @r.post(BASE + "/sim-cards/{simId}/assign", response_model=SimCardResponse,
            responses={**NOT_FOUND, **CONFLICT})
    async def assign_sim_card(simId: str,
                              assignedToType: str = Query(..., min_length=1, max_length=50),
                              assignedToId: str = Query(..., min_length=1, max_length=100),
                              assignedToName: str = Query(..., min_length=1, max_length=200)):
        uid = try_uuid(simId)
        doc = (db.get("sims", uid) if uid else None) or db.get_by_key("sims", simId)
        if doc is None:
            raise not_found("SIM card", simId)
        if doc["status"] != "AVAILABLE":
            raise conflict(f"SIM card is {doc['status']}, only AVAILABLE can be assigned")
        doc.update(status="ASSIGNED", assignedToType=assignedToType, assignedToId=assignedToId,
                   assignedToName=assignedToName, assignedDate=iso(today()))
        db.update("sims", doc)
        return json_response(doc)

    @r.get(BASE + "/sim-cards", response_model=list[SimCardResponse])
    async def list_sim_cards():
        return json_response(db.select("sims"))

    @r.get(BASE + "/sim-cards/available", response_model=list[SimCardResponse])
    async def list_available_sim_cards():
        return json_response(db.select("sims", "status='AVAILABLE'"))

    @r.get(BASE + "/sim-cards/by-customer/{customerId}", response_model=list[SimCardResponse])
    async def list_sim_cards_by_customer(customerId: str):
        return json_response(db.select("sims", "customer_id=?", (customerId,)))

    @r.get(BASE + "/sim-cards/expired", response_model=list[SimCardResponse])
    async def list_expired_sim_cards():
        return json_response(db.select("sims", "json_extract(doc,'$.expiryDate') < ?",
                                       (today().isoformat(),)))

    @r.get(BASE + "/sim-cards/expiring", response_model=list[SimCardResponse])
    async def list_expiring_sim_cards(days: int = Days):
        t = today()
        return json_response(db.select(
            "sims", "json_extract(doc,'$.expiryDate') BETWEEN ? AND ?",
            (t.isoformat(), (t + dt.timedelta(days=days)).isoformat())))

    return r
