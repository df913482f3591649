"""Every BSS endpoint the suite calls, as data.

One row per endpoint: ``Endpoint(key, method, resource, path, expected, request, response)``.
``path`` is relative to the resource's base path (``/api/v1/customers``; configurable per target),
``expected`` the success status(es) of the contract, ``request`` the pydantic model of the body
(or ``None``), ``response`` the model of the answer: a model, ``Page[Model]``, ``list[Model]`` or
``None`` (no body to check). Adding an endpoint is adding a row; the client, the smoke pass and
the threshold-scope check pick it up.

The request name Locust reports is ``method`` + the full path template
(``GET /api/v1/customers/{id}``), so statistics never split per entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bss_loadtest.client import models as m

DEFAULT_PATHS: dict[str, str] = {
    "customers": "/api/v1/customers",
    "orders": "/api/v1/orders",
    "invoices": "/api/v1/invoices",
    "payments": "/api/v1/payments",
    "products": "/api/products",
    "services": "/api/services",
    "assets": "/api/assets",
    "subscriptions": "/api/subscriptions",
    "actuator": "/actuator",
}
"""Base path of each resource, from bss-api.md (no trailing slash)."""

RESOURCES = tuple(DEFAULT_PATHS)


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of the contract."""

    key: str
    """Stable id, ``<resource>.<operation>`` (target configs may use it or the display key)."""
    method: str
    resource: str
    path: str
    """Template relative to the resource base, ``""`` for the base itself."""
    expected: tuple[int, ...]
    """Statuses that mean success, per the contract's intent."""
    request: type[m._Body] | None = None
    response: Any = None
    tracks: str | None = None
    """Entity kind this endpoint creates (POST) or deletes (DELETE), for the cleanup registry."""
    check: Any = field(default=None, compare=False)
    """Optional ``check(parsed) -> str | None``: a semantic check beyond the model (message on failure)."""

    def template(self, paths: dict[str, str] | None = None) -> str:
        return (paths or DEFAULT_PATHS)[self.resource] + self.path

    def name(self, paths: dict[str, str] | None = None) -> str:
        """The display / threshold key: ``"GET /api/v1/customers/{id}"``."""
        return f"{self.method} {self.template(paths)}"


def _health_is_up(health: m.Health) -> str | None:
    return None if health.status == "UP" else f"status: expected UP, got {health.status}"


