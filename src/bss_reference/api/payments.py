"""Payment API: ``/api/v1/payments`` (contract §5), intended behaviour.

Intent over the real code: filters (status, searchTerm, customerId, invoiceId, paymentMethod) are
applied in SQL and combine; the initial status is PENDING; COMPLETED and FAILED work; the refund
COMPLETED → REFUNDED is allowed (``reason`` becomes ``reversalReason``); illegal transitions → 409;
unknown ids → 404 (DELETE too). ``PUT /{id}`` answers 409 (payments are immutable), never 500.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Query, Request

from bss_contract.enums import PaymentMethod, PaymentStatus
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
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    ChangePaymentStatus,
    CreatePayment,
    PageResponse,
    PaymentResponse,
)
from bss_reference.problems import ApiError, bad_request, conflict, not_found

BASE = "/api/v1/payments"
STATUSES = PaymentStatus.__args__  # type: ignore[attr-defined]
METHODS = PaymentMethod.__args__  # type: ignore[attr-defined]
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


def enum_value(value: str, allowed: tuple, field: str) -> str:
    if value not in allowed:
        raise bad_request(field, f"must be one of {', '.join(allowed)}")
    return value


def build_router(ctx: Context) -> APIRouter:
    db = ctx.db
    r = APIRouter(tags=["payments"], responses=ERRORS)

    @r.post(BASE, status_code=201, response_model=PaymentResponse, responses=NOT_FOUND)
    async def create_payment(body: CreatePayment, request: Request):
        cid = str(body.customerId)
        if db.get("customers", cid) is None:
            raise not_found("Customer", cid)
        if body.invoiceId is not None and db.get("invoices", str(body.invoiceId)) is None:
            raise not_found("Invoice", body.invoiceId)
        ts = now_ts()
        number = f"PAY-{today():%Y%m%d}-{secrets.token_hex(4).upper()}"
        doc = {"id": new_id(), "paymentNumber": number, "customerId": cid,
               "invoiceId": str(body.invoiceId) if body.invoiceId else None,
               "amount": body.amount, "currency": body.currency,
               "paymentMethod": body.paymentMethod,
               "paymentMethodDisplayName": METHOD_DISPLAY[body.paymentMethod],
               "paymentStatus": "PENDING", "paymentStatusDisplayName": STATUS_DISPLAY["PENDING"],
               "transactionId": None, "gateway": None, "paymentDate": iso(today()),
               "receivedDate": None, "referenceNumber": body.referenceNumber, "notes": body.notes,
               "reversalReason": None, "createdAt": ts, "updatedAt": ts, "version": 0}
        db.insert("payments", doc)
        return json_response(doc, 201, {"Location": location(request, doc["id"])})

    @r.get(BASE, response_model=PageResponse[PaymentResponse])
    async def list_payments(p: Paging = Depends(paging),
                            searchTerm: str | None = Query(None, max_length=200),
                            status: str | None = Query(None, max_length=20),
                            customerId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"}),
                            invoiceId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"}),
                            paymentMethod: str | None = Query(None, max_length=20)):
        clauses: list[str] = []
        params: list = []
        if searchTerm:
            clauses.append(SEARCH_WHERE)
            params += [like(searchTerm)] * 2
        if status:
            clauses.append("status=?")
            params.append(enum_value(status, STATUSES, "status"))
        if customerId:
            clauses.append("customer_id=?")
            params.append(parse_uuid(customerId, "customerId"))
        if invoiceId:
            clauses.append("json_extract(doc,'$.invoiceId')=?")
            params.append(parse_uuid(invoiceId, "invoiceId"))
        if paymentMethod:
            clauses.append("json_extract(doc,'$.paymentMethod')=?")
            params.append(enum_value(paymentMethod, METHODS, "paymentMethod"))
        return page_response(db, "payments", " AND ".join(clauses), tuple(params), p,
                             order=order_clause(p.sort, SORT_FIELDS))

    @r.get(BASE + "/by-customer/{customerId}", response_model=PageResponse[PaymentResponse])
    async def list_payments_by_customer(customerId: UuidPath, p: Paging = Depends(paging)):
        return page_response(db, "payments", "customer_id=?", (parse_uuid(customerId, "customerId"),),
                             p, order=order_clause(p.sort, SORT_FIELDS))

    @r.get(BASE + "/by-status/{status}", response_model=PageResponse[PaymentResponse])
    async def list_payments_by_status(status: str, p: Paging = Depends(paging)):
        return page_response(db, "payments", "status=?", (enum_value(status, STATUSES, "status"),),
                             p, order=order_clause(p.sort, SORT_FIELDS))

    @r.get(BASE + "/search", response_model=PageResponse[PaymentResponse])
    async def search_payments(searchTerm: str = Query(..., max_length=200),
                              p: Paging = Depends(paging)):
        return page_response(db, "payments", SEARCH_WHERE, (like(searchTerm),) * 2, p,
                             order=order_clause(p.sort, SORT_FIELDS))

    def load(id: UuidPath, *, empty: bool = False) -> dict:
        pid = parse_uuid(id, "id")
        doc = db.get("payments", pid)
        if doc is None:
            raise not_found("Payment", pid, empty=empty)
        return doc

    @r.get(BASE + "/{id}", response_model=PaymentResponse, responses=NOT_FOUND)
    async def get_payment(id: UuidPath):
        return json_response(load(id, empty=True))

    @r.put(BASE + "/{id}", responses={**NOT_FOUND, **CONFLICT})
    async def update_payment(id: UuidPath):
        load(id)
        raise ApiError(409, "Payments are immutable; change the status instead",
                       code="payment.immutable")

    @r.put(BASE + "/{id}/status", response_model=PaymentResponse,
           responses={**NOT_FOUND, **CONFLICT})
    async def change_payment_status(id: UuidPath, body: ChangePaymentStatus):
        doc = load(id)
        new = body.status
        if new not in TRANSITIONS[doc["paymentStatus"]]:
            raise conflict(f"Illegal payment status transition {doc['paymentStatus']} -> {new}")
        if new == "COMPLETED" and not doc["receivedDate"]:
            doc["receivedDate"] = iso(today())
        if new == "REFUNDED":
            doc["reversalReason"] = body.reason
        doc.update(paymentStatus=new, paymentStatusDisplayName=STATUS_DISPLAY[new],
                   updatedAt=now_ts(), version=doc["version"] + 1)
        db.update("payments", doc)
        return json_response(doc)

    @r.delete(BASE + "/{id}", status_code=204, responses=NOT_FOUND)
    async def delete_payment(id: UuidPath):
        pid = parse_uuid(id, "id")
        if not db.delete("payments", pid):
            raise not_found("Payment", pid)
        return no_content()

    return r
