"""The endpoint table: names are templates, every path parameter is a contract name."""

import re

from bss_loadtest.client import models as m
from bss_loadtest.client.endpoints import DEFAULT_PATHS, ENDPOINTS, endpoint_names, resolve_key

PARAMS = {"id", "status", "customerId", "invoiceNumber", "activationId", "assetId", "elementId", "simId",
          "category", "type"}
NAME = re.compile(r"^(GET|POST|PUT|DELETE) (/[a-z0-9-]+|/\{[A-Za-z]+\})+$")


def test_every_name_is_method_and_template():
    names = endpoint_names()
    assert len(names) == len(set(names)) == len(ENDPOINTS)
    for name in names:
        assert NAME.match(name), name
        for param in re.findall(r"\{([^}]+)\}", name):
            assert param in PARAMS, name


def test_no_raw_ids_in_names():
    uuid_like = re.compile(r"[0-9a-f]{8}-|/\d+(/|$)")
    assert not [n for n in endpoint_names() if uuid_like.search(n)]


def test_contract_paths():
    assert DEFAULT_PATHS["customers"] == "/api/v1/customers"
    assert DEFAULT_PATHS["products"] == "/api/products"
    names = endpoint_names()
    for expected in ("GET /api/v1/customers/{id}", "POST /api/v1/customers", "DELETE /api/products/{id}",
                     "PUT /api/v1/orders/{id}/status", "GET /actuator/health",
                     "POST /api/services/activations/{activationId}/deactivate",
                     "POST /api/assets/sim-cards/{simId}/assign", "GET /api/v1/invoices/by-invoice-number/{invoiceNumber}"):
        assert expected in names


def test_expected_statuses_follow_the_contract():
    assert ENDPOINTS["customers.create"].expected == (201,)
    assert ENDPOINTS["invoices.create"].expected == (200,)
    assert ENDPOINTS["assets.create"].expected == (200,)
    assert ENDPOINTS["customers.delete"].expected == (204,)
    assert ENDPOINTS["customers.list"].response == m.Page[m.Customer]
    assert ENDPOINTS["services.list"].response == list[m.ServiceEntity]


def test_all_eight_apis_covered():
    resources = {e.resource for e in ENDPOINTS.values()}
    assert resources == set(DEFAULT_PATHS)


def test_resolve_key_accepts_key_or_name():
    assert resolve_key("products.list") == "products.list"
    assert resolve_key("GET /api/products") == "products.list"
    assert resolve_key("GET /api/nothing") is None
    paths = {**DEFAULT_PATHS, "products": "/api/v2/products"}
    assert resolve_key("GET /api/v2/products", paths) == "products.list"
    assert "GET /api/v2/products/{id}" in endpoint_names(paths)


def test_business_counters_follow_the_table_and_the_target_paths():
    from bss_loadtest.client.config import TargetConfig
    from bss_loadtest.run import reconcile

    assert reconcile.business_counters() == {
        "bss_customers_created_total": "POST /api/v1/customers",
        "bss_customers_updated_total": "PUT /api/v1/customers/{id}",
        "bss_customers_status_changed_total": "PUT /api/v1/customers/{id}/status",
    }
    moved = TargetConfig(paths={"customers": "/api/v2/customers"})
    assert reconcile.business_counters(moved)["bss_customers_created_total"] == "POST /api/v2/customers"
