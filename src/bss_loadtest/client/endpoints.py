"""Every BSS endpoint the suite calls, as data.

One row per endpoint: ``Endpoint(key, method, resource, path, expected, request, response)``.
``path`` is relative to the resource's base path (``/api/v1/customers``; configurable per target),
``expected`` the success status(es) of the contract, ``request`` the pydantic model of the body
(or ``None``), ``response`` the model of the answer: a model, ``Page[Model]``, ``list[Model]`` or
``None`` (no body to check). Keywords say what else the suite needs to know: what a create or
delete ``tracks`` for the cleanup (and who owns it), the business ``counter`` the target keeps of
it (reconciliation), and how the smoke pass calls it (:class:`Smoke`).

Adding an endpoint is adding a row; the client, the smoke pass, the cleanup, the reconciliation
and the threshold-scope check pick it up.

The request name Locust reports is ``method`` + the full path template
(``GET /api/v1/customers/{id}``), so statistics never split per entity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
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
class Ref:
    """A value the smoke pass takes from what it made before: ``Ref("customer")`` is the id of the
    customer it created, ``Ref("invoice", "invoice_number")`` an attribute. ``data`` is the run's
    :class:`~bss_loadtest.client.data.DataFactory`."""

    entity: str
    attr: str = "id"


@dataclass(frozen=True, eq=False)
class Smoke:
    """How the smoke pass calls an endpoint; the default (no arguments) suits a plain read.

    The pass calls every endpoint once, in an order :mod:`bss_loadtest.client.plan` derives from
    these fields: an endpoint runs after the ones that made what it refers to, deletes run last.
    Values in ``path`` and ``params`` are constants, :class:`Ref` or ``callable(entities)``; paged
    reads get ``page=0&size=5`` added.
    """

    path: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    body: Callable[[Any], Any] | None = None
    """``body(entities) -> request model``; ``entities.data`` is the run's DataFactory."""
    needs: tuple[str, ...] = ()
    """Entities ``body`` uses (those named by a :class:`Ref` count without being listed)."""
    uses: tuple[str, ...] = ()
    """Entities used when there are some: the endpoint runs after what makes them, but also without."""
    saves: str | None = None
    """The answer is kept under this name (the first endpoint that saves a name makes it)."""
    pick: Callable[[Any], Any] | None = None
    """``pick(answer)`` is what is kept instead of the answer (``None``: nothing to keep)."""
    after: tuple[str, ...] = ()
    """Endpoint keys that must have succeeded first."""
    teardown: bool | None = None
    """Runs with the deletes, after everything else (``None``: when the method is DELETE)."""


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
    owner_field: str | None = None
    """On a create: the field of the created entity naming the customer whose delete removes it too."""
    version_param: str | None = None
    """On a delete: the query parameter that carries the entity's current version."""
    counter: str | None = None
    """The target's business counter of this endpoint's successful requests (reconciliation)."""
    smoke: Smoke = field(default_factory=Smoke, compare=False)

    def template(self, paths: dict[str, str] | None = None) -> str:
        return (paths or DEFAULT_PATHS)[self.resource] + self.path

    def name(self, paths: dict[str, str] | None = None) -> str:
        """The display / threshold key: ``"GET /api/v1/customers/{id}"``."""
        return f"{self.method} {self.template(paths)}"

    @property
    def paged(self) -> bool:
        """The answer is a ``Page[...]`` (its list takes ``page``, ``size`` and ``sort``)."""
        return getattr(self.response, "__pydantic_generic_metadata__", {}).get("origin") is m.Page


def _health_is_up(health: m.Health) -> str | None:
    return None if health.status == "UP" else f"status: expected UP, got {health.status}"


def _activatable(services: list[m.ServiceEntity]) -> m.ServiceEntity | None:
    """A service a customer can take without another one first (auto-provisioned if any)."""
    candidates = [s for s in services if s.status == "ACTIVE" and not s.depends_on_service_codes]
    auto = [s for s in candidates if s.auto_provision] or candidates
    return auto[0] if auto else None


def _day(offset: int) -> Callable[[Any], str]:
    return lambda _: (date.today() + timedelta(days=offset)).isoformat()


