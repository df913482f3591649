"""Customer API: ``/api/v1/customers`` (contract §2), intended behaviour.

Intent over the real code: unknown id on PUT / status change → 404 (not 400); an illegal status
transition, a same-status change or an update of a TERMINATED customer → 409; unknown status →
400; ``search`` counts only matches; ``searchTerm`` missing → 400. ``sort`` is accepted and
ignored (always newest first), as documented. DELETE cascades to the customer's orders, invoices,
payments, subscriptions and service activations.
"""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, Depends, Query, Request

from bss_contract.enums import CustomerStatus
from bss_reference.common import (
    Paging,
    UuidPath,
    enum_value,
    fetch,
    json_response,
    like,
    location,
    new_id,
    no_content,
    page_response,
    paging,
    parse_uuid,
    revise,
)
from bss_reference.context import Context, Ctx
from bss_reference.models import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    ChangeCustomerStatus,
    CreateCustomer,
    CustomerResponse,
    PageResponse,
    UpdateCustomer,
)
from bss_reference.problems import bad_request, conflict, not_found

BASE = "/api/v1/customers"
STATUSES = get_args(CustomerStatus)
DISPLAY = {"ACTIVE": "Aktywny", "INACTIVE": "Nieaktywny", "SUSPENDED": "Zawieszony",
           "TERMINATED": "Rozwiązany"}
TRANSITIONS = {
    "ACTIVE": {"INACTIVE", "SUSPENDED", "TERMINATED"},
    "INACTIVE": {"ACTIVE", "TERMINATED"},
    "SUSPENDED": {"ACTIVE", "TERMINATED"},
    "TERMINATED": set(),
}
SEARCH_WHERE = ("json_extract(doc,'$.firstName') LIKE ?1 ESCAPE '\\' OR "
                "json_extract(doc,'$.lastName') LIKE ?1 ESCAPE '\\' OR "
                "json_extract(doc,'$.email') LIKE ?1 ESCAPE '\\' OR "
                "json_extract(doc,'$.pesel') LIKE ?1 ESCAPE '\\' OR "
                "json_extract(doc,'$.nip') LIKE ?1 ESCAPE '\\'")

router = APIRouter(tags=["customers"], responses=ERRORS)


def parse_status(value: str) -> str:
    return enum_value(value, STATUSES, "status", case_insensitive=True)


def load(ctx: Context, ident: str, *, empty: bool = False) -> dict:
    return fetch(ctx.db, "customers", "Customer", parse_uuid(ident, "id"), empty=empty)


def check_unique(ctx: Context, body: CreateCustomer, except_id: str | None = None) -> None:
    """``pesel`` and ``nip`` are unique among customers (a duplicate is a 400 naming the field)."""
    for field in ("pesel", "nip"):
        value = getattr(body, field)
        if value is not None:
            row = ctx.db.conn.execute(
                f"SELECT 1 FROM customers WHERE json_extract(doc,'$.{field}')=? AND id IS NOT ? LIMIT 1",
                (value, except_id)).fetchone()
            if row:
                raise bad_request(field, "already exists")


@router.post(BASE, status_code=201, response_model=CustomerResponse)
async def create_customer(ctx: Ctx, body: CreateCustomer, request: Request):
    check_unique(ctx, body)
    ts = ctx.clock.timestamp()
    doc = {"id": new_id(), "firstName": body.firstName, "lastName": body.lastName,
           "pesel": body.pesel, "nip": body.nip, "email": body.email, "phone": body.phone,
           "status": "ACTIVE", "statusDisplayName": DISPLAY["ACTIVE"], "createdAt": ts,
           "updatedAt": ts, "version": 0}
    ctx.db.insert("customers", doc)
    ctx.metrics.customers_created.inc()
    ctx.metrics.customers.inc()
    return json_response(doc, 201, {"Location": location(request, doc["id"])})


@router.get(BASE, response_model=PageResponse[CustomerResponse])
async def list_customers(ctx: Ctx, p: Paging = Depends(paging),
                         search: str | None = Query(None, max_length=200),
                         status: str | None = Query(None, max_length=20)):
    if search:  # search wins over status, as documented
        return page_response(ctx.db, "customers", SEARCH_WHERE, (like(search),), p)
    if status:
        return page_response(ctx.db, "customers", "status=?", (parse_status(status),), p)
    return page_response(ctx.db, "customers", "", (), p)


@router.get(BASE + "/by-status/{status}", response_model=PageResponse[CustomerResponse])
async def list_customers_by_status(ctx: Ctx, status: str, p: Paging = Depends(paging)):
    return page_response(ctx.db, "customers", "status=?", (parse_status(status),), p)


@router.get(BASE + "/search", response_model=PageResponse[CustomerResponse])
async def search_customers(ctx: Ctx, searchTerm: str = Query(..., max_length=200),
                           p: Paging = Depends(paging)):
    return page_response(ctx.db, "customers", SEARCH_WHERE, (like(searchTerm),), p)


@router.get(BASE + "/{id}", response_model=CustomerResponse, responses=NOT_FOUND)
async def get_customer(ctx: Ctx, id: UuidPath):
    return json_response(load(ctx, id, empty=True))


@router.put(BASE + "/{id}", response_model=CustomerResponse, responses={**NOT_FOUND, **CONFLICT})
async def update_customer(ctx: Ctx, id: UuidPath, body: UpdateCustomer):
    doc = load(ctx, id)
    if doc["status"] == "TERMINATED":
        raise conflict("A TERMINATED customer cannot be updated")
    check_unique(ctx, body, except_id=doc["id"])
    revise(doc, ctx.clock.timestamp(), firstName=body.firstName, lastName=body.lastName,
           pesel=body.pesel, nip=body.nip, email=body.email, phone=body.phone)
    ctx.db.update("customers", doc)
    ctx.metrics.customers_updated.inc()
    return json_response(doc)


@router.put(BASE + "/{id}/status", response_model=CustomerResponse, responses={**NOT_FOUND, **CONFLICT})
async def change_customer_status(ctx: Ctx, id: UuidPath, body: ChangeCustomerStatus):
    doc = load(ctx, id)
    new = parse_status(body.status)
    if new not in TRANSITIONS[doc["status"]]:
        raise conflict(f"Illegal customer status transition {doc['status']} -> {new}")
    revise(doc, ctx.clock.timestamp(), status=new, statusDisplayName=DISPLAY[new])
    ctx.db.update("customers", doc)
    ctx.metrics.customers_status_changed.inc()
    return json_response(doc)


@router.delete(BASE + "/{id}", status_code=204, responses=NOT_FOUND)
async def delete_customer(ctx: Ctx, id: UuidPath):
    cid = parse_uuid(id, "id")
    if not ctx.db.delete_customer_cascade(cid):
        raise not_found("Customer", cid, empty=True)
    ctx.metrics.customers.dec()
    return no_content()
