"""The smoke pass and the cleanup order, derived from the endpoint table: every endpoint once, each
after what it refers to, deletes last and in dependency order; a broken table is an error."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from bss_loadtest.client import cleanup, plan
from bss_loadtest.client.data import DataFactory
from bss_loadtest.client.endpoints import ENDPOINTS, Endpoint, Ref, Smoke

KEYS = [e.key for e in plan.SMOKE_ORDER]


def position(key: str) -> int:
    return KEYS.index(key)


class Answer:
    """A fake parsed answer: the request body's fields, the path's id, a version one up."""

    def __init__(self, key: str, path: dict | None, body) -> None:
        self._key, self._body = key, body
        self.id = (path or {}).get("id") or getattr(body, "id", None) or f"{key}:id"
        self.version = (getattr(body, "version", None) or 0) + 1

    def __getattr__(self, name: str):
        value = getattr(self._body, name, None)
        return value if value is not None else f"{self._key}:{name}"


SERVICE = SimpleNamespace(status="ACTIVE", depends_on_service_codes=[], auto_provision=True, service_code="SVC-1")


def fake_call(calls: list, failing: frozenset[str] = frozenset()):
    def call(key, path=None, params=None, body=None):
        calls.append(SimpleNamespace(key=key, path=path, params=params, body=body))
        if key in failing:
            return None
        if key == "services.list":
            return [SimpleNamespace(status="INACTIVE", depends_on_service_codes=[]), SERVICE]
        return True if ENDPOINTS[key].response is None else Answer(key, path, body)

    return call


def test_every_endpoint_once():
    assert sorted(KEYS) == sorted(ENDPOINTS)
    calls: list = []
    plan.run_smoke(fake_call(calls), DataFactory("plan-test"))
    assert [c.key for c in calls] == KEYS


def test_each_endpoint_comes_after_what_it_refers_to():
    makers = {}
    for key in KEYS:
        smoke = ENDPOINTS[key].smoke
        for name in plan.required(smoke) | set(smoke.uses):
            assert name in makers and makers[name] < position(key), (key, name)
        for first in smoke.after:
            assert position(first) < position(key), (key, first)
        if smoke.saves:
            makers.setdefault(smoke.saves, position(key))
    assert makers["customer"] == position("customers.create")


def test_deletes_run_last_and_nothing_before_what_is_built_on_it():
    teardown = [k for k in KEYS if plan.is_teardown(ENDPOINTS[k])]
    assert set(teardown) == {e.key for e in ENDPOINTS.values() if e.method == "DELETE"} | {"customers.change_status"}
    assert KEYS[-len(teardown):] == teardown
    for dependent, base in [("subscriptions.delete", "products.delete"), ("subscriptions.delete", "orders.delete"),
                            ("subscriptions.delete", "customers.delete"), ("payments.delete", "customers.delete"),
                            ("orders.delete", "customers.change_status"), ("payments.delete", "customers.change_status"),
                            ("customers.change_status", "customers.delete")]:
        assert position(dependent) < position(base), (dependent, base)
    assert plan.DELETE_ORDER.index("subscriptions") < plan.DELETE_ORDER.index("products")
    assert plan.DELETE_ORDER.index("payments") < plan.DELETE_ORDER.index("customers")


def test_calls_carry_what_the_calls_before_made():
    data = DataFactory("plan-test")
    calls: list = []
    plan.run_smoke(fake_call(calls), data)
    by_key = {c.key: c for c in calls}
    assert by_key["customers.get"].path == {"id": "customers.create:id"}
    assert by_key["customers.search"].params == {**plan.PAGE, "searchTerm": f"Lt{data.run_id}"}
    assert by_key["orders.by_customer"].path == {"customerId": "customers.create:id"}
    assert by_key["orders.search"].params == {**plan.PAGE, "searchTerm": data.tag}
    assert by_key["invoices.by_number"].path == {"invoiceNumber": by_key["invoices.create"].body.invoice_number}
    # the latest version goes with each change: create 1 → update 2 → status change 3
    assert by_key["invoices.change_status"].body.version == 2
    assert by_key["products.delete"].params == {"version": 3}
    assert by_key["payments.create"].body.invoice_id == "invoices.create:id"
    assert by_key["subscriptions.create"].body.order_id == "orders.create:id"
    assert by_key["services.check_eligibility"].params == {"customerId": "customers.create:id", "serviceCode": "SVC-1"}
    assert by_key["services.activation_get"].path == {"activationId": "services.activate:id"}
    assert by_key["assets.element_heartbeat"].path == {"elementId": by_key["assets.element_create"].body.element_id}
    assert by_key["assets.sim_assign"].params["assignedToName"] == data.tag
    assert by_key["customers.change_status"].body.status == "INACTIVE"
    paged = {k for k in KEYS if ENDPOINTS[k].paged}
    assert paged and all(by_key[k].params and by_key[k].params.items() >= plan.PAGE.items() for k in paged)
    assert all(by_key[k].params is None for k in ("services.list", "assets.list", "actuator.health"))


def test_a_failed_prerequisite_leaves_its_dependents_uncalled():
    def called(*failing: str) -> set[str]:
        calls: list = []
        plan.run_smoke(fake_call(calls, failing=frozenset(failing)), DataFactory("x"))
        return {c.key for c in calls}

    without_customer = called("customers.create")
    assert not {"orders.create", "customers.get", "services.activate", "assets.assign", "customers.delete"} & without_customer
    assert {"customers.list", "products.create", "products.delete", "assets.create", "actuator.health"} <= without_customer
    assert "assets.release" not in called("assets.assign")  # after= assets.assign, which failed
    assert "customers.delete" not in called("customers.change_status")


def test_cleanup_order_and_deletes_come_from_the_table():
    assert {kind: e.key for kind, e in cleanup.DELETE_ENDPOINT.items()} == {
        "customers": "customers.delete", "orders": "orders.delete", "payments": "payments.delete",
        "products": "products.delete", "subscriptions": "subscriptions.delete"}
    assert cleanup.ORDER[: len(plan.DELETE_ORDER)] == plan.DELETE_ORDER
    assert set(cleanup.ORDER) == {e.tracks for e in ENDPOINTS.values() if e.tracks}


def _row(key: str, template: str = "", method: str = "GET", **smoke) -> Endpoint:
    return Endpoint(key, method, "customers", template, (200,), None, dict, smoke=Smoke(**smoke))


@pytest.mark.parametrize(("rows", "message"), [
    ([_row("a.get", "/{id}")], "a.get: smoke: no value for path parameter {id}"),
    ([_row("a.get", "/{id}", path={"id": Ref("thing")})], "a.get: smoke: nothing makes 'thing'"),
    ([_row("a.get", after=("a.nope",))], "a.get: smoke: after: unknown endpoint 'a.nope'"),
    ([_row("a.one", after=("a.two",)), _row("a.two", after=("a.one",))], "circular: a.one, a.two"),
    ([_row("a.get", after=("a.delete",)), _row("a.delete", method="DELETE")], "circular: a.get"),
])
def test_a_table_that_cannot_be_ordered_is_an_error(rows, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        plan.order(rows)


def test_a_new_row_is_ordered_without_code():
    """A new read of a customer's things needs only its row: it runs after the customer is made."""
    row = dataclasses.replace(ENDPOINTS["orders.by_customer"], key="orders.by_customer_v2",
                              path="/v2/by-customer/{customerId}")
    ordered = [e.key for e in plan.order([row, *ENDPOINTS.values()])]
    assert ordered.index("customers.create") < ordered.index("orders.by_customer_v2") < ordered.index(
        "customers.delete")
