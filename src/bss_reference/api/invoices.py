"""Invoice API: ``/api/v1/invoices`` (contract §4), intended behaviour.

The intended ``ResponseStatusException`` codes are honoured (the real backend turns them all into
500): unknown customer/invoice → 404, duplicate number / version mismatch / illegal transition →
409, missing ``paidDate`` / ``sentToEmail`` → 400. List filters combine (AND) instead of only the
first one applying. ``PUT /{id}/status`` answers 200 with an empty body, as documented.
"""

from __future__ import annotations

import datetime as dt
from typing import get_args

from fastapi import APIRouter, Depends, Query, Request

from bss_contract.enums import InvoiceStatus, InvoiceType
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
    new_id,
    page_response,
    paging,
    parse_date,
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
    ChangeInvoiceStatus,
    CreateInvoice,
    InvoiceResponse,
    PageResponse,
    UpdateInvoice,
)
from bss_reference.problems import bad_request, conflict, not_found

BASE = "/api/v1/invoices"
STATUSES = get_args(InvoiceStatus)
TYPES = get_args(InvoiceType)
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
TYPE_WHERE = "json_extract(doc,'$.invoiceType')=?"

router = APIRouter(tags=["invoices"], responses=ERRORS)


def derive(doc: dict, today: dt.date) -> dict:
    st = doc["status"]
    past_due = doc["dueDate"] < today.isoformat()
    doc.update(statusDisplayName=st, invoiceTypeDisplayName=doc["invoiceType"],
               isUnpaid=st in ("DRAFT", "ISSUED", "SENT", "OVERDUE"),
               isOverdue=st == "OVERDUE" or (st == "SENT" and past_due),
               isPaid=st == "PAID", canBeCancelled=st in ("DRAFT", "ISSUED"))
    return doc


