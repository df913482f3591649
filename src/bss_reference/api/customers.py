"""Customer API: ``/api/v1/customers`` (contract §2), intended behaviour.

Intent over the real code: unknown id on PUT / status change → 404 (not 400); an illegal status
transition, a same-status change or an update of a TERMINATED customer → 409; unknown status →
400; ``search`` counts only matches; ``searchTerm`` missing → 400. ``sort`` is accepted and
ignored (always newest first), as documented. DELETE cascades to the customer's orders, invoices,
payments, subscriptions and service activations.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from bss_reference.common import (
    Paging,
    UuidPath,
    json_response,
    like,
    location,
    new_id,
    no_content,
    now_ts,
    page_response,
    paging,
    parse_uuid,
)
from bss_reference.context import Context
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
STATUSES = ("ACTIVE", "INACTIVE", "SUSPENDED", "TERMINATED")
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


def parse_status(value: str, field: str = "status") -> str:
    v = value.upper()
    if v not in STATUSES:
        raise bad_request(field, f"must be one of {', '.join(STATUSES)} (case-insensitive)")
    return v


def build_router(ctx: Context) -> APIRouter:
    db, metrics = ctx.db, ctx.metrics
    r = APIRouter(tags=["customers"], responses=ERRORS)

    def load(ident: str, *, empty: bool = False) -> dict:
        cid = parse_uuid(ident, "id")
        doc = db.get("customers", cid)
        if doc is None:
            raise not_found("Customer", cid, empty=empty)
        return doc

    def check_unique(body: CreateCustomer, except_id: str | None = None) -> None:
        for field in ("pesel", "nip"):
            value = getattr(body, field)
            if value is not None:
                row = db.conn.execute(
                    f"SELECT 1 FROM customers WHERE json_extract(doc,'$.{field}')=? AND id IS NOT ? LIMIT 1",
                    (value, except_id)).fetchone()
                if row:
                    raise bad_request(field, "already exists")

    @r.post(BASE, status_code=201, response_model=CustomerResponse)
    async def create_customer(body: CreateCustomer, request: Request):
        check_unique(body)
        ts = now_ts()
        doc = {"id": new_id(), "firstName": body.firstName, "lastName": body.lastName,
               "pesel": body.pesel, "nip": body.nip, "email": body.email, "phone": body.phone,
               "status": "ACTIVE", "statusDisplayName": DISPLAY["ACTIVE"], "createdAt": ts,
               "updatedAt": ts, "version": 0}
        db.insert("customers", doc)
        metrics.customers_created.inc()
        metrics.customers.inc()
        return json_response(doc, 201, {"Location": location(request, doc["id"])})

    def list_where(search: str | None, status: str | None) -> tuple[str, tuple]:
        if search:
            return SEARCH_WHERE, (like(search),)
        if status:
            return "status=?", (parse_status(status),)
        return "", ()

    @r.get(BASE, response_model=PageResponse[CustomerResponse])
    async def list_customers(p: Paging = Depends(paging),
                             search: str | None = Query(None, max_length=200),
                             status: str | None = Query(None, max_length=20)):
        where, params = list_where(search, status)
        return page_response(db, "customers", where, params, p)

    @r.get(BASE + "/by-status/{status}", response_model=PageResponse[CustomerResponse])
    async def list_customers_by_status(status: str, p: Paging = Depends(paging)):
        return page_response(db, "customers", "status=?", (parse_status(status),), p)

    @r.get(BASE + "/search", response_model=PageResponse[CustomerResponse])
    async def search_customers(searchTerm: str = Query(..., max_length=200),
                               p: Paging = Depends(paging)):
        return page_response(db, "customers", SEARCH_WHERE, (like(searchTerm),), p)

    @r.get(BASE + "/{id}", response_model=CustomerResponse, responses=NOT_FOUND)
    async def get_customer(id: UuidPath):
        return json_response(load(id, empty=True))

    @r.put(BASE + "/{id}", response_model=CustomerResponse, responses={**NOT_FOUND, **CONFLICT})
    async def update_customer(id: UuidPath, body: UpdateCustomer):
        doc = load(id)
        if doc["status"] == "TERMINATED":
            raise conflict("A TERMINATED customer cannot be updated")
        check_unique(body, except_id=doc["id"])
        doc.update(firstName=body.firstName, lastName=body.lastName, pesel=body.pesel,
                   nip=body.nip, email=body.email, phone=body.phone, updatedAt=now_ts(),
                   version=doc["version"] + 1)
        db.update("customers", doc)
        metrics.customers_updated.inc()
        return json_response(doc)

    @r.put(BASE + "/{id}/status", response_model=CustomerResponse,
           responses={**NOT_FOUND, **CONFLICT})
    async def change_customer_status(id: UuidPath, body: ChangeCustomerStatus):
        doc = load(id)
        new = parse_status(body.status)
        if new not in TRANSITIONS[doc["status"]]:
            raise conflict(f"Illegal customer status transition {doc['status']} -> {new}")
        doc.update(status=new, statusDisplayName=DISPLAY[new], updatedAt=now_ts(),
                   version=doc["version"] + 1)
        db.update("customers", doc)
        metrics.customers_status_changed.inc()
        return json_response(doc)

    @r.delete(BASE + "/{id}", status_code=204, responses=NOT_FOUND)
    async def delete_customer(id: UuidPath):
        cid = parse_uuid(id, "id")
        if not db.delete_customer_cascade(cid):
            raise not_found("Customer", cid, empty=True)
        metrics.customers.dec()
        return no_content()

    return r
