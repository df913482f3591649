"""Payment API: ``/api/v1/payments`` (contract §5), intended behaviour.

Intent over the real code: filters (status, searchTerm, customerId, invoiceId, paymentMethod) are
applied in SQL and combine; the initial status is PENDING; COMPLETED and FAILED work; the refund
COMPLETED → REFUNDED is allowed (``reason`` becomes ``reversalReason``); illegal transitions → 409;
unknown ids → 404 (DELETE too). ``PUT /{id}`` answers 409 (payments are immutable), never 500.
"""

from __future__ import annotations

import secrets
from typing import get_args

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from bss_contract.enums import PaymentMethod, PaymentStatus
from bss_reference.common import (
    Paging,
    UuidPath,
    all_of,
    enum_value,
    fetch,
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
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    ChangePaymentStatus,
    CreatePayment,
    PageResponse,
    PaymentResponse,
)
from bss_reference.problems import ApiError, conflict

BASE = "/api/v1/payments"
STATUSES = get_args(PaymentStatus)
METHODS = get_args(PaymentMethod)
SORT_FIELDS = {"createdAt", "updatedAt", "amount", "paymentDate", "paymentNumber",
               "paymentStatus", "paymentMethod", "currency"}
STATUS_DISPLAY = {"PENDING": "Oczekująca", "PROCESSING": "Przetwarzana", "COMPLETED": "Zakończona",
                  "FAILED": "Nieudana", "CANCELLED": "Anulowana", "REFUNDED": "Zwrócona"}
METHOD_DISPLAY = {"CARD": "Karta", "CREDIT_CARD": "Karta kredytowa", "BANK_TRANSFER": "Przelew bankowy",
                  "CASH": "Gotówka", "DIRECT_DEBIT": "Polecenie zapłaty",
                  "MOBILE_PAY": "Płatność mobilna"}
TRANSITIONS = {
    "PENDING": {"PROCESSING", "COMPLETED", "FAILED", "CANCELLED"},
    "PROCESSING": {"COMPLETED", "FAILED"},
    "FAILED": {"CANCELLED"},
    "COMPLETED": {"REFUNDED"},
    "REFUNDED": set(), "CANCELLED": set(),
}
SEARCH_WHERE = ("(json_extract(doc,'$.paymentNumber') LIKE ? ESCAPE '\\' OR "
                "json_extract(doc,'$.referenceNumber') LIKE ? ESCAPE '\\')")

router = APIRouter(tags=["payments"], responses=ERRORS)


def sorted_page(ctx: Context, where: str, params: tuple, p: Paging) -> Response:
    return page_response(ctx.db, "payments", where, params, p, order=order_clause(p.sort, SORT_FIELDS))


def load(ctx: Context, id: str, *, empty: bool = False) -> dict:
    return fetch(ctx.db, "payments", "Payment", parse_uuid(id, "id"), empty=empty)


@router.post(BASE, status_code=201, response_model=PaymentResponse, responses=NOT_FOUND)
async def create_payment(ctx: Ctx, body: CreatePayment, request: Request):
    cid = str(body.customerId)
    fetch(ctx.db, "customers", "Customer", cid)
    if body.invoiceId is not None:
        fetch(ctx.db, "invoices", "Invoice", str(body.invoiceId))
    ts, today = ctx.clock.timestamp(), ctx.clock.today()
    number = f"PAY-{today:%Y%m%d}-{secrets.token_hex(4).upper()}"
    doc = {"id": new_id(), "paymentNumber": number, "customerId": cid,
           "invoiceId": str(body.invoiceId) if body.invoiceId else None,
           "amount": body.amount, "currency": body.currency,
           "paymentMethod": body.paymentMethod,
           "paymentMethodDisplayName": METHOD_DISPLAY[body.paymentMethod],
           "paymentStatus": "PENDING", "paymentStatusDisplayName": STATUS_DISPLAY["PENDING"],
           "transactionId": None, "gateway": None, "paymentDate": iso(today),
           "receivedDate": None, "referenceNumber": body.referenceNumber, "notes": body.notes,
           "reversalReason": None, "createdAt": ts, "updatedAt": ts, "version": 0}
    ctx.db.insert("payments", doc)
    return json_response(doc, 201, {"Location": location(request, doc["id"])})


