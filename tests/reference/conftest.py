"""Helpers for the reference-server tests: an authenticated httpx client and resource makers."""

from __future__ import annotations

import random
import uuid

import httpx
import pytest


def auth_client(server, client_id: str = "bss-backend") -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10,
                        headers={"Authorization": f"Bearer {server.token(client_id)}"})


@pytest.fixture(scope="session")
def api(reference_server):
    with auth_client(reference_server) as client:
        yield client


def digits(n: int) -> str:
    return "".join(random.choice("0123456789") for _ in range(n))


def uniq(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:10].upper()


def make_customer(api: httpx.Client, **overrides) -> dict:
    body = {"firstName": "Jan", "lastName": "Kowalski", "email": f"{uniq('u')}@example.com",
            "pesel": digits(11), "nip": digits(10), "phone": "+48 600-100-200", **overrides}
    r = api.post("/api/v1/customers", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_order(api: httpx.Client, customer_id: str, **overrides) -> dict:
    body = {"orderNumber": uniq("ORD-"), "customerId": customer_id, "orderType": "NEW",
            "status": "DRAFT", "priority": "NORMAL", "totalAmount": 100.5, **overrides}
    r = api.post("/api/v1/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_invoice(api: httpx.Client, customer_id: str, **overrides) -> dict:
    body = {"invoiceNumber": uniq("INV-"), "customerId": customer_id, "invoiceType": "ONE_TIME",
            "issueDate": "2025-01-01", "dueDate": "2025-01-31", "subtotal": 100,
            "taxAmount": 23, "totalAmount": 123, "currency": "PLN", **overrides}
    r = api.post("/api/v1/invoices", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def make_payment(api: httpx.Client, customer_id: str, **overrides) -> dict:
    body = {"customerId": customer_id, "amount": 50, "currency": "PLN",
            "paymentMethod": "CARD", "paymentDate": "2025-01-05", **overrides}
    r = api.post("/api/v1/payments", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_product(api: httpx.Client, **overrides) -> dict:
    body = {"productCode": uniq("P-"), "name": "Test product", "productType": "TARIFF",
            "category": "MOBILE", "price": 19.99, "billingPeriod": "MONTHLY", **overrides}
    r = api.post("/api/products", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_subscription(api: httpx.Client, customer_id: str, product_id: str, **overrides) -> dict:
    body = {"customerId": customer_id, "productId": product_id, "startDate": "2025-01-01",
            "billingStart": "2025-01-01", "endDate": "2025-12-31", "billingPeriod": "MONTHLY",
            "price": 29.99, **overrides}
    r = api.post("/api/subscriptions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def assert_problem(r: httpx.Response, status: int, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    for key in ("type", "title", "status", "detail", "instance", "code", "traceId"):
        assert key in body, body
    assert body["status"] == status
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body
