"""Invoice API: ``/api/v1/invoices`` (contract §4), intended behaviour.

The intended ``ResponseStatusException`` codes are honoured (the real backend turns them all into
500): unknown customer/invoice → 404, duplicate number / version mismatch / illegal transition →
409, missing ``paidDate`` / ``sentToEmail`` → 400. List filters combine (AND) instead of only the
first one applying. ``PUT /{id}/status`` answers 200 with an empty body, as documented.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request

from bss_contract.enums import InvoiceStatus, InvoiceType
from bss_reference.common import (
    Paging,
    UuidPath,
    check_version,
    empty_ok,
    iso,
    json_response,
    like,
    new_id,
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
    ChangeInvoiceStatus,
    CreateInvoice,
    InvoiceResponse,
    PageResponse,
    UpdateInvoice,
)
from bss_reference.problems import bad_request, conflict, not_found

BASE = "/api/v1/invoices"
STATUSES = InvoiceStatus.__args__  # type: ignore[attr-defined]
TYPES = InvoiceType.__args__  # type: ignore[attr-defined]
TRANSITIONS = {
    "DRAFT": {"ISSUED", "CANCELLED"},
    "ISSUED": {"SENT", "CANCELLED"},
    "SENT": {"PAID", "OVERDUE", "CANCELLED"},
    "OVERDUE": {"PAID", "CANCELLED"},
    "PAID": set(), "CANCELLED": set(), "VIEWED": set(),
}
QUERY_WHERE = ("(json_extract(doc,'$.invoiceNumber') LIKE ? ESCAPE '\\' OR "
               "json_extract(doc,'$.notes') LIKE ? ESCAPE '\\' OR "
               "json_extract(doc,'$.customerName') LIKE ? ESCAPE '\\')")
UNPAID_WHERE = "status IN ('ISSUED','SENT','OVERDUE')"
OVERDUE_WHERE = "status='OVERDUE' AND json_extract(doc,'$.dueDate') < ?"


def principal(request: Request) -> str:
    return request.scope.get("bss.principal") or "SYSTEM"


def derive(doc: dict) -> dict:
    st = doc["status"]
    past_due = doc["dueDate"] < today().isoformat()
    doc.update(statusDisplayName=st, invoiceTypeDisplayName=doc["invoiceType"],
               isUnpaid=st in ("DRAFT", "ISSUED", "SENT", "OVERDUE"),
               isOverdue=st == "OVERDUE" or (st == "SENT" and past_due),
               isPaid=st == "PAID", canBeCancelled=st in ("DRAFT", "ISSUED"))
    return doc


def enum_path(value: str, allowed: tuple, field: str) -> str:
    if value not in allowed:
        raise bad_request(field, f"must be one of {', '.join(allowed)}")
    return value


def parse_date(value: str, field: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise bad_request(field, "must be a date yyyy-MM-dd") from None


def build_router(ctx: Context) -> APIRouter:
    db = ctx.db
    r = APIRouter(tags=["invoices"], responses=ERRORS)

    def customer_of(cid: str) -> dict:
        customer = db.get("customers", cid)
        if customer is None:
            raise not_found("Customer", cid)
        return customer

    def fields(body: CreateInvoice, customer: dict) -> dict:
        return {"invoiceNumber": body.invoiceNumber, "customerId": customer["id"],
                "customerName": f"{customer['firstName']} {customer['lastName']}",
                "invoiceType": body.invoiceType, "issueDate": iso(body.issueDate),
                "dueDate": iso(body.dueDate), "paidDate": iso(body.paidDate),
                "billingPeriodStart": iso(body.billingPeriodStart),
                "billingPeriodEnd": iso(body.billingPeriodEnd), "subtotal": body.subtotal,
                "discountAmount": body.discountAmount or 0, "taxAmount": body.taxAmount,
                "totalAmount": body.totalAmount, "currency": body.currency,
                "paymentTerms": body.paymentTerms, "lateFee": body.lateFee or 0,
                "notes": body.notes, "pdfUrl": body.pdfUrl}

    def validate(body: CreateInvoice) -> None:
        if body.dueDate < body.issueDate:
            raise bad_request("dueDate", "must not be before issueDate")

    @r.post(BASE, response_model=InvoiceResponse, responses={**NOT_FOUND, **CONFLICT})
    async def create_invoice(body: CreateInvoice, request: Request):
        validate(body)
        customer = customer_of(str(body.customerId))
        if db.key_exists("invoices", body.invoiceNumber):
            raise conflict(f"Invoice number already exists: {body.invoiceNumber}")
        ts, who = now_ts(), principal(request)
        doc = {"id": new_id(), **fields(body, customer), "status": "DRAFT", "sentToEmail": None,
               "sentAt": None, "itemCount": 0, "createdAt": ts, "updatedAt": ts,
               "createdBy": who, "updatedBy": who, "version": 0}
        db.insert("invoices", derive(doc))
        return json_response(doc)

    @r.get(BASE, response_model=PageResponse[InvoiceResponse])
    async def list_invoices(p: Paging = Depends(paging),
                            query: str | None = Query(None, max_length=200),
                            status: str | None = Query(None, max_length=20),
                            type: str | None = Query(None, max_length=20),
                            customerId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"}),
                            startDate: str | None = Query(None, max_length=10),
                            endDate: str | None = Query(None, max_length=10),
                            unpaid: bool | None = None, overdue: bool | None = None):
        clauses: list[str] = []
        params: list = []
        if query:
            clauses.append(QUERY_WHERE)
            params += [like(query)] * 3
        if status:
            clauses.append("status=?")
            params.append(enum_path(status, STATUSES, "status"))
        if type:
            clauses.append("json_extract(doc,'$.invoiceType')=?")
            params.append(enum_path(type, TYPES, "type"))
        if customerId:
            clauses.append("customer_id=?")
            params.append(parse_uuid(customerId, "customerId"))
        if unpaid:
            clauses.append(UNPAID_WHERE)
        if overdue:
            clauses.append(OVERDUE_WHERE)
            params.append(today().isoformat())
        if startDate and endDate:
            clauses.append("json_extract(doc,'$.issueDate') BETWEEN ? AND ?")
            params += [parse_date(startDate, "startDate"), parse_date(endDate, "endDate")]
        return page_response(db, "invoices", " AND ".join(clauses), tuple(params), p)

    @r.get(BASE + "/by-status/{status}", response_model=PageResponse[InvoiceResponse])
    async def list_invoices_by_status(status: str, p: Paging = Depends(paging)):
        return page_response(db, "invoices", "status=?", (enum_path(status, STATUSES, "status"),), p)

    @r.get(BASE + "/by-type/{type}", response_model=PageResponse[InvoiceResponse])
    async def list_invoices_by_type(type: str, p: Paging = Depends(paging)):
        return page_response(db, "invoices", "json_extract(doc,'$.invoiceType')=?",
                             (enum_path(type, TYPES, "type"),), p)

    @r.get(BASE + "/by-customer/{customerId}", response_model=PageResponse[InvoiceResponse])
    async def list_invoices_by_customer(customerId: UuidPath, p: Paging = Depends(paging)):
        return page_response(db, "invoices", "customer_id=?",
                             (parse_uuid(customerId, "customerId"),), p)

    @r.get(BASE + "/by-invoice-number/{invoiceNumber}", response_model=InvoiceResponse,
           responses=NOT_FOUND)
    async def get_invoice_by_number(invoiceNumber: str):
        doc = db.get_by_key("invoices", invoiceNumber)
        if doc is None:
            raise not_found("Invoice", invoiceNumber, empty=True)
        return json_response(doc)

    def between(field: str, startDate: str, endDate: str, p: Paging):
        return page_response(db, "invoices", f"json_extract(doc,'$.{field}') BETWEEN ? AND ?",
                             (parse_date(startDate, "startDate"), parse_date(endDate, "endDate")), p)

    @r.get(BASE + "/issued-between", response_model=PageResponse[InvoiceResponse])
    async def list_invoices_issued_between(startDate: str = Query(..., max_length=10),
                                           endDate: str = Query(..., max_length=10),
                                           p: Paging = Depends(paging)):
        return between("issueDate", startDate, endDate, p)

    @r.get(BASE + "/due-between", response_model=PageResponse[InvoiceResponse])
    async def list_invoices_due_between(startDate: str = Query(..., max_length=10),
                                        endDate: str = Query(..., max_length=10),
                                        p: Paging = Depends(paging)):
        return between("dueDate", startDate, endDate, p)

    @r.get(BASE + "/unpaid", response_model=PageResponse[InvoiceResponse])
    async def list_unpaid_invoices(p: Paging = Depends(paging)):
        return page_response(db, "invoices", UNPAID_WHERE, (), p)

    @r.get(BASE + "/overdue", response_model=PageResponse[InvoiceResponse])
    async def list_overdue_invoices(p: Paging = Depends(paging)):
        return page_response(db, "invoices", OVERDUE_WHERE, (today().isoformat(),), p)

    @r.get(BASE + "/search", response_model=PageResponse[InvoiceResponse])
    async def search_invoices(query: str = Query(..., max_length=200), p: Paging = Depends(paging)):
        return page_response(db, "invoices", QUERY_WHERE, (like(query),) * 3, p)

    def load(id: UuidPath, body_id: object) -> dict:
        iid = parse_uuid(id, "id")
        if str(body_id) != iid:
            raise bad_request("id", "must equal the path id")
        doc = db.get("invoices", iid)
        if doc is None:
            raise not_found("Invoice", iid)
        return doc

    @r.get(BASE + "/{id}", response_model=InvoiceResponse, responses=NOT_FOUND)
    async def get_invoice(id: UuidPath):
        iid = parse_uuid(id, "id")
        doc = db.get("invoices", iid)
        if doc is None:
            raise not_found("Invoice", iid, empty=True)
        return json_response(doc)

    @r.put(BASE + "/{id}", response_model=InvoiceResponse, responses={**NOT_FOUND, **CONFLICT})
    async def update_invoice(id: UuidPath, body: UpdateInvoice, request: Request):
        doc = load(id, body.id)
        validate(body)
        if body.currency is not None and len(body.currency) != 3:
            raise bad_request("currency", "must be exactly 3 characters")
        customer = customer_of(str(body.customerId))
        check_version(doc["version"], body.version)
        if db.key_exists("invoices", body.invoiceNumber, except_id=doc["id"]):
            raise conflict(f"Invoice number already exists: {body.invoiceNumber}")
        doc.update(fields(body, customer), updatedAt=now_ts(), updatedBy=principal(request),
                   version=doc["version"] + 1)
        db.update("invoices", derive(doc))
        return json_response(doc)

    @r.put(BASE + "/{id}/status", responses={200: {"description": "Empty body"}, **NOT_FOUND,
                                               **CONFLICT})
    async def change_invoice_status(id: UuidPath, body: ChangeInvoiceStatus, request: Request):
        doc = load(id, body.id)
        check_version(doc["version"], body.version)
        new = body.status
        if new not in TRANSITIONS[doc["status"]]:
            raise conflict(f"Illegal invoice status transition {doc['status']} -> {new}")
        if new == "PAID" and body.paidDate is None:
            raise bad_request("paidDate", "is required for status PAID")
        if new == "SENT" and not body.sentToEmail:
            raise bad_request("sentToEmail", "is required for status SENT")
        doc["paidDate"] = iso(body.paidDate) if new == "PAID" else None
        if new == "SENT":
            doc["sentToEmail"] = body.sentToEmail
            doc["sentAt"] = iso(body.sentAt.replace(tzinfo=None)) if body.sentAt else now_ts()
        else:
            doc["sentToEmail"] = doc["sentAt"] = None
        doc.update(status=new, updatedAt=now_ts(), updatedBy=principal(request),
                   version=doc["version"] + 1)
        db.update("invoices", derive(doc))
        return empty_ok()

    return r