def fields(body: CreateInvoice, customer: dict) -> dict:
    return {"invoiceNumber": body.invoiceNumber, "customerId": customer["id"],
            "customerName": full_name(customer),
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


def load(ctx: Context, id: str, body_id: object) -> dict:
    iid = parse_uuid(id, "id")
    same_id(iid, body_id)
    return fetch(ctx.db, "invoices", "Invoice", iid)


def dates_between(field: str, startDate: str, endDate: str) -> tuple[str, tuple[str, str]]:
    return (f"json_extract(doc,'$.{field}') BETWEEN ? AND ?",
            (parse_date(startDate, "startDate"), parse_date(endDate, "endDate")))


def save(ctx: Context, doc: dict) -> None:
    ctx.db.update("invoices", derive(doc, ctx.clock.today()))


@router.post(BASE, response_model=InvoiceResponse, responses={**NOT_FOUND, **CONFLICT})
async def create_invoice(ctx: Ctx, body: CreateInvoice, request: Request):
    validate(body)
    customer = fetch(ctx.db, "customers", "Customer", str(body.customerId))
    if ctx.db.key_exists("invoices", body.invoiceNumber):
        raise conflict(f"Invoice number already exists: {body.invoiceNumber}")
    ts, who = ctx.clock.timestamp(), principal(request)
    doc = {"id": new_id(), **fields(body, customer), "status": "DRAFT", "sentToEmail": None,
           "sentAt": None, "itemCount": 0, "createdAt": ts, "updatedAt": ts,
           "createdBy": who, "updatedBy": who, "version": 0}
    ctx.db.insert("invoices", derive(doc, ctx.clock.today()))
    return json_response(doc)


@router.get(BASE, response_model=PageResponse[InvoiceResponse])
async def list_invoices(ctx: Ctx, p: Paging = Depends(paging),
                        query: str | None = Query(None, max_length=200),
                        status: str | None = Query(None, max_length=20),
                        type: str | None = Query(None, max_length=20),
                        customerId: str | None = Query(None, max_length=64, json_schema_extra={"format": "uuid"}),
                        startDate: str | None = Query(None, max_length=10),
                        endDate: str | None = Query(None, max_length=10),
                        unpaid: bool | None = None, overdue: bool | None = None):
    where, params = all_of(
        (QUERY_WHERE, (like(query),) * 3) if query else None,
        ("status=?", (enum_value(status, STATUSES, "status"),)) if status else None,
        (TYPE_WHERE, (enum_value(type, TYPES, "type"),)) if type else None,
        ("customer_id=?", (parse_uuid(customerId, "customerId"),)) if customerId else None,
        (UNPAID_WHERE, ()) if unpaid else None,
        (OVERDUE_WHERE, (ctx.clock.today().isoformat(),)) if overdue else None,
        dates_between("issueDate", startDate, endDate) if startDate and endDate else None,
    )
    return page_response(ctx.db, "invoices", where, params, p)


@router.get(BASE + "/by-status/{status}", response_model=PageResponse[InvoiceResponse])
async def list_invoices_by_status(ctx: Ctx, status: str, p: Paging = Depends(paging)):
    return page_response(ctx.db, "invoices", "status=?", (enum_value(status, STATUSES, "status"),), p)


@router.get(BASE + "/by-type/{type}", response_model=PageResponse[InvoiceResponse])
async def list_invoices_by_type(ctx: Ctx, type: str, p: Paging = Depends(paging)):
    return page_response(ctx.db, "invoices", TYPE_WHERE, (enum_value(type, TYPES, "type"),), p)


@router.get(BASE + "/by-customer/{customerId}", response_model=PageResponse[InvoiceResponse])
async def list_invoices_by_customer(ctx: Ctx, customerId: UuidPath, p: Paging = Depends(paging)):
    return page_response(ctx.db, "invoices", "customer_id=?", (parse_uuid(customerId, "customerId"),), p)


@router.get(BASE + "/by-invoice-number/{invoiceNumber}", response_model=InvoiceResponse, responses=NOT_FOUND)
async def get_invoice_by_number(ctx: Ctx, invoiceNumber: str):
    doc = ctx.db.get_by_key("invoices", invoiceNumber)
    if doc is None:
        raise not_found("Invoice", invoiceNumber, empty=True)
    return json_response(doc)


@router.get(BASE + "/issued-between", response_model=PageResponse[InvoiceResponse])
async def list_invoices_issued_between(ctx: Ctx, startDate: str = Query(..., max_length=10),
                                       endDate: str = Query(..., max_length=10),
                                       p: Paging = Depends(paging)):
    return page_response(ctx.db, "invoices", *dates_between("issueDate", startDate, endDate), p)


@router.get(BASE + "/due-between", response_model=PageResponse[InvoiceResponse])
async def list_invoices_due_between(ctx: Ctx, startDate: str = Query(..., max_length=10),
                                    endDate: str = Query(..., max_length=10),
                                    p: Paging = Depends(paging)):
    return page_response(ctx.db, "invoices", *dates_between("dueDate", startDate, endDate), p)


@router.get(BASE + "/unpaid", response_model=PageResponse[InvoiceResponse])
async def list_unpaid_invoices(ctx: Ctx, p: Paging = Depends(paging)):
    return page_response(ctx.db, "invoices", UNPAID_WHERE, (), p)


@router.get(BASE + "/overdue", response_model=PageResponse[InvoiceResponse])
async def list_overdue_invoices(ctx: Ctx, p: Paging = Depends(paging)):
    return page_response(ctx.db, "invoices", OVERDUE_WHERE, (ctx.clock.today().isoformat(),), p)


@router.get(BASE + "/search", response_model=PageResponse[InvoiceResponse])
async def search_invoices(ctx: Ctx, query: str = Query(..., max_length=200), p: Paging = Depends(paging)):
    return page_response(ctx.db, "invoices", QUERY_WHERE, (like(query),) * 3, p)


@router.get(BASE + "/{id}", response_model=InvoiceResponse, responses=NOT_FOUND)
async def get_invoice(ctx: Ctx, id: UuidPath):
    return json_response(fetch(ctx.db, "invoices", "Invoice", parse_uuid(id, "id"), empty=True))


@router.put(BASE + "/{id}", response_model=InvoiceResponse, responses={**NOT_FOUND, **CONFLICT})
async def update_invoice(ctx: Ctx, id: UuidPath, body: UpdateInvoice, request: Request):
    doc = load(ctx, id, body.id)
    validate(body)
    if body.currency is not None and len(body.currency) != 3:
        raise bad_request("currency", "must be exactly 3 characters")
    customer = fetch(ctx.db, "customers", "Customer", str(body.customerId))
    check_version(doc["version"], body.version)
    if ctx.db.key_exists("invoices", body.invoiceNumber, except_id=doc["id"]):
        raise conflict(f"Invoice number already exists: {body.invoiceNumber}")
    revise(doc, ctx.clock.timestamp(), **fields(body, customer), updatedBy=principal(request))
    save(ctx, doc)
    return json_response(doc)


@router.put(BASE + "/{id}/status", responses={200: {"description": "Empty body"}, **NOT_FOUND, **CONFLICT})
async def change_invoice_status(ctx: Ctx, id: UuidPath, body: ChangeInvoiceStatus, request: Request):
    doc = load(ctx, id, body.id)
    check_version(doc["version"], body.version)
    new = body.status
    if new not in TRANSITIONS[doc["status"]]:
        raise conflict(f"Illegal invoice status transition {doc['status']} -> {new}")
    if new == "PAID" and body.paidDate is None:
        raise bad_request("paidDate", "is required for status PAID")
    if new == "SENT" and not body.sentToEmail:
        raise bad_request("sentToEmail", "is required for status SENT")
    ts = ctx.clock.timestamp()
    doc["paidDate"] = iso(body.paidDate) if new == "PAID" else None
    if new == "SENT":
        doc["sentToEmail"] = body.sentToEmail
        doc["sentAt"] = iso(body.sentAt.replace(tzinfo=None)) if body.sentAt else ts
    else:
        doc["sentToEmail"] = doc["sentAt"] = None
    revise(doc, ts, status=new, updatedBy=principal(request))
    save(ctx, doc)
    return empty_ok()