E = Endpoint
P = m.Page
S = Smoke
WINDOW = {"startDate": _day(-7), "endDate": _day(30)}
CUSTOMER, ORDER, INVOICE, PAYMENT = Ref("customer"), Ref("order"), Ref("invoice"), Ref("payment")
PRODUCT, SUBSCRIPTION, ACTIVATION, TAG = Ref("product"), Ref("subscription"), Ref("activation"), Ref("data", "tag")
_TABLE: tuple[Endpoint, ...] = (
    # customers
    E("customers.create", "POST", "customers", "", (201,), m.CreateCustomer, m.Customer, tracks="customers",
      counter="bss_customers_created_total", smoke=S(body=lambda e: e.data.customer(), saves="customer")),
    E("customers.get", "GET", "customers", "/{id}", (200,), None, m.Customer, smoke=S(path={"id": CUSTOMER})),
    E("customers.list", "GET", "customers", "", (200,), None, P[m.Customer], smoke=S(params={"status": "ACTIVE"})),
    E("customers.by_status", "GET", "customers", "/by-status/{status}", (200,), None, P[m.Customer],
      smoke=S(path={"status": "ACTIVE"})),
    E("customers.search", "GET", "customers", "/search", (200,), None, P[m.Customer],
      smoke=S(params={"searchTerm": Ref("customer", "last_name")})),
    E("customers.update", "PUT", "customers", "/{id}", (200,), m.UpdateCustomer, m.Customer,
      counter="bss_customers_updated_total",
      smoke=S(path={"id": CUSTOMER}, body=lambda e: e.data.customer_update(e.customer), saves="customer")),
    E("customers.change_status", "PUT", "customers", "/{id}/status", (200,), m.ChangeCustomerStatus, m.Customer,
      counter="bss_customers_status_changed_total",
      smoke=S(path={"id": CUSTOMER}, teardown=True,  # INACTIVE, so it can be deleted
              body=lambda e: m.ChangeCustomerStatus(customer_id=e.customer.id, status="INACTIVE"))),
    E("customers.delete", "DELETE", "customers", "/{id}", (204,), tracks="customers",
      smoke=S(path={"id": CUSTOMER}, after=("customers.change_status",))),
    # orders
    E("orders.create", "POST", "orders", "", (201,), m.CreateOrder, m.Order, tracks="orders",
      owner_field="customer_id",
      smoke=S(body=lambda e: e.data.order(e.customer.id), needs=("customer",), saves="order")),
    E("orders.get", "GET", "orders", "/{id}", (200,), None, m.Order, smoke=S(path={"id": ORDER})),
    E("orders.list", "GET", "orders", "", (200,), None, P[m.Order]),
    E("orders.by_status", "GET", "orders", "/by-status/{status}", (200,), None, P[m.Order],
      smoke=S(path={"status": "PENDING"})),
    E("orders.by_customer", "GET", "orders", "/by-customer/{customerId}", (200,), None, P[m.Order],
      smoke=S(path={"customerId": CUSTOMER})),
    E("orders.search", "GET", "orders", "/search", (200,), None, P[m.Order], smoke=S(params={"searchTerm": TAG})),
    E("orders.change_status", "PUT", "orders", "/{id}/status", (200,), m.ChangeOrderStatus, None,
      smoke=S(path={"id": ORDER},
              body=lambda e: m.ChangeOrderStatus(id=e.order.id, status="PENDING", version=e.order.version))),
    E("orders.delete", "DELETE", "orders", "/{id}", (204,), tracks="orders", smoke=S(path={"id": ORDER})),
    # invoices
    E("invoices.create", "POST", "invoices", "", (200,), m.CreateInvoice, m.Invoice, tracks="invoices",
      owner_field="customer_id",
      smoke=S(body=lambda e: e.data.invoice(e.customer.id), needs=("customer",), saves="invoice")),
    E("invoices.get", "GET", "invoices", "/{id}", (200,), None, m.Invoice, smoke=S(path={"id": INVOICE})),
    E("invoices.list", "GET", "invoices", "", (200,), None, P[m.Invoice]),
    E("invoices.by_status", "GET", "invoices", "/by-status/{status}", (200,), None, P[m.Invoice],
      smoke=S(path={"status": "ISSUED"})),
    E("invoices.by_type", "GET", "invoices", "/by-type/{type}", (200,), None, P[m.Invoice],
      smoke=S(path={"type": "ONE_TIME"})),
    E("invoices.by_customer", "GET", "invoices", "/by-customer/{customerId}", (200,), None, P[m.Invoice],
      smoke=S(path={"customerId": CUSTOMER})),
    E("invoices.by_number", "GET", "invoices", "/by-invoice-number/{invoiceNumber}", (200,), None, m.Invoice,
      smoke=S(path={"invoiceNumber": Ref("invoice", "invoice_number")})),
    E("invoices.issued_between", "GET", "invoices", "/issued-between", (200,), None, P[m.Invoice],
      smoke=S(params=WINDOW)),
    E("invoices.due_between", "GET", "invoices", "/due-between", (200,), None, P[m.Invoice], smoke=S(params=WINDOW)),
    E("invoices.unpaid", "GET", "invoices", "/unpaid", (200,), None, P[m.Invoice]),
    E("invoices.overdue", "GET", "invoices", "/overdue", (200,), None, P[m.Invoice]),
    E("invoices.search", "GET", "invoices", "/search", (200,), None, P[m.Invoice], smoke=S(params={"query": TAG})),
    E("invoices.update", "PUT", "invoices", "/{id}", (200,), m.UpdateInvoice, m.Invoice,
      smoke=S(path={"id": INVOICE}, body=lambda e: e.data.invoice_update(e.invoice), saves="invoice")),
    E("invoices.change_status", "PUT", "invoices", "/{id}/status", (200,), m.ChangeInvoiceStatus, None,
      smoke=S(path={"id": INVOICE},
              body=lambda e: m.ChangeInvoiceStatus(id=e.invoice.id, status="ISSUED", version=e.invoice.version))),
    # payments
    E("payments.create", "POST", "payments", "", (201,), m.CreatePayment, m.Payment, tracks="payments",
      owner_field="customer_id",
      smoke=S(body=lambda e: e.data.payment(e.customer.id, e.invoice.id if e.invoice else None),
              needs=("customer",), uses=("invoice",), saves="payment")),
    E("payments.get", "GET", "payments", "/{id}", (200,), None, m.Payment, smoke=S(path={"id": PAYMENT})),
    E("payments.list", "GET", "payments", "", (200,), None, P[m.Payment]),
    E("payments.by_customer", "GET", "payments", "/by-customer/{customerId}", (200,), None, P[m.Payment],
      smoke=S(path={"customerId": CUSTOMER})),
    E("payments.by_status", "GET", "payments", "/by-status/{status}", (200,), None, P[m.Payment],
      smoke=S(path={"status": "PROCESSING"})),
    E("payments.search", "GET", "payments", "/search", (200,), None, P[m.Payment],
      smoke=S(params={"searchTerm": Ref("payment", "payment_number")})),
    E("payments.change_status", "PUT", "payments", "/{id}/status", (200,), m.ChangePaymentStatus, m.Payment,
      smoke=S(path={"id": PAYMENT}, body=lambda e: m.ChangePaymentStatus(id=e.payment.id, status="PROCESSING"))),
    E("payments.delete", "DELETE", "payments", "/{id}", (204,), tracks="payments", smoke=S(path={"id": PAYMENT})),
    # products
    E("products.create", "POST", "products", "", (201,), m.CreateProduct, m.Product, tracks="products",
      smoke=S(body=lambda e: e.data.product(), saves="product")),
    E("products.get", "GET", "products", "/{id}", (200,), None, m.Product, smoke=S(path={"id": PRODUCT})),
    E("products.list", "GET", "products", "", (200,), None, P[m.Product]),
    E("products.by_status", "GET", "products", "/by-status/{status}", (200,), None, P[m.Product],
      smoke=S(path={"status": "ACTIVE"})),
    E("products.active", "GET", "products", "/active", (200,), None, P[m.Product]),
    E("products.search", "GET", "products", "/search", (200,), None, P[m.Product],
      smoke=S(params={"searchTerm": "Plan"})),
    E("products.update", "PUT", "products", "/{id}", (200,), m.UpdateProduct, m.Product,
      smoke=S(path={"id": PRODUCT}, body=lambda e: e.data.product_update(e.product), saves="product")),
    E("products.change_status", "PUT", "products", "/{id}/status", (200,), m.ChangeProductStatus, m.Product,
      smoke=S(path={"id": PRODUCT}, saves="product",
              body=lambda e: m.ChangeProductStatus(id=e.product.id, status="ACTIVE", version=e.product.version))),
    E("products.delete", "DELETE", "products", "/{id}", (204,), tracks="products", version_param="version",
      smoke=S(path={"id": PRODUCT}, params={"version": Ref("product", "version")})),
    # services (catalogue reads, activations)
    E("services.list", "GET", "services", "", (200,), None, list[m.ServiceEntity],
      smoke=S(saves="service", pick=_activatable)),
    E("services.by_category", "GET", "services", "/by-category/{category}", (200,), None, list[m.ServiceEntity],
      smoke=S(path={"category": "BROADBAND"})),
    E("services.by_type", "GET", "services", "/by-type/{type}", (200,), None, list[m.ServiceEntity],
      smoke=S(path={"type": "INTERNET"})),
    E("services.activations", "GET", "services", "/activations", (200,), None, list[m.ServiceActivation],
      smoke=S(params={"customerId": CUSTOMER}, uses=("activation",))),
    E("services.activation_get", "GET", "services", "/activations/{activationId}", (200,), None, m.ServiceActivation,
      smoke=S(path={"activationId": ACTIVATION})),
    E("services.check_eligibility", "POST", "services", "/check-eligibility", (200,), None, m.Eligibility,
      smoke=S(params={"customerId": CUSTOMER, "serviceCode": Ref("service", "service_code")})),
    E("services.activate", "POST", "services", "/activations", (200,), m.ActivateService, m.ServiceActivation,
      tracks="activations", owner_field="customer_id",
      smoke=S(body=lambda e: e.data.activation(e.customer.id, e.service.service_code),
              needs=("customer", "service"), saves="activation")),
    E("services.deactivate", "POST", "services", "/activations/{activationId}/deactivate", (200,),
      m.DeactivateService, m.ServiceActivation,
      smoke=S(path={"activationId": ACTIVATION},
              body=lambda e: m.DeactivateService(activation_id=e.activation.id, deactivation_notes="smoke"))),
    # assets, network elements, SIM cards
    E("assets.create", "POST", "assets", "", (200,), m.CreateAsset, m.Asset, tracks="assets",
      smoke=S(body=lambda e: e.data.asset(), saves="asset")),
    E("assets.list", "GET", "assets", "", (200,), None, list[m.Asset]),
    E("assets.available", "GET", "assets", "/available", (200,), None, list[m.Asset]),
    E("assets.by_customer", "GET", "assets", "/by-customer/{customerId}", (200,), None, list[m.Asset],
      smoke=S(path={"customerId": CUSTOMER}, uses=("asset",))),
    E("assets.warranty_expiring", "GET", "assets", "/warranty-expiring", (200,), None, list[m.Asset],
      smoke=S(params={"days": 30})),
    E("assets.assign", "POST", "assets", "/{assetId}/assign", (200,), m.AssignAsset, m.Asset,
      smoke=S(path={"assetId": Ref("asset")}, body=lambda e: e.data.assignment(e.customer.id), needs=("customer",))),
    E("assets.release", "POST", "assets", "/{assetId}/release", (200,), None, m.Asset,
      smoke=S(path={"assetId": Ref("asset")}, after=("assets.assign",))),
    E("assets.element_create", "POST", "assets", "/elements", (200,), m.CreateNetworkElement, m.NetworkElement,
      tracks="network_elements", smoke=S(body=lambda e: e.data.network_element(), saves="element")),
    E("assets.element_heartbeat", "POST", "assets", "/elements/{elementId}/heartbeat", (200,),
      smoke=S(path={"elementId": Ref("element", "element_id")})),
    E("assets.elements", "GET", "assets", "/elements", (200,), None, list[m.NetworkElement]),
    E("assets.elements_online", "GET", "assets", "/elements/online", (200,), None, list[m.NetworkElement]),
    E("assets.elements_maintenance", "GET", "assets", "/elements/maintenance", (200,), None, list[m.NetworkElement]),
    E("assets.sim_create", "POST", "assets", "/sim-cards", (200,), m.CreateSimCard, m.SimCard, tracks="sim_cards",
      smoke=S(body=lambda e: e.data.sim_card(), saves="sim")),
    E("assets.sim_assign", "POST", "assets", "/sim-cards/{simId}/assign", (200,), None, m.SimCard,
      smoke=S(path={"simId": Ref("sim")},
              params={"assignedToType": "CUSTOMER", "assignedToId": CUSTOMER, "assignedToName": TAG})),
    E("assets.sims", "GET", "assets", "/sim-cards", (200,), None, list[m.SimCard]),
    E("assets.sims_available", "GET", "assets", "/sim-cards/available", (200,), None, list[m.SimCard]),
    E("assets.sims_by_customer", "GET", "assets", "/sim-cards/by-customer/{customerId}", (200,), None,
      list[m.SimCard], smoke=S(path={"customerId": CUSTOMER}, uses=("sim",))),
    E("assets.sims_expired", "GET", "assets", "/sim-cards/expired", (200,), None, list[m.SimCard]),
    E("assets.sims_expiring", "GET", "assets", "/sim-cards/expiring", (200,), None, list[m.SimCard],
      smoke=S(params={"days": 30})),
    # subscriptions
    E("subscriptions.create", "POST", "subscriptions", "", (201,), m.CreateSubscription, m.Subscription,
      tracks="subscriptions", owner_field="customer_id",
      smoke=S(body=lambda e: e.data.subscription(e.customer.id, e.product.id, e.order.id if e.order else None),
              needs=("customer", "product"), uses=("order",), saves="subscription")),
    E("subscriptions.get", "GET", "subscriptions", "/{id}", (200,), None, m.Subscription,
      smoke=S(path={"id": SUBSCRIPTION})),
    E("subscriptions.list", "GET", "subscriptions", "", (200,), None, P[m.Subscription]),
    E("subscriptions.by_customer", "GET", "subscriptions", "/by-customer/{customerId}", (200,), None,
      P[m.Subscription], smoke=S(path={"customerId": CUSTOMER})),
    E("subscriptions.by_status", "GET", "subscriptions", "/by-status/{status}", (200,), None, P[m.Subscription],
      smoke=S(path={"status": "SUSPENDED"})),
    E("subscriptions.search", "GET", "subscriptions", "/search", (200,), None, P[m.Subscription],
      smoke=S(params={"searchTerm": Ref("subscription", "subscription_number")})),
    E("subscriptions.update", "PUT", "subscriptions", "/{id}", (200,), m.UpdateSubscription, m.Subscription,
      smoke=S(path={"id": SUBSCRIPTION}, body=lambda e: m.UpdateSubscription(id=e.subscription.id, price=19.99))),
    E("subscriptions.change_status", "PUT", "subscriptions", "/{id}/status", (200,), m.ChangeSubscriptionStatus,
      m.Subscription,
      smoke=S(path={"id": SUBSCRIPTION}, body=lambda e: m.ChangeSubscriptionStatus(
          id=e.subscription.id, status="SUSPENDED", reason="smoke"))),
    E("subscriptions.renew", "PUT", "subscriptions", "/{id}/renew", (200,), None, m.Subscription,
      smoke=S(path={"id": SUBSCRIPTION})),
    E("subscriptions.delete", "DELETE", "subscriptions", "/{id}", (204,), tracks="subscriptions",
      smoke=S(path={"id": SUBSCRIPTION})),
    # health
    E("actuator.health", "GET", "actuator", "/health", (200,), None, m.Health, check=_health_is_up),
)
del E, P, S, WINDOW, CUSTOMER, ORDER, INVOICE, PAYMENT, PRODUCT, SUBSCRIPTION, ACTIVATION, TAG

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
