"""Payment API (contract §5)."""

from __future__ import annotations

import re
import uuid

import pytest

from .conftest import assert_problem, make_customer, make_invoice, make_payment

BASE = "/api/v1/payments"


@pytest.fixture(scope="module")
def customer(api):
    return make_customer(api)


def test_create_fields(api, customer):
    inv = make_invoice(api, customer["id"])
    r = api.post(BASE, json={"customerId": customer["id"], "invoiceId": inv["id"], "amount": 12.5,
                             "currency": "EUR", "paymentMethod": "BANK_TRANSFER",
                             "paymentDate": "2020-01-01", "referenceNumber": "REF-1"})
    assert r.status_code == 201
    p = r.json()
    assert r.headers["location"].endswith(f"{BASE}/{p['id']}")
    assert re.fullmatch(r"PAY-\d{8}-[0-9A-F]{8}", p["paymentNumber"])
    assert p["paymentStatus"] == "PENDING" and "status" not in p
    assert p["paymentMethodDisplayName"] == "Przelew bankowy" and p["invoiceId"] == inv["id"]
    assert p["paymentDate"] != "2020-01-01"  # the server stores today


@pytest.mark.parametrize("field,value", [
    ("amount", 0), ("currency", "pln"), ("paymentMethod", "BITCOIN"), ("paymentDate", None),
    ("customerId", None),
])
def test_create_validation(api, customer, field, value):
    body = {"customerId": customer["id"], "amount": 1, "currency": "PLN", "paymentMethod": "CASH",
            "paymentDate": "2025-01-01", field: value}
    if value is None:
        body.pop(field)
    assert_problem(api.post(BASE, json=body), 400, field)


def test_unknown_references_are_404(api, customer):
    body = {"customerId": str(uuid.uuid4()), "amount": 1, "currency": "PLN",
            "paymentMethod": "CASH", "paymentDate": "2025-01-01"}
    assert_problem(api.post(BASE, json=body), 404)
    assert_problem(api.post(BASE, json={**body, "customerId": customer["id"],
                                        "invoiceId": str(uuid.uuid4())}), 404)


@pytest.mark.parametrize("path,final", [
    (["COMPLETED", "REFUNDED"], "REFUNDED"),
    (["PROCESSING", "FAILED", "CANCELLED"], "CANCELLED"),
    (["PROCESSING", "COMPLETED"], "COMPLETED"),
])
def test_status_machine_intended(api, customer, path, final):
    p = make_payment(api, customer["id"])
    for status in path:
        r = api.put(f"{BASE}/{p['id']}/status", json={"id": "x", "status": status, "reason": "because"})
        assert r.status_code == 200, r.text
    got = api.get(f"{BASE}/{p['id']}").json()
    assert got["paymentStatus"] == final and got["version"] == len(path)
    if "COMPLETED" in path:
        assert got["receivedDate"]
    if final == "REFUNDED":
        assert got["reversalReason"] == "because"


def test_illegal_transition_409_unknown_404_missing_id_400(api, customer):
    p = make_payment(api, customer["id"])
    url = f"{BASE}/{p['id']}/status"
    assert api.put(url, json={"id": p["id"], "status": "CANCELLED"}).status_code == 200
    assert_problem(api.put(url, json={"id": p["id"], "status": "COMPLETED"}), 409)
    assert_problem(api.put(url, json={"status": "COMPLETED"}), 400, "id")
    assert_problem(api.put(f"{BASE}/{uuid.uuid4()}/status", json={"id": "x", "status": "FAILED"}), 404)
    assert_problem(api.put(f"{BASE}/{p['id']}", json={"amount": 3}), 409)


def test_lists_filter_in_sql(api):
    c = make_customer(api)
    a = make_payment(api, c["id"], referenceNumber="R-" + c["id"][:8])
    b = make_payment(api, c["id"], paymentMethod="CASH")
    api.put(f"{BASE}/{b['id']}/status", json={"id": b["id"], "status": "PROCESSING"})
    r = api.get(f"{BASE}/by-customer/{c['id']}", params={"sort": "createdAt,asc"}).json()
    assert [p["id"] for p in r["content"]] == [a["id"], b["id"]]
    r = api.get(BASE, params={"customerId": c["id"], "status": "PROCESSING"}).json()
    assert [p["id"] for p in r["content"]] == [b["id"]] and r["totalElements"] == 1
    r = api.get(BASE, params={"customerId": c["id"], "paymentMethod": "CASH"}).json()
    assert [p["id"] for p in r["content"]] == [b["id"]]
    r = api.get(f"{BASE}/search", params={"searchTerm": "R-" + c["id"][:8]}).json()
    assert [p["id"] for p in r["content"]] == [a["id"]] and r["totalElements"] == 1
    r = api.get(f"{BASE}/by-status/PROCESSING", params={"size": 1}).json()
    assert r["content"] and all(p["paymentStatus"] == "PROCESSING" for p in r["content"])
    assert_problem(api.get(BASE, params={"sort": "createdAt,sideways"}), 400, "sort")
    assert_problem(api.get(BASE, params={"sort": "nope"}), 400, "sort")
    assert_problem(api.get(f"{BASE}/by-status/processing"), 400, "status")


def test_delete(api, customer):
    p = make_payment(api, customer["id"])
    assert api.delete(f"{BASE}/{p['id']}").status_code == 204
    assert_problem(api.delete(f"{BASE}/{p['id']}"), 404)
    assert_problem(api.delete(f"{BASE}/not-a-uuid"), 400, "id")