@router.get(BASE, response_model=PageResponse[PaymentResponse])
async def list_payments(ctx: Ctx, p: Paging = Depends(paging),
                        searchTerm: str | None = Query(None, max_length=200),
                        status: str | None = Query(None, max_length=20),
                        customerId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"}),
                        invoiceId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"}),
                        paymentMethod: str | None = Query(None, max_length=20)):
    where, params = all_of(
        (SEARCH_WHERE, (like(searchTerm),) * 2) if searchTerm else None,
        ("status=?", (enum_value(status, STATUSES, "status"),)) if status else None,
        ("customer_id=?", (parse_uuid(customerId, "customerId"),)) if customerId else None,
        ("json_extract(doc,'$.invoiceId')=?", (parse_uuid(invoiceId, "invoiceId"),)) if invoiceId else None,
        ("json_extract(doc,'$.paymentMethod')=?", (enum_value(paymentMethod, METHODS, "paymentMethod"),))
        if paymentMethod else None,
    )
    return sorted_page(ctx, where, params, p)


@router.get(BASE + "/by-customer/{customerId}", response_model=PageResponse[PaymentResponse])
async def list_payments_by_customer(ctx: Ctx, customerId: UuidPath, p: Paging = Depends(paging)):
    return sorted_page(ctx, "customer_id=?", (parse_uuid(customerId, "customerId"),), p)


@router.get(BASE + "/by-status/{status}", response_model=PageResponse[PaymentResponse])
async def list_payments_by_status(ctx: Ctx, status: str, p: Paging = Depends(paging)):
    return sorted_page(ctx, "status=?", (enum_value(status, STATUSES, "status"),), p)


@router.get(BASE + "/search", response_model=PageResponse[PaymentResponse])
async def search_payments(ctx: Ctx, searchTerm: str = Query(..., max_length=200),
                          p: Paging = Depends(paging)):
    return sorted_page(ctx, SEARCH_WHERE, (like(searchTerm),) * 2, p)


@router.get(BASE + "/{id}", response_model=PaymentResponse, responses=NOT_FOUND)
async def get_payment(ctx: Ctx, id: UuidPath):
    return json_response(load(ctx, id, empty=True))


@router.put(BASE + "/{id}", responses={**NOT_FOUND, **CONFLICT})
async def update_payment(ctx: Ctx, id: UuidPath):
    load(ctx, id)
    raise ApiError(409, "Payments are immutable; change the status instead", code="payment.immutable")


@router.put(BASE + "/{id}/status", response_model=PaymentResponse, responses={**NOT_FOUND, **CONFLICT})
async def change_payment_status(ctx: Ctx, id: UuidPath, body: ChangePaymentStatus):
    doc = load(ctx, id)
    new = body.status
    if new not in TRANSITIONS[doc["paymentStatus"]]:
        raise conflict(f"Illegal payment status transition {doc['paymentStatus']} -> {new}")
    if new == "COMPLETED" and not doc["receivedDate"]:
        doc["receivedDate"] = iso(ctx.clock.today())
    if new == "REFUNDED":
        doc["reversalReason"] = body.reason
    revise(doc, ctx.clock.timestamp(), paymentStatus=new, paymentStatusDisplayName=STATUS_DISPLAY[new])
    ctx.db.update("payments", doc)
    return json_response(doc)


@router.delete(BASE + "/{id}", status_code=204, responses=NOT_FOUND)
async def delete_payment(ctx: Ctx, id: UuidPath):
    return remove(ctx.db, "payments", "Payment", parse_uuid(id, "id"))
