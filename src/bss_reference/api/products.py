"""Product API: ``/api/products`` (contract §6), intended behaviour.

Intent over the real code: lists sort properly (``field`` or ``field,asc|desc``; the default
``createdAt,desc`` works), duplicate ``productCode`` → 409, unknown id → 404, version mismatch →
409, DELETE without ``version`` → 400 (its value is not compared, as documented). ``--quirks``
reproduces the sort bug: any list request whose sort (default ``createdAt,desc``) has a comma → 500.
"""

from __future__ import annotations

import datetime as dt
from typing import get_args

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from bss_contract.enums import ProductStatus
from bss_reference.common import (
    Paging,
    UuidPath,
    check_version,
    enum_value,
    fetch,
    iso,
    json_response,
    like,
    location,
    new_id,
    no_content,
    order_clause,
    page_response,
    paging,
    parse_uuid,
    principal,
    revise,
    same_id,
)
from bss_reference.context import Context, Ctx
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
from bss_reference.problems import ApiError, conflict

BASE = "/api/products"
STATUSES = get_args(ProductStatus)
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

router = APIRouter(tags=["products"], responses=ERRORS)


def derive(doc: dict, today: dt.date) -> dict:
    st, d = doc["status"], today.isoformat()
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


def sorted_page(ctx: Context, where: str, params: tuple, p: Paging) -> Response:
    if ctx.settings.quirks and (p.sort is None or "," in p.sort):
        raise ApiError(500, "No property 'desc' found for type 'Product'", code="system.runtime")
    return page_response(ctx.db, "products", where, params, p, order=order_clause(p.sort, SORT_FIELDS))


def load(ctx: Context, id: str, body_id: object = None, *, empty: bool = False) -> dict:
    pid = parse_uuid(id, "id")
    if body_id is not None:
        same_id(pid, body_id)
    return fetch(ctx.db, "products", "Product", pid, empty=empty)


def save(ctx: Context, doc: dict) -> None:
    ctx.db.update("products", derive(doc, ctx.clock.today()))


@router.post(BASE, status_code=201, response_model=ProductResponse, responses=CONFLICT)
async def create_product(ctx: Ctx, body: CreateProduct, request: Request):
    if ctx.db.key_exists("products", body.productCode):
        raise conflict(f"Product code already exists: {body.productCode}")
    ts, who = ctx.clock.timestamp(), principal(request)
    doc = derive({"id": new_id(), **product_fields(body), "createdAt": ts, "updatedAt": ts,
                  "createdBy": who, "updatedBy": who, "version": 0}, ctx.clock.today())
    ctx.db.insert("products", doc)
    return json_response(doc, 201, {"Location": location(request, doc["id"])})


@router.get(BASE, response_model=PageResponse[ProductResponse])
async def list_products(ctx: Ctx, p: Paging = Depends(paging)):
    return sorted_page(ctx, "", (), p)


@router.get(BASE + "/by-status/{status}", response_model=PageResponse[ProductResponse])
async def list_products_by_status(ctx: Ctx, status: str, p: Paging = Depends(paging)):
    return sorted_page(ctx, "status=?", (enum_value(status, STATUSES, "status", case_insensitive=True),), p)


@router.get(BASE + "/active", response_model=PageResponse[ProductResponse])
async def list_active_products(ctx: Ctx, p: Paging = Depends(paging)):
    return sorted_page(ctx, ACTIVE_WHERE, (ctx.clock.today().isoformat(),), p)


@router.get(BASE + "/search", response_model=PageResponse[ProductResponse])
async def search_products(ctx: Ctx, searchTerm: str = Query(..., max_length=200),
                          p: Paging = Depends(paging)):
    return sorted_page(ctx, SEARCH_WHERE, (like(searchTerm),), p)


@router.get(BASE + "/{id}", response_model=ProductResponse, responses=NOT_FOUND)
async def get_product(ctx: Ctx, id: UuidPath):
    return json_response(load(ctx, id, empty=True))


@router.put(BASE + "/{id}", response_model=ProductResponse, responses={**NOT_FOUND, **CONFLICT})
async def update_product(ctx: Ctx, id: UuidPath, body: UpdateProduct, request: Request):
    doc = load(ctx, id, body.id)
    check_version(doc["version"], body.version)
    if ctx.db.key_exists("products", body.productCode, except_id=doc["id"]):
        raise conflict(f"Product code already exists: {body.productCode}")
    revise(doc, ctx.clock.timestamp(), **product_fields(body), updatedBy=principal(request))
    save(ctx, doc)
    return json_response(doc)


@router.put(BASE + "/{id}/status", response_model=ProductResponse, responses={**NOT_FOUND, **CONFLICT})
async def change_product_status(ctx: Ctx, id: UuidPath, body: ChangeProductStatus, request: Request):
    doc = load(ctx, id, body.id)
    check_version(doc["version"], body.version)
    revise(doc, ctx.clock.timestamp(), status=body.status, updatedBy=principal(request))
    save(ctx, doc)
    return json_response(doc)


@router.delete(BASE + "/{id}", status_code=204, responses=NOT_FOUND)
async def delete_product(ctx: Ctx, id: UuidPath,
                         version: int = Query(..., ge=0, le=2**62, description="Required; not compared.")):
    doc = load(ctx, id)
    ctx.db.soft_delete("products", doc["id"])
    return no_content()
