"""Order API: ``/api/v1/orders`` (contract §3), intended behaviour.

Intent over the real code: unknown customer → 404 (not a 500 from the foreign key), duplicate
``orderNumber`` → 409, version mismatch → 409, illegal transition → 409, unknown id → 404,
``notes`` stored, DELETE → 204 (``--quirks``: 501). The status change answers 200 with an empty
body, as documented.
"""

from __future__ import annotations

import datetime as dt
from typing import get_args

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from bss_contract.enums import OrderStatus, OrderType
from bss_reference.common import (
    Paging,
    UuidPath,
    all_of,
    check_version,
    empty_ok,
    enum_value,
    fetch,
    full_name,
    iso,
    json_response,
    like,
    location,
    new_id,
    page_response,
    paging,
    parse_uuid,
    principal,
    remove,
    revise,
    same_id,
)
from bss_reference.context import Ctx
from bss_reference.models import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    CreateOrder,
    OrderResponse,
    PageResponse,
    UpdateOrderStatus,
)
from bss_reference.problems import conflict

BASE = "/api/v1/orders"
STATUSES = get_args(OrderStatus)
ORDER_TYPES = get_args(OrderType)
TRANSITIONS = {
    "DRAFT": {"PENDING", "CANCELLED"},
    "PENDING": {"APPROVED", "REJECTED", "CANCELLED"},
    "APPROVED": {"IN_PROGRESS", "PROCESSING", "CANCELLED"},
    "IN_PROGRESS": {"COMPLETED", "CANCELLED"},
    "PROCESSING": {"COMPLETED", "CANCELLED"},
    "REJECTED": set(), "CANCELLED": set(), "COMPLETED": set(),
}
#: Positional parameters (the term twice), so that it combines with other filters in ``all_of``.
SEARCH_WHERE = ("(json_extract(doc,'$.orderNumber') LIKE ? ESCAPE '\\' OR "
                "json_extract(doc,'$.notes') LIKE ? ESCAPE '\\')")

router = APIRouter(tags=["orders"], responses=ERRORS)


def derive(doc: dict) -> dict:
    st = doc["status"]
    doc.update(statusDisplayName=st, isPending=st == "PENDING", isCompleted=st == "COMPLETED",
               canBeCancelled=st in ("PENDING", "APPROVED"))
    return doc


def parse_status(value: str) -> str:
    return enum_value(value, STATUSES, "status")


@router.post(BASE, status_code=201, response_model=OrderResponse, responses={**NOT_FOUND, **CONFLICT})
async def create_order(ctx: Ctx, body: CreateOrder, request: Request):
    cid = str(body.customerId)
    customer = fetch(ctx.db, "customers", "Customer", cid)
    if ctx.db.key_exists("orders", body.orderNumber):
        raise conflict(f"Order number already exists: {body.orderNumber}")
    ts, who, today = ctx.clock.timestamp(), principal(request), ctx.clock.today()
    requested = body.requestedDate or today
    promised = body.requestedDate + dt.timedelta(days=5) if body.requestedDate else None
    doc = {"id": new_id(), "orderNumber": body.orderNumber, "customerId": cid,
           "customerName": full_name(customer),
           "orderType": body.orderType, "orderTypeDisplayName": body.orderType,
           "status": body.status, "priority": body.priority,
           "priorityDisplayName": body.priority, "totalAmount": body.totalAmount,
           "currency": body.currency or "PLN", "requestedDate": iso(requested),
           "promisedDate": iso(promised),
           "completedDate": iso(today) if body.status == "COMPLETED" else None,
           "orderChannel": body.orderChannel, "salesRepId": body.salesRepId,
           "salesRepName": None, "notes": body.notes, "itemCount": 0,
           "createdAt": ts, "updatedAt": ts, "createdBy": who, "updatedBy": who, "version": 0}
    ctx.db.insert("orders", derive(doc))
    return json_response(doc, 201, {"Location": location(request, doc["id"])})


@router.get(BASE, response_model=PageResponse[OrderResponse])
async def list_orders(ctx: Ctx, p: Paging = Depends(paging),
                      searchTerm: str | None = Query(None, max_length=200),
                      status: str | None = Query(None, max_length=20),
                      type: str | None = Query(None, max_length=30),
                      customerId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"})):
    where, params = all_of(
        (SEARCH_WHERE, (like(searchTerm),) * 2) if searchTerm else None,
        ("status=?", (parse_status(status),)) if status else None,
        ("json_extract(doc,'$.orderType')=?", (enum_value(type, ORDER_TYPES, "type"),)) if type else None,
        ("customer_id=?", (parse_uuid(customerId, "customerId"),)) if customerId else None,
    )
    return page_response(ctx.db, "orders", where, params, p)


@router.get(BASE + "/by-status/{status}", response_model=PageResponse[OrderResponse])
async def list_orders_by_status(ctx: Ctx, status: str, p: Paging = Depends(paging)):
    return page_response(ctx.db, "orders", "status=?", (parse_status(status),), p)


@router.get(BASE + "/by-customer/{customerId}", response_model=PageResponse[OrderResponse])
async def list_orders_by_customer(ctx: Ctx, customerId: UuidPath, p: Paging = Depends(paging)):
    return page_response(ctx.db, "orders", "customer_id=?", (parse_uuid(customerId, "customerId"),), p)


@router.get(BASE + "/search", response_model=PageResponse[OrderResponse])
async def search_orders(ctx: Ctx, searchTerm: str = Query(..., max_length=200),
                        p: Paging = Depends(paging)):
    return page_response(ctx.db, "orders", SEARCH_WHERE, (like(searchTerm),) * 2, p)


@router.get(BASE + "/{id}", response_model=OrderResponse, responses=NOT_FOUND)
async def get_order(ctx: Ctx, id: UuidPath):
    return json_response(fetch(ctx.db, "orders", "Order", parse_uuid(id, "id"), empty=True))


@router.put(BASE + "/{id}/status", responses={200: {"description": "Empty body"}, **NOT_FOUND, **CONFLICT})
async def change_order_status(ctx: Ctx, id: UuidPath, body: UpdateOrderStatus, request: Request):
    oid = parse_uuid(id, "id")
    same_id(oid, body.id)
    doc = fetch(ctx.db, "orders", "Order", oid)
    check_version(doc["version"], body.version)
    if body.status not in TRANSITIONS[doc["status"]]:
        raise conflict(f"Illegal order status transition {doc['status']} -> {body.status}")
    revise(doc, ctx.clock.timestamp(), status=body.status, updatedBy=principal(request))
    if body.status == "COMPLETED":
        doc["completedDate"] = iso(ctx.clock.today())
    ctx.db.update("orders", derive(doc))
    return empty_ok()


@router.delete(BASE + "/{id}", status_code=204, responses={**NOT_FOUND, 501: {"description": "quirks"}})
async def delete_order(ctx: Ctx, id: UuidPath):
    if ctx.settings.quirks:
        return Response(status_code=501)
    return remove(ctx.db, "orders", "Order", parse_uuid(id, "id"))
