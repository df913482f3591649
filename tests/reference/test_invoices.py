"""Invoice API (contract §4)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from .conftest import assert_problem, make_customer, make_invoice

BASE = "/api/v1/invoices"


@pytest.fixture(scope="module")
def customer(api):
    return make_customer(api, firstName="Iwona", lastName="Fakturowa")


def test_create_is_200_draft_without_location(api, customer):
    r = api.post(BASE, json={"invoiceNumber": "INV-" + uuid.uuid4().hex[:8], "customerId": customer["id"],
                             "invoiceType": "USAGE", "issueDate": "2025-01-01",
                             "dueDate": "2025-01-15", "subtotal": 10, "taxAmount": 2.3,
                             "totalAmount": 12.3})
    assert r.status_code == 200 and "location" not in r.headers
    inv = r.json()
    assert inv["status"] == "DRAFT" and inv["isUnpaid"] and inv["canBeCancelled"]
    assert inv["discountAmount"] == 0 and inv["lateFee"] == 0 and inv["version"] == 0
    assert inv["customerName"] == "Iwona Fakturowa" and inv["invoiceTypeDisplayName"] == "USAGE"
    assert api.get(f"{BASE}/by-invoice-number/{inv['invoiceNumber']}").json()["id"] == inv["id"]


@pytest.mark.parametrize("field,value", [
    ("invoiceNumber", "x"), ("invoiceType", "MONTHLY"), ("issueDate", "2025-13-01"),
    ("subtotal", -1), ("totalAmount", None), ("pdfUrl", "x" * 501), ("customerId", "1"),
])
def test_create_validation(api, customer, field, value):
    body = {"invoiceNumber": "INV-" + uuid.uuid4().hex[:8], "customerId": customer["id"],
            "invoiceType": "USAGE", "issueDate": "2025-01-01", "dueDate": "2025-01-15",
            "subtotal": 10, "taxAmount": 2, "totalAmount": 12, field: value}
    if value is None:
        body.pop(field)
    assert_problem(api.post(BASE, json=body), 400, field)


def test_intended_error_codes(api, customer):
    inv = make_invoice(api, customer["id"])
    dup = {**{k: inv[k] for k in ("invoiceNumber", "customerId", "invoiceType", "issueDate",
                                  "dueDate", "subtotal", "taxAmount", "totalAmount")}}
    assert_problem(api.post(BASE, json=dup), 409)
    assert_problem(api.post(BASE, json={**dup, "invoiceNumber": "INV-NEW-" + uuid.uuid4().hex[:6],
                                        "customerId": str(uuid.uuid4())}), 404)
    r = api.get(f"{BASE}/{uuid.uuid4()}")
    assert r.status_code == 404 and r.content == b""
    r = api.get(f"{BASE}/by-invoice-number/NOPE-{uuid.uuid4().hex}")
    assert r.status_code == 404 and r.content == b""


def test_update_with_version(api, customer):
    inv = make_invoice(api, customer["id"])
    body = {k: inv[k] for k in ("invoiceNumber", "customerId", "invoiceType", "issueDate",
                                "subtotal", "taxAmount", "totalAmount")}
    body.update(id=inv["id"], version=0, dueDate="2025-02-28", notes="updated")
    r = api.put(f"{BASE}/{inv['id']}", json=body)
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["notes"] == "updated"
    assert_problem(api.put(f"{BASE}/{inv['id']}", json=body), 409)  # stale version
    assert_problem(api.put(f"{BASE}/{inv['id']}", json={**body, "version": 1, "dueDate": "2024-01-01"}),
                   400, "dueDate")
    assert_problem(api.put(f"{BASE}/{inv['id']}", json={**body, "version": 1, "currency": "PL"}),
                   400, "currency")
    assert_problem(api.put(f"{BASE}/{inv['id']}", json={**body, "id": str(uuid.uuid4())}), 400, "id")


def test_status_machine(api, customer):
    inv = make_invoice(api, customer["id"])
    url = f"{BASE}/{inv['id']}/status"

    def change(status, version, **extra):
        return api.put(url, json={"id": inv["id"], "status": status, "version": version, **extra})

    assert change("ISSUED", 0).status_code == 200
    assert_problem(change("PAID", 1, paidDate="2025-01-10"), 409)
    assert_problem(change("SENT", 1), 400, "sentToEmail")
    r = change("SENT", 1, sentToEmail="a@b.pl")
    assert r.status_code == 200 and r.content == b""
    got = api.get(f"{BASE}/{inv['id']}").json()
    assert got["sentToEmail"] == "a@b.pl" and got["sentAt"] and got["isOverdue"]
    assert_problem(change("PAID", 2), 400, "paidDate")
    assert_problem(change("PAID", 1, paidDate="2025-01-10"), 409)
    assert change("PAID", 2, paidDate="2025-01-10").status_code == 200
    got = api.get(f"{BASE}/{inv['id']}").json()
    assert got["status"] == "PAID" and got["isPaid"] and got["paidDate"] == "2025-01-10"
    assert got["sentToEmail"] is None
    assert_problem(change("CANCELLED", 3), 409)


def test_lists(api):
    c = make_customer(api)
    old = make_invoice(api, c["id"], issueDate="2020-01-01", dueDate="2020-01-10",
                       invoiceType="USAGE", notes="find-me-" + c["id"][:6])
    new = make_invoice(api, c["id"], issueDate="2025-06-01", dueDate="2025-06-10")
    assert api.get(f"{BASE}/by-customer/{c['id']}").json()["totalElements"] == 2
    r = api.get(BASE, params={"customerId": c["id"], "type": "USAGE"}).json()
    assert [i["id"] for i in r["content"]] == [old["id"]]
    r = api.get(f"{BASE}/issued-between", params={"startDate": "2019-12-01", "endDate": "2020-02-01",
                                                  "size": 1000}).json()
    assert old["id"] in [i["id"] for i in r["content"]] and new["id"] not in [i["id"] for i in r["content"]]
    r = api.get(f"{BASE}/due-between", params={"startDate": "2025-06-09", "endDate": "2025-06-11",
                                               "size": 1000}).json()
    assert new["id"] in [i["id"] for i in r["content"]]
    r = api.get(f"{BASE}/search", params={"query": "find-me-" + c["id"][:6]}).json()
    assert [i["id"] for i in r["content"]] == [old["id"]]
    for path in ("/by-status/DRAFT", "/by-type/USAGE", "/unpaid", "/overdue"):
        assert api.get(BASE + path).status_code == 200, path
    # overdue: OVERDUE and past due
    url = f"{BASE}/{old['id']}/status"
    for v, (st, extra) in enumerate([("ISSUED", {}), ("SENT", {"sentToEmail": "x@y.pl"}),
                                     ("OVERDUE", {})]):
        assert api.put(url, json={"id": old["id"], "status": st, "version": v, **extra}).status_code == 200
    ids = [i["id"] for i in api.get(f"{BASE}/overdue", params={"size": 1000}).json()["content"]]
    assert old["id"] in ids
    unpaid = [i["id"] for i in api.get(f"{BASE}/unpaid", params={"size": 1000}).json()["content"]]
    assert old["id"] in unpaid and new["id"] not in unpaid  # DRAFT is not in /unpaid
    assert_problem(api.get(f"{BASE}/issued-between", params={"startDate": "2020-01-01"}), 400, "endDate")
    assert_problem(api.get(f"{BASE}/issued-between", params={"startDate": "x", "endDate": "y"}), 400, "startDate")
    assert_problem(api.get(f"{BASE}/by-type/NOPE"), 400, "type")
    assert_problem(api.get(f"{BASE}/search"), 400, "query")
    assert dt.date.today()  # keep the import honest
