"""Subscription API: ``/api/subscriptions`` (contract §9), intended behaviour.

Intent over the real code: unknown customer / product / order / subscription → 404; status and
search filters are applied in SQL (``GET`` base also honours ``customerId`` and ``status``);
``PUT /{id}/renew`` → 200 and extends ``endDate`` (and ``nextBillingDate`` when set) by one billing
period (``--quirks``: 500). Any status may follow any other; EXPIRED sets ``endDate`` to today.
"""

from __future__ import annotations

import calendar
import datetime as dt
import secrets
from typing import get_args

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from bss_contract.enums import SubscriptionStatus
from bss_reference.common import (
    Paging,
    UuidPath,
    all_of,
    enum_value,
    fetch,
    full_name,
    iso,
    json_response,
    like,
    location,
    new_id,
    order_clause,
    page_response,
    paging,
    parse_uuid,
    remove,
    revise,
)
from bss_reference.context import Context, Ctx
from bss_reference.models import (
    ERRORS,
    NOT_FOUND,
    ChangeSubscriptionStatus,
    CreateSubscription,
    PageResponse,
    SubscriptionResponse,
    UpdateSubscription,
)
from bss_reference.problems import ApiError, bad_request

BASE = "/api/subscriptions"
STATUSES = get_args(SubscriptionStatus)
DISPLAY = {"ACTIVE": "Aktywna", "SUSPENDED": "Zawieszona", "CANCELLED": "Anulowana",
           "EXPIRED": "Wygasła"}
SORT_FIELDS = {"createdAt", "updatedAt", "startDate", "endDate", "subscriptionNumber", "price",
               "status", "nextBillingDate"}
PERIOD_MONTHS = {"MONTHLY": 1, "MONTH": 1, "QUARTERLY": 3, "QUARTER": 3, "SEMI_ANNUAL": 6,
                 "SEMIANNUAL": 6, "HALF_YEARLY": 6, "YEARLY": 12, "ANNUAL": 12, "ANNUALLY": 12,
                 "YEAR": 12}
PERIOD_DAYS = {"DAILY": 1, "DAY": 1, "WEEKLY": 7, "WEEK": 7, "BIWEEKLY": 14}
SEARCH_WHERE = "json_extract(doc,'$.subscriptionNumber') LIKE ? ESCAPE '\\'"

router = APIRouter(tags=["subscriptions"], responses=ERRORS)


def add_period(d: dt.date, period: str) -> dt.date:
    """``d`` plus one billing period (unknown periods count as one month)."""
    p = period.strip().upper()
    if p in PERIOD_DAYS:
        return d + dt.timedelta(days=PERIOD_DAYS[p])
    months = d.month - 1 + PERIOD_MONTHS.get(p, 1)
    year, month = d.year + months // 12, months % 12 + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def parse_status(value: str) -> str:
    return enum_value(value, STATUSES, "status")


def sorted_page(ctx: Context, where: str, params: tuple, p: Paging) -> Response:
    return page_response(ctx.db, "subscriptions", where, params, p, order=order_clause(p.sort, SORT_FIELDS))


def load(ctx: Context, id: str, *, empty: bool = False) -> dict:
    return fetch(ctx.db, "subscriptions", "Subscription", parse_uuid(id, "id"), empty=empty)


def save(ctx: Context, doc: dict) -> None:
    ctx.db.update("subscriptions", revise(doc, ctx.clock.timestamp()))


@router.post(BASE, status_code=201, response_model=SubscriptionResponse, responses=NOT_FOUND)
async def create_subscription(ctx: Ctx, body: CreateSubscription, request: Request):
    cid, pid = str(body.customerId), str(body.productId)
    customer = fetch(ctx.db, "customers", "Customer", cid)
    product = fetch(ctx.db, "products", "Product", pid)
    oid = str(body.orderId) if body.orderId else None
    if oid:
        fetch(ctx.db, "orders", "Order", oid)
    if body.endDate and body.endDate < body.startDate:
        raise bad_request("endDate", "must not be before startDate")
    ts = ctx.clock.timestamp()
    doc = {"id": new_id(),
           "subscriptionNumber": f"SUB-{ctx.clock.today():%Y%m%d}-{secrets.token_hex(4).upper()}",
           "customerId": cid, "customerName": full_name(customer),
           "productId": pid, "productName": product["name"], "orderId": oid,
           "status": "ACTIVE", "statusDisplayName": DISPLAY["ACTIVE"],
           "startDate": iso(body.startDate), "endDate": iso(body.endDate),
           "billingStart": iso(body.billingStart), "nextBillingDate": iso(body.nextBillingDate),
           "billingPeriod": body.billingPeriod, "price": body.price,
           "currency": body.currency or "PLN", "autoRenew": body.autoRenew,
           "createdAt": ts, "updatedAt": ts, "version": 0}
    ctx.db.insert("subscriptions", doc)
    return json_response(doc, 201, {"Location": location(request, doc["id"])})


