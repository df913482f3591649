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

from fastapi import APIRouter, Depends, Query, Request

from bss_contract.enums import SubscriptionStatus
from bss_reference.common import (
    Paging,
    UuidPath,
    iso,
    json_response,
    like,
    location,
    new_id,
    no_content,
    now_ts,
    order_clause,
    page_response,
    paging,
    parse_uuid,
    today,
)
from bss_reference.context import Context
from bss_reference.models import (
    ERRORS,
    NOT_FOUND,
    ChangeSubscriptionStatus,
    CreateSubscription,
    PageResponse,
    SubscriptionResponse,
    UpdateSubscription,
)
from bss_reference.problems import ApiError, bad_request, not_found

BASE = "/api/subscriptions"
STATUSES = SubscriptionStatus.__args__  # type: ignore[attr-defined]
DISPLAY = {"ACTIVE": "Aktywna", "SUSPENDED": "Zawieszona", "CANCELLED": "Anulowana",
           "EXPIRED": "Wygasła"}
SORT_FIELDS = {"createdAt", "updatedAt", "startDate", "endDate", "subscriptionNumber", "price",
               "status", "nextBillingDate"}
PERIOD_MONTHS = {"MONTHLY": 1, "MONTH": 1, "QUARTERLY": 3, "QUARTER": 3, "SEMI_ANNUAL": 6,
                 "SEMIANNUAL": 6, "HALF_YEARLY": 6, "YEARLY": 12, "ANNUAL": 12, "ANNUALLY": 12,
                 "YEAR": 12}
PERIOD_DAYS = {"DAILY": 1, "DAY": 1, "WEEKLY": 7, "WEEK": 7, "BIWEEKLY": 14}


