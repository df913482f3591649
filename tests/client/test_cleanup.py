"""Cleanup against the reference server: deletes what was created, reports honestly, outside the stats."""

from types import SimpleNamespace

import httpx

from bss_loadtest.client import auth, cleanup, lifecycle
from bss_loadtest.client.data import DataFactory, customer_marker, process_salt
from bss_loadtest.client.state import client_state


def _client(server):
    token = auth.fetch_token(auth.identities(server.url)[0])[0]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_cleanup_deletes_and_reports(reference_server):
    data = DataFactory("cleanuptest1")
    registry = cleanup.Registry()
    with _client(reference_server) as http:
        customer = http.post("/api/v1/customers", content=data.customer().to_json(),
                             headers={"Content-Type": "application/json"}).json()
        order = http.post("/api/v1/orders", content=data.order(customer["id"]).to_json(),
                          headers={"Content-Type": "application/json"}).json()
        product = http.post("/api/products", content=data.product().to_json(),
                            headers={"Content-Type": "application/json"}).json()
        registry.add("customers", customer["id"])
        registry.add("orders", order["id"], owner=customer["id"])
        registry.add("products", product["id"], version=product["version"])
        registry.add("assets", "asset-1")
        registry.add("customers", "00000000-0000-0000-0000-000000000000")  # already gone: 404, not counted

        report = cleanup.run_cleanup(reference_server.url, auth.identities(reference_server.url), registry=registry)

        assert report.deleted == 2  # the customer (its order with it) and the product
        assert report.not_deleted == [{"resource": "assets", "id": "asset-1", "reason": "no DELETE in the API"}]
        assert report.requests == {"DELETE /api/v1/customers/{id}": 2, "DELETE /api/products/{id}": 1}
        assert len(registry) == 1  # only the asset is left
        assert http.get(f"/api/v1/customers/{customer['id']}").status_code == 404
        assert http.get(f"/api/v1/orders/{order['id']}").status_code == 404
        assert http.get(f"/api/products/{product['id']}").status_code == 404


def test_test_stop_cleans_up_and_keeps_the_report_on_its_environment(reference_server):
    data = DataFactory("cleanuptest2")
    env = SimpleNamespace(host=reference_server.url, parsed_options=None)
    other = SimpleNamespace(host=reference_server.url, parsed_options=None)
    assert client_state(env) is client_state(env) is env.bss_client
    assert client_state(other) is not client_state(env)
    assert client_state(env).last_cleanup_report is None  # no cleanup ran yet
    with _client(reference_server) as http:
        customer = http.post("/api/v1/customers", content=data.customer().to_json(),
                             headers={"Content-Type": "application/json"}).json()
        client_state(env).registry.add("customers", customer["id"])

        lifecycle.on_test_stop(env)

        assert client_state(env).last_cleanup_report == {
            "deleted": 1, "not_deleted": [], "not_deleted_count": 0, "left_behind": {}, "untracked": {},
            "swept": 0, "requests": {"DELETE /api/v1/customers/{id}": 1}}
        assert len(client_state(env).registry) == 0
        assert client_state(env).tokens.fetches == 1  # the run's own token cache, authenticated like the users
        assert http.get(f"/api/v1/customers/{customer['id']}").status_code == 404
    lifecycle.on_test_stop(other)  # nothing created: an empty report, no request
    assert client_state(other).last_cleanup_report == {"deleted": 0, "not_deleted": [], "not_deleted_count": 0,
                                                        "left_behind": {}, "untracked": {}, "swept": 0,
                                                        "requests": {}}
    assert client_state(other).tokens.fetches == 0


