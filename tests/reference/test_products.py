"""Product API (contract §6)."""

from __future__ import annotations

import uuid

import pytest

from .conftest import assert_problem, make_product, uniq

BASE = "/api/products"


def test_seeded_catalogue_and_default_sort_works(api):
    r = api.get(BASE)  # no sort: createdAt,desc (the real backend's 500 is a bug)
    assert r.status_code == 200 and r.json()["totalElements"] >= 5
    r2 = api.get(BASE, params={"sort": "createdAt,desc"})
    assert r2.status_code == 200 and r2.json() == r.json()
    asc = api.get(BASE, params={"sort": "createdAt", "size": 1000}).json()["content"]
    desc = api.get(BASE, params={"sort": "createdAt,desc", "size": 1000}).json()["content"]
    assert [p["id"] for p in asc] == [p["id"] for p in reversed(desc)]
    by_price = api.get(BASE, params={"sort": "price,asc", "size": 1000}).json()["content"]
    assert [p["price"] for p in by_price] == sorted(p["price"] for p in by_price)


def test_create_and_get(api):
    r = api.post(BASE, json={"productCode": uniq("P-"), "name": "Fiber", "productType": "SERVICE",
                             "category": "BROADBAND", "price": 0, "billingPeriod": "MONTHLY"})
    assert r.status_code == 201
    p = r.json()
    assert r.headers["location"].endswith(f"{BASE}/{p['id']}")
    assert p["status"] == "ACTIVE" and p["isActive"] and p["currency"] == "PLN"
    assert p["productTypeDisplayName"] == "Usługa" and p["categoryDisplayName"] == "Szerokopasmowy"
    assert api.get(f"{BASE}/{p['id']}").json() == p
    assert_problem(api.post(BASE, json={"productCode": p["productCode"], "name": "X1",
                                        "productType": "ADDON", "price": 1,
                                        "billingPeriod": "M"}), 409)


@pytest.mark.parametrize("field,value", [
    ("productCode", "ab"), ("name", "x"), ("productType", "PLAN"), ("category", "RADIO"),
    ("price", -0.01), ("billingPeriod", "x" * 21), ("status", "active"),
])
def test_create_validation(api, field, value):
    body = {"productCode": uniq("P-"), "name": "Prod", "productType": "TARIFF", "price": 1,
            "billingPeriod": "MONTHLY", field: value}
    assert_problem(api.post(BASE, json=body), 400, field)


def test_update_status_and_versions(api):
    p = make_product(api)
    body = {"id": p["id"], "version": 0, "productCode": p["productCode"], "name": "Renamed",
            "productType": "BUNDLE", "price": 5, "billingPeriod": "YEARLY", "status": "INACTIVE"}
    r = api.put(f"{BASE}/{p['id']}", json=body)
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["name"] == "Renamed"
    assert not r.json()["isActive"]
    assert_problem(api.put(f"{BASE}/{p['id']}", json=body), 409)
    assert_problem(api.put(f"{BASE}/{p['id']}", json={**body, "id": str(uuid.uuid4())}), 400, "id")
    assert_problem(api.put(f"{BASE}/{p['id']}", json={k: v for k, v in body.items() if k != "status"}),
                   400, "status")
    url = f"{BASE}/{p['id']}/status"
    for version, status in enumerate(["DISCONTINUED", "ACTIVE", "ACTIVE"], start=1):
        r = api.put(url, json={"id": p["id"], "status": status, "version": version})
        assert r.status_code == 200 and r.json()["status"] == status  # no transition rules
    assert_problem(api.put(url, json={"id": p["id"], "status": "ACTIVE", "version": 1}), 409)
    unknown = str(uuid.uuid4())
    assert_problem(api.put(f"{BASE}/{unknown}/status",
                           json={"id": unknown, "status": "ACTIVE", "version": 0}), 404)


def test_lists(api):
    p = make_product(api, name="Unique Widget " + uuid.uuid4().hex[:6], status="SUSPENDED")
    r = api.get(f"{BASE}/search", params={"searchTerm": p["name"][-12:].lower()}).json()
    assert [x["id"] for x in r["content"]] == [p["id"]]
    suspended = api.get(f"{BASE}/by-status/suspended", params={"size": 1000}).json()["content"]
    assert p["id"] in [x["id"] for x in suspended]
    active = api.get(f"{BASE}/active", params={"size": 1000}).json()["content"]
    assert p["id"] not in [x["id"] for x in active] and all(x["isActive"] for x in active)
    future = make_product(api, validityStart="2999-01-01")
    active = api.get(f"{BASE}/active", params={"size": 1000}).json()["content"]
    assert future["id"] not in [x["id"] for x in active]
    assert_problem(api.get(f"{BASE}/by-status/GONE"), 400, "status")
    assert_problem(api.get(f"{BASE}/search"), 400, "searchTerm")
    assert_problem(api.get(BASE, params={"sort": "desc,createdAt"}), 400, "sort")


def test_soft_delete_needs_version(api):
    p = make_product(api)
    assert_problem(api.delete(f"{BASE}/{p['id']}"), 400, "version")
    assert api.delete(f"{BASE}/{p['id']}", params={"version": 0}).status_code == 204
    assert api.get(f"{BASE}/{p['id']}").status_code == 404
    ids = [x["id"] for x in api.get(BASE, params={"size": 10000}).json()["content"]]
    assert p["id"] not in ids
    assert_problem(api.delete(f"{BASE}/{p['id']}", params={"version": 0}), 404)
    # the code of a deleted product may be reused
    make_product(api, productCode=p["productCode"])