@router.get(BASE, response_model=PageResponse[SubscriptionResponse])
async def list_subscriptions(ctx: Ctx, p: Paging = Depends(paging),
                             customerId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"}),
                             status: str | None = Query(None, max_length=20)):
    where, params = all_of(
        ("customer_id=?", (parse_uuid(customerId, "customerId"),)) if customerId else None,
        ("status=?", (parse_status(status),)) if status else None,
    )
    return sorted_page(ctx, where, params, p)


@router.get(BASE + "/by-customer/{customerId}", response_model=PageResponse[SubscriptionResponse])
async def list_subscriptions_by_customer(ctx: Ctx, customerId: UuidPath, p: Paging = Depends(paging)):
    return sorted_page(ctx, "customer_id=?", (parse_uuid(customerId, "customerId"),), p)


@router.get(BASE + "/by-status/{status}", response_model=PageResponse[SubscriptionResponse])
async def list_subscriptions_by_status(ctx: Ctx, status: str, p: Paging = Depends(paging)):
    return sorted_page(ctx, "status=?", (parse_status(status),), p)


@router.get(BASE + "/search", response_model=PageResponse[SubscriptionResponse])
async def search_subscriptions(ctx: Ctx, searchTerm: str = Query(..., max_length=200),
                               p: Paging = Depends(paging)):
    return sorted_page(ctx, SEARCH_WHERE, (like(searchTerm),), p)


@router.get(BASE + "/{id}", response_model=SubscriptionResponse, responses=NOT_FOUND)
async def get_subscription(ctx: Ctx, id: UuidPath):
    return json_response(load(ctx, id, empty=True))


@router.put(BASE + "/{id}", response_model=SubscriptionResponse, responses=NOT_FOUND)
async def update_subscription(ctx: Ctx, id: UuidPath, body: UpdateSubscription):
    doc = load(ctx, id)
    for field in ("endDate", "nextBillingDate"):
        value = getattr(body, field)
        if value is not None:
            doc[field] = iso(value)
    for field in ("price", "currency", "billingPeriod"):
        value = getattr(body, field)
        if value is not None:
            doc[field] = value
    save(ctx, doc)
    return json_response(doc)


@router.put(BASE + "/{id}/status", response_model=SubscriptionResponse, responses=NOT_FOUND)
async def change_subscription_status(ctx: Ctx, id: UuidPath, body: ChangeSubscriptionStatus):
    doc = load(ctx, id)
    doc.update(status=body.status, statusDisplayName=DISPLAY[body.status])
    if body.status == "EXPIRED":
        doc["endDate"] = iso(ctx.clock.today())
    save(ctx, doc)
    return json_response(doc)


@router.put(BASE + "/{id}/renew", response_model=SubscriptionResponse,
            responses={**NOT_FOUND, 500: {"description": "quirks"}})
async def renew_subscription(ctx: Ctx, id: UuidPath):
    if ctx.settings.quirks:
        raise ApiError(500, "Renewal is not implemented", code="system.runtime")
    doc = load(ctx, id)
    base = dt.date.fromisoformat(doc["endDate"]) if doc["endDate"] else max(
        ctx.clock.today(), dt.date.fromisoformat(doc["startDate"]))
    doc["endDate"] = iso(add_period(base, doc["billingPeriod"]))
    if doc["nextBillingDate"]:
        doc["nextBillingDate"] = iso(add_period(dt.date.fromisoformat(doc["nextBillingDate"]), doc["billingPeriod"]))
    save(ctx, doc)
    return json_response(doc)


@router.delete(BASE + "/{id}", status_code=204, responses=NOT_FOUND)
async def delete_subscription(ctx: Ctx, id: UuidPath):
    return remove(ctx.db, "subscriptions", "Subscription", parse_uuid(id, "id"))