def test_owned_entities_of_an_undeletable_customer_are_reported(reference_server):
    registry = cleanup.Registry()
    registry.add("customers", "c-1")
    registry.add("invoices", "i-1", owner="c-1")
    # a wrong token: every delete is refused, nothing is deleted, and the report says why
    report = cleanup.run_cleanup(reference_server.url,
                                 [auth.Identity(reference_server.url + "/nope", "x", "y")], registry=registry)
    assert report.deleted == 0
    reasons = {item["resource"]: item["reason"] for item in report.not_deleted}
    assert reasons["customers"].startswith("DELETE answered no token")
    assert reasons["invoices"].startswith("owning customer not deleted (DELETE answered no token")
    assert reasons["invoices"].endswith("no DELETE in the API")


def test_time_budget_bounds_the_cleanup(reference_server):
    registry = cleanup.Registry()
    for i in range(5):
        registry.add("customers", f"00000000-0000-0000-0000-00000000000{i}")
    report = cleanup.run_cleanup(reference_server.url, [], registry=registry, timeout_s=0.0)
    assert len(report.not_deleted) == 5
    assert {item["reason"] for item in report.not_deleted} == {"cleanup time budget exhausted"}


def test_discarding_a_customer_forgets_what_it_owned():
    registry = cleanup.Registry()
    registry.add("customers", "c")
    registry.add("orders", "o", owner="c")
    registry.add("products", "p")
    registry.discard("customers", "c")
    assert [c.resource for c in registry.snapshot()] == ["products"]


def test_the_registry_is_bounded_and_counts_what_it_let_go():
    """Past its limit the oldest entity is let go (and what it owned stays tracked on its own); a
    re-registered entity does not count twice; the cleanup reports the let-go ones per kind."""
    registry = cleanup.Registry(limit=3)
    registry.add("customers", "c1")
    registry.add("orders", "o1", owner="c1")
    registry.add("products", "p1", version=0)
    registry.add("products", "p1", version=1)  # an update, not a new entity
    assert len(registry) == 3 and registry.untracked == {}
    registry.add("customers", "c2")
    registry.add("payments", "y1", owner="c2")
    assert len(registry) == 3
    assert registry.untracked == {"customers": 1, "orders": 1}
    assert [(c.resource, c.id) for c in registry.snapshot()] == [("products", "p1"), ("customers", "c2"),
                                                                 ("payments", "y1")]
    registry.discard("customers", "c2")  # the cascade still forgets what c2 owned
    assert [c.id for c in registry.snapshot()] == ["p1"]
    for n in range(100):
        registry.add("orders", f"o-{n}")
    assert len(registry) == 3 and registry.untracked == {"customers": 1, "orders": 98, "products": 1}
    report = cleanup.run_cleanup("http://127.0.0.1:9", [], registry=cleanup.Registry(limit=1), timeout_s=0.0)
    assert report.untracked == {}
    bounded = cleanup.Registry(limit=1)
    bounded.add("customers", "a")
    bounded.add("customers", "b")
    report = cleanup.run_cleanup("http://127.0.0.1:9", [], registry=bounded, timeout_s=0.0)
    assert report.untracked == {"customers": 1} and report.to_dict()["untracked"] == {"customers": 1}
    assert report.not_deleted_count == 1  # b, past the time budget


