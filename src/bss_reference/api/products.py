"""Product API: ``/api/products`` (contract §6), intended behaviour.

Intent over the real code: lists sort properly (``field`` or ``field,asc|desc``; the default
``createdAt,desc`` works), duplicate ``productCode`` → 409, unknown id → 404, version mismatch →
409, DELETE without ``version`` → 400 (its value is not compared, as documented). ``--quirks``
reproduces the sort bug: any list request whose sort (default ``createdAt,desc``) has a comma → 500.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from bss_contract.enums import ProductStatus
from bss_reference.common import (
    Paging,
    UuidPath,
    check_version,
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
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    ChangeProductStatus,
    CreateProduct,
    PageResponse,
    ProductResponse,
    UpdateProduct,
)
from bss_reference.problems import ApiError, bad_request, conflict, not_found

BASE = "/api/products"
STATUSES = ProductStatus.__args__  # type: ignore[attr-defined]
SORT_FIELDS = {"createdAt", "updatedAt", "name", "productCode", "price", "status", "productType",
               "category", "billingPeriod"}
TYPE_DISPLAY = {"SERVICE": "Usługa", "TARIFF": "Taryfa", "BUNDLE": "Pakiet", "ADDON": "Dodatek"}
CATEGORY_DISPLAY = {"MOBILE": "Mobilny", "BROADBAND": "Szerokopasmowy", "TV": "Telewizja",
                    "CLOUD": "Chmura", "BASIC": "Podstawowy"}
STATUS_DISPLAY = {"ACTIVE": "Aktywny", "INACTIVE": "Nieaktywny", "DEPRECATED": "Przestarzały",
                  "SUSPENDED": "Zawieszony", "DISCONTINUED": "Wycofany"}
ACTIVE_WHERE = ("status='ACTIVE' AND (json_extract(doc,'$.validityStart') IS NULL OR "
                "json_extract(doc,'$.validityStart') <= ?1) AND "
                "(json_extract(doc,'$.validityEnd') IS NULL OR json_extract(doc,'$.validityEnd') >= ?1)")
SEARCH_WHERE = ("json_extract(doc,'$.name') LIKE ?1 ESCAPE '\\' OR "
                "json_extract(doc,'$.description') LIKE ?1 ESCAPE '\\'")


def derive(doc: dict) -> dict:
    st, d = doc["status"], today().isoformat()
    doc.update(productTypeDisplayName=TYPE_DISPLAY[doc["productType"]],
               categoryDisplayName=CATEGORY_DISPLAY.get(doc["category"] or ""),
               statusDisplayName=STATUS_DISPLAY[st],
               isActive=st == "ACTIVE" and (doc["validityStart"] or d) <= d
               and (doc["validityEnd"] or d) >= d)
    return doc


def product_fields(body: CreateProduct) -> dict:
    return {"productCode": body.productCode, "name": body.name, "description": body.description,
            "productType": body.productType, "category": body.category, "price": body.price,
            "currency": body.currency or "PLN", "billingPeriod": body.billingPeriod,
            "status": body.status or "ACTIVE", "validityStart": iso(body.validityStart),
            "validityEnd": iso(body.validityEnd)}


def new_product(body: CreateProduct, who: str) -> dict:
    ts = now_ts()
    return derive({"id": new_id(), **product_fields(body), "createdAt": ts, "updatedAt": ts,
                   "createdBy": who, "updatedBy": who, "version": 0})


def build_router(ctx: Context) -> APIRouter:
    db, quirks = ctx.db, ctx.settings.quirks
    r = APIRouter(tags=["products"], responses=ERRORS)

    def order(p: Paging) -> str:
        if quirks and (p.sort is None or "," in p.sort):
            raise ApiError(500, "No property 'desc' found for type 'Product'",
                           code="system.runtime")
        return order_clause(p.sort, SORT_FIELDS)

    def who(request: Request) -> str:
        return request.scope.get("bss.principal") or "SYSTEM"

    @r.post(BASE, status_code=201, response_model=ProductResponse, responses=CONFLICT)
    async def create_product(body: CreateProduct, request: Request):
        if db.key_exists("products", body.productCode):
            raise conflict(f"Product code already exists: {body.productCode}")
        doc = new_product(body, who(request))
        db.insert("products", doc)
        return json_response(doc, 201, {"Location": location(request, doc["id"])})

    @r.get(BASE, response_model=PageResponse[ProductResponse])
    async def list_products(p: Paging = Depends(paging)):
        return page_response(db, "products", "", (), p, order=order(p))

    @r.get(BASE + "/by-status/{status}", response_model=PageResponse[ProductResponse])
    async def list_products_by_status(status: str, p: Paging = Depends(paging)):
        st = status.upper()
        if st not in STATUSES:
            raise bad_request("status", f"must be one of {', '.join(STATUSES)} (case-insensitive)")
        return page_response(db, "products", "status=?", (st,), p, order=order(p))

    @r.get(BASE + "/active", response_model=PageResponse[ProductResponse])
    async def list_active_products(p: Paging = Depends(paging)):
        return page_response(db, "products", ACTIVE_WHERE, (today().isoformat(),), p, order=order(p))

    @r.get(BASE + "/search", response_model=PageResponse[ProductResponse])
    async def search_products(searchTerm: str = Query(..., max_length=200),
                              p: Paging = Depends(paging)):
        return page_response(db, "products", SEARCH_WHERE, (like(searchTerm),), p, order=order(p))

    def load(id: UuidPath, body_id: object = None, *, empty: bool = False) -> dict:
        pid = parse_uuid(id, "id")
        if body_id is not None and str(body_id) != pid:
            raise bad_request("id", "must equal the path id")
        doc = db.get("products", pid)
        if doc is None:
            raise not_found("Product", pid, empty=empty)
        return doc

    @r.get(BASE + "/{id}", response_model=ProductResponse, responses=NOT_FOUND)
    async def get_product(id: UuidPath):
        return json_response(load(id, empty=True))

    @r.put(BASE + "/{id}", response_model=ProductResponse, responses={**NOT_FOUND, **CONFLICT})
    async def update_product(id: UuidPath, body: UpdateProduct, request: Request):
        doc = load(id, body.id)
        check_version(doc["version"], body.version)
        if db.key_exists("products", body.productCode, except_id=doc["id"]):
            raise conflict(f"Product code already exists: {body.productCode}")
        doc.update(product_fields(body), updatedAt=now_ts(), updatedBy=who(request),
                   version=doc["version"] + 1)
        db.update("products", derive(doc))
        return json_response(doc)

    @r.put(BASE + "/{id}/status", response_model=ProductResponse,
           responses={**NOT_FOUND, **CONFLICT})
    async def change_product_status(id: UuidPath, body: ChangeProductStatus, request: Request):
        doc = load(id, body.id)
        check_version(doc["version"], body.version)
        doc.update(status=body.status, updatedAt=now_ts(), updatedBy=who(request),
                   version=doc["version"] + 1)
        db.update("products", derive(doc))
        return json_response(doc)

    @r.delete(BASE + "/{id}", status_code=204, responses=NOT_FOUND)
    async def delete_product(id: UuidPath, version: int = Query(..., ge=0, le=2**62,
                                                           description="Required; not compared.")):
        doc = load(id)
        db.soft_delete("products", doc["id"])
        return no_content()

    return r