E = Endpoint
P = m.Page
_TABLE: tuple[Endpoint, ...] = (
    # customers
    E("customers.create", "POST", "customers", "", (201,), m.CreateCustomer, m.Customer, tracks="customers"),
    E("customers.get", "GET", "customers", "/{id}", (200,), None, m.Customer),
    E("customers.list", "GET", "customers", "", (200,), None, P[m.Customer]),
    E("customers.by_status", "GET", "customers", "/by-status/{status}", (200,), None, P[m.Customer]),
    E("customers.search", "GET", "customers", "/search", (200,), None, P[m.Customer]),
    E("customers.update", "PUT", "customers", "/{id}", (200,), m.UpdateCustomer, m.Customer),
    E("customers.change_status", "PUT", "customers", "/{id}/status", (200,), m.ChangeCustomerStatus, m.Customer),
    E("customers.delete", "DELETE", "customers", "/{id}", (204,), tracks="customers"),
    # orders
    E("orders.create", "POST", "orders", "", (201,), m.CreateOrder, m.Order, tracks="orders"),
    E("orders.get", "GET", "orders", "/{id}", (200,), None, m.Order),
    E("orders.list", "GET", "orders", "", (200,), None, P[m.Order]),
    E("orders.by_status", "GET", "orders", "/by-status/{status}", (200,), None, P[m.Order]),
    E("orders.by_customer", "GET", "orders", "/by-customer/{customerId}", (200,), None, P[m.Order]),
    E("orders.search", "GET", "orders", "/search", (200,), None, P[m.Order]),
    E("orders.change_status", "PUT", "orders", "/{id}/status", (200,), m.ChangeOrderStatus, None),
    E("orders.delete", "DELETE", "orders", "/{id}", (204,), tracks="orders"),
    # invoices
    E("invoices.create", "POST", "invoices", "", (200,), m.CreateInvoice, m.Invoice, tracks="invoices"),
    E("invoices.get", "GET", "invoices", "/{id}", (200,), None, m.Invoice),
    E("invoices.list", "GET", "invoices", "", (200,), None, P[m.Invoice]),
    E("invoices.by_status", "GET", "invoices", "/by-status/{status}", (200,), None, P[m.Invoice]),
    E("invoices.by_type", "GET", "invoices", "/by-type/{type}", (200,), None, P[m.Invoice]),
    E("invoices.by_customer", "GET", "invoices", "/by-customer/{customerId}", (200,), None, P[m.Invoice]),
    E("invoices.by_number", "GET", "invoices", "/by-invoice-number/{invoiceNumber}", (200,), None, m.Invoice),
    E("invoices.issued_between", "GET", "invoices", "/issued-between", (200,), None, P[m.Invoice]),
    E("invoices.due_between", "GET", "invoices", "/due-between", (200,), None, P[m.Invoice]),
    E("invoices.unpaid", "GET", "invoices", "/unpaid", (200,), None, P[m.Invoice]),
    E("invoices.overdue", "GET", "invoices", "/overdue", (200,), None, P[m.Invoice]),
    E("invoices.search", "GET", "invoices", "/search", (200,), None, P[m.Invoice]),
    E("invoices.update", "PUT", "invoices", "/{id}", (200,), m.UpdateInvoice, m.Invoice),
    E("invoices.change_status", "PUT", "invoices", "/{id}/status", (200,), m.ChangeInvoiceStatus, None),
    # payments
    E("payments.create", "POST", "payments", "", (201,), m.CreatePayment, m.Payment, tracks="payments"),
    E("payments.get", "GET", "payments", "/{id}", (200,), None, m.Payment),
    E("payments.list", "GET", "payments", "", (200,), None, P[m.Payment]),
    E("payments.by_customer", "GET", "payments", "/by-customer/{customerId}", (200,), None, P[m.Payment]),
    E("payments.by_status", "GET", "payments", "/by-status/{status}", (200,), None, P[m.Payment]),
    E("payments.search", "GET", "payments", "/search", (200,), None, P[m.Payment]),
    E("payments.change_status", "PUT", "payments", "/{id}/status", (200,), m.ChangePaymentStatus, m.Payment),
    E("payments.delete", "DELETE", "payments", "/{id}", (204,), tracks="payments"),
    # products
    E("products.create", "POST", "products", "", (201,), m.CreateProduct, m.Product, tracks="products"),
    E("products.get", "GET", "products", "/{id}", (200,), None, m.Product),
    E("products.list", "GET", "products", "", (200,), None, P[m.Product]),
    E("products.by_status", "GET", "products", "/by-status/{status}", (200,), None, P[m.Product]),
    E("products.active", "GET", "products", "/active", (200,), None, P[m.Product]),
    E("products.search", "GET", "products", "/search", (200,), None, P[m.Product]),
    E("products.update", "PUT", "products", "/{id}", (200,), m.UpdateProduct, m.Product),
    E("products.change_status", "PUT", "products", "/{id}/status", (200,), m.ChangeProductStatus, m.Product),
    E("products.delete", "DELETE", "products", "/{id}", (204,), tracks="products"),
    # services (catalogue reads, activations)
    E("services.list", "GET", "services", "", (200,), None, list[m.ServiceEntity]),
    E("services.by_category", "GET", "services", "/by-category/{category}", (200,), None, list[m.ServiceEntity]),
    E("services.by_type", "GET", "services", "/by-type/{type}", (200,), None, list[m.ServiceEntity]),
    E("services.activations", "GET", "services", "/activations", (200,), None, list[m.ServiceActivation]),
    E("services.activation_get", "GET", "services", "/activations/{activationId}", (200,), None, m.ServiceActivation),
    E("services.activate", "POST", "services", "/activations", (200,), m.ActivateService, m.ServiceActivation,
      tracks="activations"),
    E("services.deactivate", "POST", "services", "/activations/{activationId}/deactivate", (200,),
      m.DeactivateService, m.ServiceActivation),
    E("services.check_eligibility", "POST", "services", "/check-eligibility", (200,), None, m.Eligibility),
    # assets, network elements, SIM cards
    E("assets.create", "POST", "assets", "", (200,), m.CreateAsset, m.Asset, tracks="assets"),
    E("assets.list", "GET", "assets", "", (200,), None, list[m.Asset]),
    E("assets.available", "GET", "assets", "/available", (200,), None, list[m.Asset]),
    E("assets.by_customer", "GET", "assets", "/by-customer/{customerId}", (200,), None, list[m.Asset]),
    E("assets.warranty_expiring", "GET", "assets", "/warranty-expiring", (200,), None, list[m.Asset]),
    E("assets.assign", "POST", "assets", "/{assetId}/assign", (200,), m.AssignAsset, m.Asset),
    E("assets.release", "POST", "assets", "/{assetId}/release", (200,), None, m.Asset),
    E("assets.element_create", "POST", "assets", "/elements", (200,), m.CreateNetworkElement, m.NetworkElement,
      tracks="network_elements"),
    E("assets.element_heartbeat", "POST", "assets", "/elements/{elementId}/heartbeat", (200,)),
    E("assets.elements", "GET", "assets", "/elements", (200,), None, list[m.NetworkElement]),
    E("assets.elements_online", "GET", "assets", "/elements/online", (200,), None, list[m.NetworkElement]),
    E("assets.elements_maintenance", "GET", "assets", "/elements/maintenance", (200,), None, list[m.NetworkElement]),
    E("assets.sim_create", "POST", "assets", "/sim-cards", (200,), m.CreateSimCard, m.SimCard, tracks="sim_cards"),
    E("assets.sim_assign", "POST", "assets", "/sim-cards/{simId}/assign", (200,), None, m.SimCard),
    E("assets.sims", "GET", "assets", "/sim-cards", (200,), None, list[m.SimCard]),
    E("assets.sims_available", "GET", "assets", "/sim-cards/available", (200,), None, list[m.SimCard]),
    E("assets.sims_by_customer", "GET", "assets", "/sim-cards/by-customer/{customerId}", (200,), None,
      list[m.SimCard]),
    E("assets.sims_expired", "GET", "assets", "/sim-cards/expired", (200,), None, list[m.SimCard]),
    E("assets.sims_expiring", "GET", "assets", "/sim-cards/expiring", (200,), None, list[m.SimCard]),
    # subscriptions
    E("subscriptions.create", "POST", "subscriptions", "", (201,), m.CreateSubscription, m.Subscription,
      tracks="subscriptions"),
    E("subscriptions.get", "GET", "subscriptions", "/{id}", (200,), None, m.Subscription),
    E("subscriptions.list", "GET", "subscriptions", "", (200,), None, P[m.Subscription]),
    E("subscriptions.by_customer", "GET", "subscriptions", "/by-customer/{customerId}", (200,), None,
      P[m.Subscription]),
    E("subscriptions.by_status", "GET", "subscriptions", "/by-status/{status}", (200,), None, P[m.Subscription]),
    E("subscriptions.search", "GET", "subscriptions", "/search", (200,), None, P[m.Subscription]),
    E("subscriptions.update", "PUT", "subscriptions", "/{id}", (200,), m.UpdateSubscription, m.Subscription),
    E("subscriptions.change_status", "PUT", "subscriptions", "/{id}/status", (200,), m.ChangeSubscriptionStatus,
      m.Subscription),
    E("subscriptions.renew", "PUT", "subscriptions", "/{id}/renew", (200,), None, m.Subscription),
    E("subscriptions.delete", "DELETE", "subscriptions", "/{id}", (204,), tracks="subscriptions"),
    # health
    E("actuator.health", "GET", "actuator", "/health", (200,), None, m.Health, check=_health_is_up),
)
del E, P

ENDPOINTS: dict[str, Endpoint] = {endpoint.key: endpoint for endpoint in _TABLE}
"""The table, by key."""


def endpoint_names(paths: dict[str, str] | None = None) -> list[str]:
    """Every ``"METHOD /template"`` key (with the default contract paths unless ``paths`` is given)."""
    return [endpoint.name(paths) for endpoint in _TABLE]


def resolve_key(key: str, paths: dict[str, str] | None = None) -> str | None:
    """The endpoint key for ``key`` given as a key or as a ``"METHOD /template"`` name, else ``None``."""
    if key in ENDPOINTS:
        return key
    for endpoint in _TABLE:
        if endpoint.name(paths) == key or endpoint.name() == key:
            return endpoint.key
    return None
