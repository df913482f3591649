"""Customer API (contract §2) against a real server."""

from __future__ import annotations

import uuid

import pytest

from .conftest import assert_problem, make_customer, make_invoice, make_order, make_payment

BASE = "/api/v1/customers"


def test_create_returns_201_location_and_contract_fields(api):
    body = {"firstName": "Anna", "lastName": "Nowak", "email": "anna@example.com"}
    r = api.post(BASE, json=body)
    assert r.status_code == 201
    c = r.json()
    assert r.headers["location"] == f"{api.base_url}{BASE}/{c['id']}".replace("//api", "/api")
    assert set(c) == {"id", "firstName", "lastName", "pesel", "nip", "email", "phone", "status",
                      "statusDisplayName", "createdAt", "updatedAt", "version"}
    assert c["status"] == "ACTIVE" and c["statusDisplayName"] == "Aktywny" and c["version"] == 0
    assert len(c["createdAt"]) == 23 and c["createdAt"][10] == "T" and "+" not in c["createdAt"]
    assert api.get(f"{BASE}/{c['id']}").json() == c
    r = api.post(BASE, params={"x": "1"}, json=body)
    assert r.headers["location"].endswith(f"{BASE}/{r.json()['id']}")  # no query in Location


@pytest.mark.parametrize("field,value", [
    ("firstName", "A"), ("firstName", "   "), ("lastName", None), ("email", "not-an-email"),
    ("pesel", "123"), ("nip", "12345678901"), ("phone", "abc"),
])
def test_create_validation_names_the_field(api, field, value):
    body = {"firstName": "Jan", "lastName": "Kowalski", "email": "j@example.com", field: value}
    if value is None:
        body.pop(field)
    assert_problem(api.post(BASE, json=body), 400, field)


def test_malformed_json_is_400(api):
    r = api.post(BASE, content=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "body")


def test_duplicate_pesel_is_400_naming_pesel(api):
    c = make_customer(api)
    r = api.post(BASE, json={"firstName": "Jan", "lastName": "Kowalski", "email": "x@example.com",
                             "pesel": c["pesel"]})
    assert_problem(r, 400, "pesel")


def test_get_unknown_is_404_empty_and_bad_uuid_400(api):
    r = api.get(f"{BASE}/{uuid.uuid4()}")
    assert r.status_code == 404 and r.content == b""
    assert_problem(api.get(f"{BASE}/not-a-uuid"), 400, "id")


def test_update_increments_version_and_requires_customer_id(api):
    c = make_customer(api)
    body = {"customerId": c["id"], "firstName": "Janusz", "lastName": "Kowalski",
            "email": "new@example.com"}
    r = api.put(f"{BASE}/{c['id']}", json=body)
    assert r.status_code == 200 and r.json()["firstName"] == "Janusz" and r.json()["version"] == 1
    body.pop("customerId")
    assert_problem(api.put(f"{BASE}/{c['id']}", json=body), 400, "customerId")
    body["customerId"] = str(uuid.uuid4())
    assert_problem(api.put(f"{BASE}/{uuid.uuid4()}", json=body), 404)


def test_status_machine(api):
    c = make_customer(api)
    url = f"{BASE}/{c['id']}/status"
    r = api.put(url, json={"customerId": c["id"], "status": "suspended"})
    assert r.status_code == 200 and r.json()["status"] == "SUSPENDED"
    assert r.json()["statusDisplayName"] == "Zawieszony"
    assert_problem(api.put(url, json={"customerId": c["id"], "status": "SUSPENDED"}), 409)
    assert_problem(api.put(url, json={"customerId": c["id"], "status": "INACTIVE"}), 409)
    assert_problem(api.put(url, json={"customerId": c["id"], "status": "BLOCKED"}), 400, "status")
    assert api.put(url, json={"customerId": c["id"], "status": "TERMINATED"}).status_code == 200
    assert_problem(api.put(url, json={"customerId": c["id"], "status": "ACTIVE"}), 409)
    r = api.put(f"{BASE}/{c['id']}", json={"customerId": c["id"], "firstName": "Xx",
                                            "lastName": "Yy", "email": "a@b.pl"})
    assert_problem(r, 409)
    assert_problem(api.put(f"{BASE}/{uuid.uuid4()}/status",
                           json={"customerId": c["id"], "status": "ACTIVE"}), 404)


def test_lists_filters_and_routes_are_not_swallowed(api):
    marker = "Zzmarker" + uuid.uuid4().hex[:6]
    a = make_customer(api, lastName=marker)
    b = make_customer(api, lastName=marker)
    api.put(f"{BASE}/{b['id']}/status", json={"customerId": b["id"], "status": "INACTIVE"})
    r = api.get(f"{BASE}/search", params={"searchTerm": marker.lower()})
    assert r.status_code == 200 and {c["id"] for c in r.json()["content"]} == {a["id"], b["id"]}
    assert r.json()["totalElements"] == 2
    r = api.get(BASE, params={"search": marker, "status": "ACTIVE"})
    assert r.json()["totalElements"] == 2  # search wins over status
    inactive = api.get(f"{BASE}/by-status/INACTIVE", params={"size": 1000}).json()["content"]
    assert b["id"] in {c["id"] for c in inactive} and a["id"] not in {c["id"] for c in inactive}
    assert all(c["status"] == "INACTIVE" for c in api.get(BASE, params={"status": "inactive"}).json()["content"])
    assert_problem(api.get(BASE, params={"status": "NOPE"}), 400, "status")
    assert_problem(api.get(f"{BASE}/search"), 400, "searchTerm")
    assert_problem(api.get(f"{BASE}/by-status/NOPE"), 400, "status")


def test_delete_cascades_to_dependants(api):
    c = make_customer(api)
    order = make_order(api, c["id"])
    invoice = make_invoice(api, c["id"])
    payment = make_payment(api, c["id"])
    assert api.delete(f"{BASE}/{c['id']}").status_code == 204
    for path in (f"{BASE}/{c['id']}", f"/api/v1/orders/{order['id']}",
                 f"/api/v1/invoices/{invoice['id']}", f"/api/v1/payments/{payment['id']}"):
        assert api.get(path).status_code == 404, path
    r = api.delete(f"{BASE}/{c['id']}")
    assert r.status_code == 404 and r.content == b""


def test_wrong_method_is_405_with_every_allowed_method(api):
    r = api.patch(BASE, json={})
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET, POST"
