"""Subscription API (contract §9)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from .conftest import assert_problem, make_customer, make_order, make_product, make_subscription

BASE = "/api/subscriptions"


@pytest.fixture(scope="module")
def refs(api):
    c = make_customer(api, firstName="Sub", lastName="Scriber")
    return c, make_product(api, name="Sub product"), make_order(api, c["id"])


def test_create_fields(api, refs):
    c, p, o = refs
    r = api.post(BASE, json={"customerId": c["id"], "productId": p["id"], "orderId": o["id"],
                             "startDate": "2025-01-01", "billingStart": "2025-01-01",
                             "billingPeriod": "MONTHLY", "price": 10, "autoRenew": True})
    assert r.status_code == 201
    s = r.json()
    assert r.headers["location"].endswith(f"{BASE}/{s['id']}")
    assert re.fullmatch(r"SUB-\d{8}-[0-9A-F]{8}", s["subscriptionNumber"])
    assert s["status"] == "ACTIVE" and s["statusDisplayName"] == "Aktywna" and s["currency"] == "PLN"
    assert s["customerName"] == "Sub Scriber" and s["productName"] == "Sub product"
    assert s["orderId"] == o["id"] and s["autoRenew"] is True and s["version"] == 0


@pytest.mark.parametrize("field,value", [
    ("price", 0), ("startDate", None), ("billingPeriod", " "), ("productId", "p1"),
])
def test_create_validation(api, refs, field, value):
    c, p, _ = refs
    body = {"customerId": c["id"], "productId": p["id"], "startDate": "2025-01-01",
            "billingStart": "2025-01-01", "billingPeriod": "MONTHLY", "price": 10, field: value}
    if value is None:
        body.pop(field)
    assert_problem(api.post(BASE, json=body), 400, field)


def test_unknown_references_are_404(api, refs):
    c, p, _ = refs
    body = {"customerId": c["id"], "productId": str(uuid.uuid4()), "startDate": "2025-01-01",
            "billingStart": "2025-01-01", "billingPeriod": "MONTHLY", "price": 10}
    assert_problem(api.post(BASE, json=body), 404)
    assert_problem(api.post(BASE, json={**body, "productId": p["id"], "customerId": str(uuid.uuid4())}), 404)
    assert_problem(api.post(BASE, json={**body, "productId": p["id"], "orderId": str(uuid.uuid4())}), 404)


def test_update_status_renew_delete(api, refs):
    c, p, _ = refs
    s = make_subscription(api, c["id"], p["id"], nextBillingDate="2025-02-01")
    r = api.put(f"{BASE}/{s['id']}", json={"price": 5, "autoRenew": True, "id": "ignored"})
    assert r.status_code == 200 and r.json()["price"] == 5 and r.json()["autoRenew"] is False
    assert r.json()["billingPeriod"] == "MONTHLY" and r.json()["version"] == 1
    r = api.put(f"{BASE}/{s['id']}/renew")
    assert r.status_code == 200
    assert r.json()["endDate"] == "2026-01-31" and r.json()["nextBillingDate"] == "2025-03-01"
    url = f"{BASE}/{s['id']}/status"
    for status in ("SUSPENDED", "ACTIVE", "CANCELLED", "ACTIVE"):  # any -> any
        r = api.put(url, json={"id": "x", "status": status, "reason": "r"})
        assert r.status_code == 200 and r.json()["status"] == status
    r = api.put(url, json={"id": "x", "status": "EXPIRED"})
    assert r.json()["endDate"] == dt.date.today().isoformat() and r.json()["statusDisplayName"] == "Wygasła"
    assert_problem(api.put(url, json={"status": "ACTIVE"}), 400, "id")
    assert_problem(api.put(url, json={"id": "x", "status": "PAUSED"}), 400, "status")
    assert_problem(api.put(f"{BASE}/{uuid.uuid4()}/status", json={"id": "x", "status": "ACTIVE"}), 404)
    assert_problem(api.put(f"{BASE}/{uuid.uuid4()}", json={"price": 1}), 404)
    assert_problem(api.put(f"{BASE}/{uuid.uuid4()}/renew"), 404)
    assert api.delete(f"{BASE}/{s['id']}").status_code == 204
    r = api.get(f"{BASE}/{s['id']}")
    assert r.status_code == 404 and r.content == b""
    assert_problem(api.delete(f"{BASE}/{s['id']}"), 404)


@pytest.mark.parametrize("period,end", [("YEARLY", "2026-12-31"), ("WEEKLY", "2026-01-07"),
                                        ("QUARTERLY", "2026-03-31"), ("whatever", "2026-01-31")])
def test_renew_extends_by_period(api, refs, period, end):
    c, p, _ = refs
    s = make_subscription(api, c["id"], p["id"], billingPeriod=period)
    assert api.put(f"{BASE}/{s['id']}/renew").json()["endDate"] == end


def test_lists_filter_in_sql(api, refs):
    c = make_customer(api)
    _, p, _ = refs
    a = make_subscription(api, c["id"], p["id"])
    b = make_subscription(api, c["id"], p["id"])
    api.put(f"{BASE}/{b['id']}/status", json={"id": "x", "status": "SUSPENDED"})
    r = api.get(f"{BASE}/by-customer/{c['id']}").json()
    assert [x["id"] for x in r["content"]] == [b["id"], a["id"]] and r["totalElements"] == 2
    r = api.get(BASE, params={"customerId": c["id"], "status": "SUSPENDED"}).json()
    assert [x["id"] for x in r["content"]] == [b["id"]]
    r = api.get(f"{BASE}/search", params={"searchTerm": a["subscriptionNumber"]}).json()
    assert [x["id"] for x in r["content"]] == [a["id"]] and r["totalElements"] == 1
    r = api.get(f"{BASE}/by-status/SUSPENDED", params={"size": 1}).json()
    assert r["content"] and all(x["status"] == "SUSPENDED" for x in r["content"])
    assert api.get(BASE, params={"sort": "price,asc"}).status_code == 200
    assert_problem(api.get(f"{BASE}/search"), 400, "searchTerm")
    assert_problem(api.get(f"{BASE}/by-customer/abc"), 400, "customerId")
    assert_problem(api.get(f"{BASE}/by-status/NOPE"), 400, "status")
