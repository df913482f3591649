"""Order API (contract §3)."""

from __future__ import annotations

import uuid

import pytest

from .conftest import assert_problem, make_customer, make_order, uniq

BASE = "/api/v1/orders"


@pytest.fixture(scope="module")
def customer(api):
    return make_customer(api)


def test_create_fields_location_and_derived_values(api, customer):
    r = api.post(BASE, json={"orderNumber": uniq("O-"), "customerId": customer["id"],
                             "orderType": "NEW", "status": "PENDING", "priority": "HIGH",
                             "totalAmount": 10, "requestedDate": "2025-03-01", "notes": "hello"})
    assert r.status_code == 201
    o = r.json()
    assert r.headers["location"].endswith(f"{BASE}/{o['id']}")
    assert o["promisedDate"] == "2025-03-06" and o["currency"] == "PLN" and o["notes"] == "hello"
    assert o["customerName"] == "Jan Kowalski" and o["isPending"] and o["canBeCancelled"]
    assert o["createdBy"] == "service-account-bss-backend" and o["version"] == 0
    assert o["statusDisplayName"] == "PENDING" and o["salesRepName"] is None


@pytest.mark.parametrize("field,value", [
    ("orderNumber", "ab"), ("customerId", "nope"), ("orderType", "BOGUS"), ("status", "new"),
    ("priority", None), ("totalAmount", "lots"), ("currency", "EURO"),
])
def test_create_validation(api, customer, field, value):
    body = {"orderNumber": uniq("O-"), "customerId": customer["id"], "orderType": "NEW",
            "status": "DRAFT", "priority": "LOW", "totalAmount": 1, field: value}
    if value is None:
        body.pop(field)
    assert_problem(api.post(BASE, json=body), 400, field)


def test_duplicate_number_409_and_unknown_customer_404(api, customer):
    o = make_order(api, customer["id"])
    body = {"orderNumber": o["orderNumber"], "customerId": customer["id"], "orderType": "NEW",
            "status": "DRAFT", "priority": "LOW", "totalAmount": 1}
    assert_problem(api.post(BASE, json=body), 409)
    body.update(orderNumber=uniq("O-"), customerId=str(uuid.uuid4()))
    assert_problem(api.post(BASE, json=body), 404)


def test_status_machine_and_versions(api, customer):
    o = make_order(api, customer["id"])
    url = f"{BASE}/{o['id']}/status"
    steps = ["PENDING", "APPROVED", "IN_PROGRESS", "COMPLETED"]
    for version, status in enumerate(steps):
        r = api.put(url, json={"id": o["id"], "status": status, "version": version})
        assert r.status_code == 200 and r.content == b"", r.text
    got = api.get(f"{BASE}/{o['id']}").json()
    assert got["status"] == "COMPLETED" and got["completedDate"] and got["version"] == 4
    assert_problem(api.put(url, json={"id": o["id"], "status": "CANCELLED", "version": 4}), 409)
    o2 = make_order(api, customer["id"])
    url2 = f"{BASE}/{o2['id']}/status"
    assert_problem(api.put(url2, json={"id": o2["id"], "status": "PENDING", "version": 7}), 409)
    assert_problem(api.put(url2, json={"id": o2["id"], "status": "APPROVED", "version": 0}), 409)
    assert_problem(api.put(url2, json={"id": str(uuid.uuid4()), "status": "PENDING", "version": 0}),
                   400, "id")
    unknown = str(uuid.uuid4())
    assert_problem(api.put(f"{BASE}/{unknown}/status",
                           json={"id": unknown, "status": "PENDING", "version": 0}), 404)


def test_lists_and_filters(api):
    c = make_customer(api)
    a = make_order(api, c["id"], status="PENDING", notes="needle-" + c["id"][:8])
    b = make_order(api, c["id"], orderType="UPGRADE")
    by_cust = api.get(f"{BASE}/by-customer/{c['id']}").json()
    assert by_cust["totalElements"] == 2 and by_cust["content"][0]["id"] == b["id"]
    both = api.get(BASE, params={"customerId": c["id"], "status": "PENDING"}).json()
    assert [o["id"] for o in both["content"]] == [a["id"]]
    typed = api.get(BASE, params={"customerId": c["id"], "type": "UPGRADE"}).json()
    assert [o["id"] for o in typed["content"]] == [b["id"]]
    found = api.get(f"{BASE}/search", params={"searchTerm": "needle-" + c["id"][:8]}).json()
    assert [o["id"] for o in found["content"]] == [a["id"]]
    pending = api.get(f"{BASE}/by-status/PENDING", params={"size": 500}).json()["content"]
    assert all(o["status"] == "PENDING" for o in pending)
    assert_problem(api.get(f"{BASE}/by-status/pending"), 400, "status")
    assert_problem(api.get(BASE, params={"type": "NOPE"}), 400, "type")
    assert_problem(api.get(f"{BASE}/by-customer/xyz"), 400, "customerId")
    assert_problem(api.get(f"{BASE}/search"), 400, "searchTerm")


def test_get_unknown_and_malformed(api):
    r = api.get(f"{BASE}/{uuid.uuid4()}")
    assert r.status_code == 404 and r.content == b""
    assert_problem(api.get(f"{BASE}/12"), 400, "id")


def test_delete_is_204_then_404(api, customer):
    o = make_order(api, customer["id"])
    assert api.delete(f"{BASE}/{o['id']}").status_code == 204
    assert api.get(f"{BASE}/{o['id']}").status_code == 404
    assert_problem(api.delete(f"{BASE}/{o['id']}"), 404)
