"""PageResponse arithmetic (contract §1.3) and paging parameter validation."""

from __future__ import annotations

import pytest

from .conftest import assert_problem, make_customer, make_order


@pytest.fixture(scope="module")
def orders(api):
    c = make_customer(api)
    made = [make_order(api, c["id"]) for _ in range(5)]
    return c, made


@pytest.mark.parametrize("page,size,count,total_pages,first,last", [
    (0, 2, 2, 3, True, False), (1, 2, 2, 3, False, False), (2, 2, 1, 3, False, True),
    (3, 2, 0, 3, False, False), (0, 5, 5, 1, True, True), (0, 100, 5, 1, True, True),
])
def test_arithmetic(api, orders, page, size, count, total_pages, first, last):
    c, made = orders
    r = api.get(f"/api/v1/orders/by-customer/{c['id']}", params={"page": page, "size": size})
    body = r.json()
    assert r.status_code == 200
    assert set(body) == {"content", "page", "size", "totalElements", "totalPages", "first", "last", "empty"}
    assert (body["page"], body["size"], body["totalElements"]) == (page, size, 5)
    assert len(body["content"]) == count and body["totalPages"] == total_pages
    assert body["first"] is first and body["last"] is last and body["empty"] is (count == 0)


def test_newest_first_and_pages_do_not_overlap(api, orders):
    c, made = orders
    seen = []
    for page in range(3):
        seen += [o["id"] for o in api.get(f"/api/v1/orders/by-customer/{c['id']}",
                                          params={"page": page, "size": 2}).json()["content"]]
    assert seen == [o["id"] for o in reversed(made)]


def test_empty_result(api):
    body = api.get("/api/v1/orders/search", params={"searchTerm": "no-such-order-xyz"}).json()
    assert body["totalPages"] == 0 and body["last"] is True and body["first"] is True and body["empty"]


@pytest.mark.parametrize("params,field", [
    ({"page": -1}, "page"), ({"size": 0}, "size"), ({"size": -5}, "size"), ({"page": "x"}, "page"),
    ({"size": 10**9}, "size"), ({"page": 10**12}, "page"),
])
def test_bad_page_or_size_is_400(api, params, field):
    for path in ("/api/v1/customers", "/api/v1/orders", "/api/products", "/api/subscriptions"):
        assert_problem(api.get(path, params=params), 400, field)