def add_period(d: dt.date, period: str) -> dt.date:
    """``d`` plus one billing period (unknown periods count as one month)."""
    p = period.strip().upper()
    if p in PERIOD_DAYS:
        return d + dt.timedelta(days=PERIOD_DAYS[p])
    months = d.month - 1 + PERIOD_MONTHS.get(p, 1)
    year, month = d.year + months // 12, months % 12 + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def build_router(ctx: Context) -> APIRouter:
    db, quirks = ctx.db, ctx.settings.quirks
    r = APIRouter(tags=["subscriptions"], responses=ERRORS)

    def enum_status(value: str) -> str:
        if value not in STATUSES:
            raise bad_request("status", f"must be one of {', '.join(STATUSES)}")
        return value

    @r.post(BASE, status_code=201, response_model=SubscriptionResponse, responses=NOT_FOUND)
    async def create_subscription(body: CreateSubscription, request: Request):
        cid, pid = str(body.customerId), str(body.productId)
        customer = db.get("customers", cid)
        if customer is None:
            raise not_found("Customer", cid)
        product = db.get("products", pid)
        if product is None:
            raise not_found("Product", pid)
        oid = str(body.orderId) if body.orderId else None
        if oid and db.get("orders", oid) is None:
            raise not_found("Order", oid)
        if body.endDate and body.endDate < body.startDate:
            raise bad_request("endDate", "must not be before startDate")
        ts = now_ts()
        doc = {"id": new_id(),
               "subscriptionNumber": f"SUB-{today():%Y%m%d}-{secrets.token_hex(4).upper()}",
               "customerId": cid, "customerName": f"{customer['firstName']} {customer['lastName']}",
               "productId": pid, "productName": product["name"], "orderId": oid,
               "status": "ACTIVE", "statusDisplayName": DISPLAY["ACTIVE"],
               "startDate": iso(body.startDate), "endDate": iso(body.endDate),
               "billingStart": iso(body.billingStart), "nextBillingDate": iso(body.nextBillingDate),
               "billingPeriod": body.billingPeriod, "price": body.price,
               "currency": body.currency or "PLN", "autoRenew": body.autoRenew,
               "createdAt": ts, "updatedAt": ts, "version": 0}
        db.insert("subscriptions", doc)
        return json_response(doc, 201, {"Location": location(request, doc["id"])})

    @r.get(BASE, response_model=PageResponse[SubscriptionResponse])
    async def list_subscriptions(p: Paging = Depends(paging),
                                 customerId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"}),
                                 status: str | None = Query(None, max_length=20)):
        clauses, params = [], []
        if customerId:
            clauses.append("customer_id=?")
            params.append(parse_uuid(customerId, "customerId"))
        if status:
            clauses.append("status=?")
            params.append(enum_status(status))
        return page_response(db, "subscriptions", " AND ".join(clauses), tuple(params), p,
                             order=order_clause(p.sort, SORT_FIELDS))

    @r.get(BASE + "/by-customer/{customerId}", response_model=PageResponse[SubscriptionResponse])
    async def list_subscriptions_by_customer(customerId: UuidPath, p: Paging = Depends(paging)):
        return page_response(db, "subscriptions", "customer_id=?",
                             (parse_uuid(customerId, "customerId"),), p,
                             order=order_clause(p.sort, SORT_FIELDS))

    @r.get(BASE + "/by-status/{status}", response_model=PageResponse[SubscriptionResponse])
    async def list_subscriptions_by_status(status: str, p: Paging = Depends(paging)):
        return page_response(db, "subscriptions", "status=?", (enum_status(status),), p,
                             order=order_clause(p.sort, SORT_FIELDS))

    @r.get(BASE + "/search", response_model=PageResponse[SubscriptionResponse])
    async def search_subscriptions(searchTerm: str = Query(..., max_length=200),
                                   p: Paging = Depends(paging)):
        return page_response(db, "subscriptions",
                             "json_extract(doc,'$.subscriptionNumber') LIKE ? ESCAPE '\\'",
                             (like(searchTerm),), p, order=order_clause(p.sort, SORT_FIELDS))

    def load(id: UuidPath, *, empty: bool = False) -> dict:
        sid = parse_uuid(id, "id")
        doc = db.get("subscriptions", sid)
        if doc is None:
            raise not_found("Subscription", sid, empty=empty)
        return doc

    def save(doc: dict) -> None:
        doc.update(updatedAt=now_ts(), version=doc["version"] + 1)
        db.update("subscriptions", doc)

    @r.get(BASE + "/{id}", response_model=SubscriptionResponse, responses=NOT_FOUND)
    async def get_subscription(id: UuidPath):
        return json_response(load(id, empty=True))

    @r.put(BASE + "/{id}", response_model=SubscriptionResponse, responses=NOT_FOUND)
    async def update_subscription(id: UuidPath, body: UpdateSubscription):
        doc = load(id)
        for field in ("endDate", "nextBillingDate"):
            value = getattr(body, field)
            if value is not None:
                doc[field] = iso(value)
        for field in ("price", "currency", "billingPeriod"):
            value = getattr(body, field)
            if value is not None:
                doc[field] = value
        save(doc)
        return json_response(doc)

    @r.put(BASE + "/{id}/status", response_model=SubscriptionResponse, responses=NOT_FOUND)
    async def change_subscription_status(id: UuidPath, body: ChangeSubscriptionStatus):
        doc = load(id)
        doc.update(status=body.status, statusDisplayName=DISPLAY[body.status])
        if body.status == "EXPIRED":
            doc["endDate"] = iso(today())
        save(doc)
        return json_response(doc)

    @r.put(BASE + "/{id}/renew", response_model=SubscriptionResponse,
           responses={**NOT_FOUND, 500: {"description": "quirks"}})
    async def renew_subscription(id: UuidPath):
        if quirks:
            raise ApiError(500, "Renewal is not implemented", code="system.runtime")
        doc = load(id)
        base = dt.date.fromisoformat(doc["endDate"]) if doc["endDate"] else max(
            today(), dt.date.fromisoformat(doc["startDate"]))
        doc["endDate"] = iso(add_period(base, doc["billingPeriod"]))
        if doc["nextBillingDate"]:
            doc["nextBillingDate"] = iso(add_period(dt.date.fromisoformat(doc["nextBillingDate"]),
                                                    doc["billingPeriod"]))
        save(doc)
        return json_response(doc)

    @r.delete(BASE + "/{id}", status_code=204, responses=NOT_FOUND)
    async def delete_subscription(id: UuidPath):
        sid = parse_uuid(id, "id")
        if not db.delete("subscriptions", sid):
            raise not_found("Subscription", sid)
        return no_content()

    return r