def _create_customer(http, data: DataFactory) -> dict:
    answer = http.post("/api/v1/customers", content=data.customer().to_json(),
                       headers={"Content-Type": "application/json"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_sweep_deletes_the_processs_customers_the_registry_never_saw_and_no_others(reference_server):
    """A create whose answer the stop cut off leaves a customer no registry holds; the sweep finds
    it by this process's marker, deletes it, counts it, and leaves every other customer alone, also
    one whose names match the search but whose email does not carry the marker."""
    env = SimpleNamespace(host=reference_server.url, parsed_options=SimpleNamespace(run_id="sweeptest1"))
    ours, other_run = DataFactory("sweeptest1"), DataFactory("sweeptest2")
    with _client(reference_server) as http:
        held = _create_customer(http, ours)
        cut_off = [_create_customer(http, ours) for _ in range(3)]
        foreign = _create_customer(http, other_run)
        namesake = http.post("/api/v1/customers", headers={"Content-Type": "application/json"}, content=ours.customer()
                             .model_copy(update={"last_name": customer_marker("sweeptest1", process_salt()),
                                                 "email": "someone@example.org"}).to_json())
        assert namesake.status_code == 201, namesake.text
        namesake = namesake.json()
        state = client_state(env)
        state.registry.add("customers", held["id"])
        state.registry.sent.add("customers")

        lifecycle.on_test_stop(env)

        report = state.last_cleanup_report
        assert (report["deleted"], report["swept"], report["not_deleted_count"]) == (4, 3, 0), report
        assert report["requests"]["GET /api/v1/customers/search"] == 1
        for gone in (held, *cut_off):
            assert http.get(f"/api/v1/customers/{gone['id']}").status_code == 404
        for kept in (foreign, namesake):
            assert http.get(f"/api/v1/customers/{kept['id']}").status_code == 200


def test_a_sweep_that_finds_them_all_clears_what_the_registry_let_go(reference_server, monkeypatch):
    """Customers let go past the registry's limit (and their orders) are counted as untracked while
    they are on the target; the sweep deletes them, over several pages, and they are counted no more."""
    monkeypatch.setattr(cleanup, "SWEEP_PAGE_SIZE", 2)
    data = DataFactory("sweeptest3")
    registry = cleanup.Registry(limit=1)
    with _client(reference_server) as http:
        customers = [_create_customer(http, data) for _ in range(5)]
        order = http.post("/api/v1/orders", content=data.order(customers[0]["id"]).to_json(),
                          headers={"Content-Type": "application/json"}).json()
        registry.add("customers", customers[0]["id"])
        registry.add("orders", order["id"], owner=customers[0]["id"])
        for customer in customers[1:]:
            registry.add("customers", customer["id"])
        registry.sent.add("customers")
        assert registry.untracked == {"customers": 4, "orders": 1}

        report = cleanup.run_cleanup(reference_server.url, auth.identities(reference_server.url), registry=registry,
                                     sweep=customer_marker("sweeptest3", process_salt()))

        assert (report.deleted, report.swept, report.untracked) == (5, 4, {}), report
        assert report.requests["GET /api/v1/customers/search"] == 3  # pages of 2, 2 and 0
        assert http.get(f"/api/v1/orders/{order['id']}").status_code == 404
        assert "4 of them customers found by the sweep" in cleanup.outcome(report)[1]


def test_a_sweep_whose_search_fails_stops_short_and_says_so(reference_server_factory, caplog):
    server = reference_server_factory(extra_args=[])
    data = DataFactory("sweeptest4")
    registry = cleanup.Registry(limit=1)
    with _client(server) as http:
        for _ in range(2):
            registry.add("customers", _create_customer(http, data)["id"])
        server.set_faults({"endpoints": {"GET /api/v1/customers/search": {"error_rate": 1.0}}})
        with caplog.at_level("WARNING", logger=cleanup.__name__):
            report = cleanup.run_cleanup(server.url, auth.identities(server.url), registry=registry,
                                         sweep=customer_marker("sweeptest4", process_salt()))
        server.reset_faults()
    assert (report.deleted, report.swept, report.untracked) == (1, 0, {"customers": 1})  # still counted
    assert "the sweep for customers whose create was not answered stopped short (HTTP 503)" in caplog.text


def test_a_sweep_that_gets_no_token_stops_short_and_says_so(reference_server, caplog):
    registry = cleanup.Registry()
    registry.add("customers", "c-1")
    with caplog.at_level("WARNING", logger=cleanup.__name__):
        report = cleanup.run_cleanup(reference_server.url, [auth.Identity(reference_server.url + "/nope", "x", "y")],
                                     registry=registry, sweep=customer_marker("sweeptest5", process_salt()))
    assert (report.deleted, report.swept) == (0, 0)
    assert "the sweep for customers whose create was not answered stopped short (no token (" in caplog.text
    assert "GET /api/v1/customers/search" not in report.requests  # nothing was sent without its token
