"""Order API: ``/api/v1/orders`` (contract §3), intended behaviour.

Intent over the real code: unknown customer → 404 (not a 500 from the foreign key), duplicate
``orderNumber`` → 409, version mismatch → 409, illegal transition → 409, unknown id → 404,
``notes`` stored, DELETE → 204 (``--quirks``: 501). The status change answers 200 with an empty
body, as documented.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from bss_contract.enums import OrderStatus, OrderType
from bss_reference.common import (
    Paging,
    UuidPath,
    check_version,
    empty_ok,
    iso,
    json_response,
    like,
    location,
    new_id,
    no_content,
    now_ts,
    page_response,
    paging,
    parse_uuid,
    today,
)
from bss_reference.context import Context
from bss_reference.models import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    CreateOrder,
    OrderResponse,
    PageResponse,
    UpdateOrderStatus,
)
from bss_reference.problems import bad_request, conflict, not_found

BASE = "/api/v1/orders"
STATUSES = OrderStatus.__args__  # type: ignore[attr-defined]
ORDER_TYPES = OrderType.__args__  # type: ignore[attr-defined]
TRANSITIONS = {
    "DRAFT": {"PENDING", "CANCELLED"},
    "PENDING": {"APPROVED", "REJECTED", "CANCELLED"},
    "APPROVED": {"IN_PROGRESS", "PROCESSING", "CANCELLED"},
    "IN_PROGRESS": {"COMPLETED", "CANCELLED"},
    "PROCESSING": {"COMPLETED", "CANCELLED"},
    "REJECTED": set(), "CANCELLED": set(), "COMPLETED": set(),
}
SEARCH_WHERE = ("json_extract(doc,'$.orderNumber') LIKE ?1 ESCAPE '\\' OR "
                "json_extract(doc,'$.notes') LIKE ?1 ESCAPE '\\'")


def principal(request: Request) -> str:
    return request.scope.get("bss.principal") or "SYSTEM"


def derive(doc: dict) -> dict:
    st = doc["status"]
    doc.update(statusDisplayName=st, isPending=st == "PENDING", isCompleted=st == "COMPLETED",
               canBeCancelled=st in ("PENDING", "APPROVED"))
    return doc


def parse_status(value: str) -> str:
    if value not in STATUSES:
        raise bad_request("status", f"must be one of {', '.join(STATUSES)}")
    return value


def build_router(ctx: Context) -> APIRouter:
    db = ctx.db
    r = APIRouter(tags=["orders"], responses=ERRORS)

    @r.post(BASE, status_code=201, response_model=OrderResponse, responses={**NOT_FOUND, **CONFLICT})
    async def create_order(body: CreateOrder, request: Request):
        cid = str(body.customerId)
        customer = db.get("customers", cid)
        if customer is None:
            raise not_found("Customer", cid)
        if db.key_exists("orders", body.orderNumber):
            raise conflict(f"Order number already exists: {body.orderNumber}")
        ts, who = now_ts(), principal(request)
        requested = body.requestedDate or today()
        promised = body.requestedDate + dt.timedelta(days=5) if body.requestedDate else None
        doc = {"id": new_id(), "orderNumber": body.orderNumber, "customerId": cid,
               "customerName": f"{customer['firstName']} {customer['lastName']}",
               "orderType": body.orderType, "orderTypeDisplayName": body.orderType,
               "status": body.status, "priority": body.priority,
               "priorityDisplayName": body.priority, "totalAmount": body.totalAmount,
               "currency": body.currency or "PLN", "requestedDate": iso(requested),
               "promisedDate": iso(promised),
               "completedDate": iso(today()) if body.status == "COMPLETED" else None,
               "orderChannel": body.orderChannel, "salesRepId": body.salesRepId,
               "salesRepName": None, "notes": body.notes, "itemCount": 0,
               "createdAt": ts, "updatedAt": ts, "createdBy": who, "updatedBy": who, "version": 0}
        derive(doc)
        db.insert("orders", doc)
        return json_response(doc, 201, {"Location": location(request, doc["id"])})

    @r.get(BASE, response_model=PageResponse[OrderResponse])
    async def list_orders(p: Paging = Depends(paging),
                          searchTerm: str | None = Query(None, max_length=200),
                          status: str | None = Query(None, max_length=20),
                          type: str | None = Query(None, max_length=30),
                          customerId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"})):
        clauses, params = [], []
        if searchTerm:
            clauses.append("(json_extract(doc,'$.orderNumber') LIKE ? ESCAPE '\\' OR "
                           "json_extract(doc,'$.notes') LIKE ? ESCAPE '\\')")
            params += [like(searchTerm)] * 2
        if status:
            clauses.append("status=?")
            params.append(parse_status(status))
        if type:
            if type not in ORDER_TYPES:
                raise bad_request("type", f"must be one of {', '.join(ORDER_TYPES)}")
            clauses.append("json_extract(doc,'$.orderType')=?")
            params.append(type)
        if customerId:
            clauses.append("customer_id=?")
            params.append(parse_uuid(customerId, "customerId"))
        return page_response(db, "orders", " AND ".join(clauses), tuple(params), p)

    @r.get(BASE + "/by-status/{status}", response_model=PageResponse[OrderResponse])
    async def list_orders_by_status(status: str, p: Paging = Depends(paging)):
        return page_response(db, "orders", "status=?", (parse_status(status),), p)

    @r.get(BASE + "/by-customer/{customerId}", response_model=PageResponse[OrderResponse])
    async def list_orders_by_customer(customerId: UuidPath, p: Paging = Depends(paging)):
        return page_response(db, "orders", "customer_id=?",
                             (parse_uuid(customerId, "customerId"),), p)

    @r.get(BASE + "/search", response_model=PageResponse[OrderResponse])
    async def search_orders(searchTerm: str = Query(..., max_length=200),
                            p: Paging = Depends(paging)):
        return page_response(db, "orders", SEARCH_WHERE, (like(searchTerm),), p)

    @r.get(BASE + "/{id}", response_model=OrderResponse, responses=NOT_FOUND)
    async def get_order(id: UuidPath):
        oid = parse_uuid(id, "id")
        doc = db.get("orders", oid)
        if doc is None:
            raise not_found("Order", oid, empty=True)
        return json_response(doc)

    @r.put(BASE + "/{id}/status", responses={200: {"description": "Empty body"}, **NOT_FOUND,
                                               **CONFLICT})
    async def change_order_status(id: UuidPath, body: UpdateOrderStatus, request: Request):
        oid = parse_uuid(id, "id")
        if str(body.id) != oid:
            raise bad_request("id", "must equal the path id")
        doc = db.get("orders", oid)
        if doc is None:
            raise not_found("Order", oid)
        check_version(doc["version"], body.version)
        if body.status not in TRANSITIONS[doc["status"]]:
            raise conflict(f"Illegal order status transition {doc['status']} -> {body.status}")
        doc.update(status=body.status, updatedAt=now_ts(), updatedBy=principal(request),
                   version=doc["version"] + 1)
        if body.status == "COMPLETED":
            doc["completedDate"] = iso(today())
        db.update("orders", derive(doc))
        return empty_ok()

    @r.delete(BASE + "/{id}", status_code=204, responses={**NOT_FOUND, 501: {"description": "quirks"}})
    async def delete_order(id: UuidPath):
        if ctx.settings.quirks:
            return Response(status_code=501)
        oid = parse_uuid(id, "id")
        if not db.delete("orders", oid):
            raise not_found("Order", oid)
        return no_content()

    return r
