"""Handlers called as functions: a Context with an in-memory database and a fixed clock, no server."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import pytest
from starlette.requests import Request

from bss_reference.api import customers, orders, payments, subscriptions
from bss_reference.clock import Clock
from bss_reference.common import Paging
from bss_reference.config import Settings
from bss_reference.context import Context
from bss_reference.models import (
    ChangeCustomerStatus,
    CreateCustomer,
    CreateOrder,
    CreatePayment,
    UpdateOrderStatus,
)
from bss_reference.problems import ApiError

NOW = dt.datetime(2025, 1, 31, 10, 15, 30, 123000)


def context(**settings) -> Context:
    return Context.create(Settings(**settings), clock=Clock(lambda: NOW))


@pytest.fixture
def ctx():
    c = context()
    yield c
    c.db.close()


def request_to(path: str, principal: str | None = None) -> Request:
    """The bare request a handler reads its URL (``Location``) and caller from."""
    scope = {"type": "http", "method": "POST", "scheme": "http", "server": ("bss.test", 80),
             "path": path, "root_path": "", "query_string": b"", "headers": []}
    if principal:
        scope["bss.principal"] = principal
    return Request(scope)


def call(handler, *args, **kwargs):
    return asyncio.run(handler(*args, **kwargs))


def body_of(response) -> dict:
    return json.loads(response.body)


def new_customer(ctx: Context) -> dict:
    body = CreateCustomer(firstName="Jan", lastName="Kowalski", email="jan@example.com", pesel="12345678901")
    return body_of(call(customers.create_customer, ctx, body, request_to(customers.BASE)))


def new_order(ctx: Context, customer: dict) -> dict:
    body = CreateOrder(orderNumber="ORD-1", customerId=customer["id"], orderType="NEW", status="DRAFT",
                       priority="LOW", totalAmount=10)
    return body_of(call(orders.create_order, ctx, body, request_to(orders.BASE, "tester")))


def test_create_customer_stores_it_counts_it_and_answers_201_with_location(ctx):
    body = CreateCustomer(firstName="Jan", lastName="Kowalski", email="jan@example.com", pesel="12345678901")
    response = call(customers.create_customer, ctx, body, request_to(customers.BASE))
    assert response.status_code == 201
    doc = body_of(response)
    assert response.headers["location"] == f"http://bss.test{customers.BASE}/{doc['id']}"
    assert doc["status"] == "ACTIVE" and doc["statusDisplayName"] == "Aktywny" and doc["version"] == 0
    assert doc["createdAt"] == doc["updatedAt"] == "2025-01-31T10:15:30.123"  # the context's clock
    assert ctx.db.get("customers", doc["id"]) == doc
    assert ctx.metrics.registry.get_sample_value("bss_customers_created_total") == 1
    with pytest.raises(ApiError) as info:  # the same PESEL again
        call(customers.create_customer, ctx, body, request_to(customers.BASE))
    assert info.value.status == 400 and info.value.errors == [{"field": "pesel", "message": "already exists"}]


def test_illegal_status_transition_is_a_409_problem(ctx):
    customer = new_customer(ctx)
    cid = customer["id"]
    terminated = call(customers.change_customer_status, ctx, cid,
                      ChangeCustomerStatus(customerId=cid, status="terminated"))
    assert body_of(terminated)["status"] == "TERMINATED" and body_of(terminated)["version"] == 1
    with pytest.raises(ApiError) as info:
        call(customers.change_customer_status, ctx, cid, ChangeCustomerStatus(customerId=cid, status="ACTIVE"))
    error = info.value
    assert (error.status, error.code) == (409, "state.conflict")
    assert error.detail == "Illegal customer status transition TERMINATED -> ACTIVE"
    assert ctx.db.get("customers", cid)["status"] == "TERMINATED"
    assert ctx.metrics.registry.get_sample_value("bss_customers_status_changed_total") == 1  # the one that happened


def test_unknown_status_is_a_400_naming_the_field_and_the_allowed_values(ctx):
    with pytest.raises(ApiError) as info:
        call(customers.list_customers_by_status, ctx, "BLOCKED", Paging(0, 20, None))
    assert info.value.status == 400
    assert info.value.errors == [{"field": "status", "message": "must be one of ACTIVE, INACTIVE, SUSPENDED, "
                                                                "TERMINATED (case-insensitive)"}]


def test_optimistic_lock_conflict_leaves_the_order_unchanged(ctx):
    order = new_order(ctx, new_customer(ctx))
    oid = order["id"]
    assert order["createdBy"] == "tester" and order["requestedDate"] == "2025-01-31"
    ok = call(orders.change_order_status, ctx, oid, UpdateOrderStatus(id=oid, status="PENDING", version=0),
              request_to(orders.BASE))
    assert ok.status_code == 200 and ok.body == b""
    with pytest.raises(ApiError) as info:  # a writer that still holds version 0
        call(orders.change_order_status, ctx, oid, UpdateOrderStatus(id=oid, status="CANCELLED", version=0),
             request_to(orders.BASE))
    assert (info.value.status, info.value.code) == (409, "version.conflict")
    assert info.value.detail == "Version conflict detected: current version is 1, got 0"
    stored = ctx.db.get("orders", oid)
    assert stored["status"] == "PENDING" and stored["version"] == 1 and stored["isPending"]


def test_a_body_id_that_is_not_the_path_id_is_a_400(ctx):
    order = new_order(ctx, new_customer(ctx))
    with pytest.raises(ApiError) as info:
        call(orders.change_order_status, ctx, order["id"],
             UpdateOrderStatus(id=uuid.uuid4(), status="PENDING", version=0), request_to(orders.BASE))
    assert info.value.errors == [{"field": "id", "message": "must equal the path id"}]


def test_unknown_customer_is_a_404_problem_and_get_by_id_an_empty_404(ctx):
    unknown = str(uuid.uuid4())
    body = CreatePayment(customerId=unknown, amount=5, currency="PLN", paymentMethod="CARD", paymentDate="2025-01-01")
    with pytest.raises(ApiError) as info:
        call(payments.create_payment, ctx, body, request_to(payments.BASE))
    assert (info.value.status, info.value.empty, info.value.detail) == (404, False, f"Customer not found: {unknown}")
    with pytest.raises(ApiError) as info:
        call(customers.get_customer, ctx, unknown)
    assert (info.value.status, info.value.empty) == (404, True)


def test_dates_come_from_the_clock(ctx):
    customer = new_customer(ctx)
    body = CreatePayment(customerId=customer["id"], amount=5, currency="PLN", paymentMethod="CARD",
                         paymentDate="2020-06-01")
    payment = body_of(call(payments.create_payment, ctx, body, request_to(payments.BASE)))
    assert payment["paymentDate"] == "2025-01-31"  # the body's date is ignored, as documented
    assert payment["paymentNumber"].startswith("PAY-20250131-")


def test_quirks_come_from_the_settings():
    ctx = context(quirks=True)
    try:
        assert call(orders.delete_order, ctx, str(uuid.uuid4())).status_code == 501
        with pytest.raises(ApiError) as info:
            call(subscriptions.renew_subscription, ctx, str(uuid.uuid4()))
        assert info.value.status == 500
    finally:
        ctx.db.close()
