"""``BssClient`` (one per user: calls endpoints by key, validates, reports) and the base user.

A call is ``user.api.call("customers.get", path={"id": cid})``. It sends the request through the
user's FastHttp session with ``catch_response=True`` and names it by template
(``request_type`` = method, ``name`` = ``/api/v1/customers/{id}``), marks it failed with a
:mod:`bss_loadtest.core.failures` exception when the status is not an expected one or the body does
not match its model, and returns the parsed body (``True`` for an endpoint without a body model)
or ``None`` when the request failed or the target config skips it.
"""

from __future__ import annotations

import logging
import random
import time
from itertools import count
from typing import Any
from urllib.parse import urlencode, urlsplit

from locust import FastHttpUser, events
from pydantic import ValidationError

from bss_loadtest.client import lifecycle
from bss_loadtest.client import models as m
from bss_loadtest.client.auth import TOKEN_CACHE, Identity, as_failure, identities
from bss_loadtest.client.cleanup import OWNED_BY_CUSTOMER, REGISTRY
from bss_loadtest.client.config import TargetConfig, load_target_config
from bss_loadtest.client.data import DataFactory, IdPool
from bss_loadtest.client.endpoints import ENDPOINTS, Endpoint
from bss_loadtest.client.options import ClientSettings, client_settings
from bss_loadtest.client.validation import validation_message, validator_for
from bss_loadtest.core.failures import (
    FAILURE_BY_CLASS,
    UnexpectedStatus,
    ValidationFailure,
    classify_status,
    failure_class_of,
)
from bss_loadtest.run import runtime

lifecycle.register(events)

class Route:
    """An endpoint resolved for one target: full name, accepted statuses, validator."""

    __slots__ = ("key", "method", "name", "expected", "expected_text", "validate", "check", "tracks",
                 "skipped", "sort", "has_body", "endpoint")

    def __init__(self, endpoint: Endpoint, config: TargetConfig) -> None:
        paths = config.resource_paths()
        self.endpoint = endpoint
        self.key = endpoint.key
        self.method = endpoint.method
        self.name = endpoint.template(paths)
        self.expected = frozenset(config.expected_for(endpoint.key))
        self.expected_text = "/".join(str(s) for s in sorted(self.expected))
        self.validate = validator_for(endpoint.response)
        self.check = endpoint.check
        self.tracks = endpoint.tracks
        self.skipped = endpoint.key in config.skipped()
        is_page = getattr(endpoint.response, "__pydantic_generic_metadata__", {}).get("origin") is m.Page
        self.sort = config.sort_for(endpoint.resource) if is_page else None
        self.has_body = endpoint.request is not None


_routes_cache: dict[str, tuple[TargetConfig, dict[str, Route]]] = {}


def routes_for(config_file: str | None) -> tuple[TargetConfig, dict[str, Route]]:
    """The routes of a target config file (loaded once per process)."""
    key = config_file or ""
    cached = _routes_cache.get(key)
    if cached is None:
        config = load_target_config(config_file or None)
        cached = (config, {k: Route(e, config) for k, e in ENDPOINTS.items()})
        _routes_cache[key] = cached
    return cached


_user_counter = count()
_logged_run_id: str | None = None
logger = logging.getLogger(__name__)


def settings_of(environment: Any) -> ClientSettings:
    return client_settings(environment)


def identity_pool(environment: Any, host: str) -> list[Identity]:
    """The identities of this run (empty with ``--no-auth``)."""
    settings = settings_of(environment)
    if settings.no_auth:
        return []
    return identities(
        host,
        token_url=settings.token_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        client_pool=settings.client_pool,
    )


class BssClient:
    """Calls BSS endpoints by key for one user."""

    def __init__(self, user: Any, identity: Identity | None, config_file: str | None = None) -> None:
        self.user = user
        self.session = user.client
        self.config, self.routes = routes_for(config_file)
        self.identity = identity
        self._refresh_at = -1.0
        # The bearer token rides on the session's own ``auth_header`` (FastHttp adds it to every
        # request), so a GET passes no header dict at all; bodies add only their content type.
        self._json_headers: dict[str, str] = {"Content-Type": "application/json"}
        if identity is not None:
            self._token_name = urlsplit(identity.token_url).path or identity.token_url

    # --- auth -----------------------------------------------------------------------------------
    def _report_token(self, duration_s: float, error: BaseException | None) -> None:
        self.user.environment.events.request.fire(
            request_type="AUTH",
            name=self._token_name,
            response_time=duration_s * 1000.0,
            response_length=0,
            response=None,
            context=self.user.context(),
            exception=as_failure(error) if error is not None else None,
            url=self._token_name,
        )

    def _ensure_token(self) -> bool:
        """Refresh the Authorization headers if the token is due; False when no token could be had."""
        identity = self.identity
        try:
            access_token = TOKEN_CACHE.get(identity, on_fetch=self._report_token)
        except Exception:  # noqa: BLE001 - already reported as an AUTH failure
            return False
        token = TOKEN_CACHE.cached(identity)
        self._refresh_at = token.refresh_at if token is not None else 0.0
        self.session.auth_header = "Bearer " + access_token
        return True

    # --- calls ----------------------------------------------------------------------------------
    def call(
        self,
        key: str,
        path: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        body: m._Body | None = None,
    ) -> Any:
        """Send endpoint ``key``; return the parsed body, ``True`` (no body model) or ``None`` (failed/skipped)."""
        route = self.routes[key]
        if route.skipped:
            return None
        if self.identity is not None and time.monotonic() >= self._refresh_at:
            if not self._ensure_token():
                return None
        url = route.name.format_map(path) if path else route.name
        if route.sort is not None and (params is None or "sort" not in params):
            params = {**params, "sort": route.sort} if params else {"sort": route.sort}
        if params:
            url = url + "?" + urlencode(params)
        if body is not None:
            data = body.to_json()
            headers = self._json_headers
        else:
            data = headers = None
        with self.session.request(
            route.method, url, name=route.name, data=data, headers=headers, catch_response=True
        ) as response:
            status = response.status_code
            if status in route.expected:
                validate = route.validate
                if validate is None:
                    response.success()
                    result: Any = True
                else:
                    try:
                        result = validate(response.content or b"")
                    except ValidationError as error:
                        response.failure(ValidationFailure(validation_message(status, error)))
                        return None
                    if route.check is not None:
                        problem = route.check(result)
                        if problem:
                            response.failure(ValidationFailure(f"HTTP {status} {problem}"))
                            return None
                    response.success()
                if route.tracks is not None:
                    self._track(route, result, path)
                return result
            response.failure(self._status_failure(route, status, response))
            if status == 401 and self.identity is not None:
                TOKEN_CACHE.invalidate(self.identity)
                self._refresh_at = -1.0
            return None

    @staticmethod
    def _status_failure(route: Route, status: int, response: Any) -> Exception:
        if status == 0:
            error = getattr(response, "error", None)
            cls = failure_class_of(error) if error is not None else "connection"
            if cls in ("other", "unexpected_status"):
                cls = "connection"
            cause = getattr(error, "original", None) or error
            return FAILURE_BY_CLASS[cls](f"{cls}: {type(cause).__name__}" if cause is not None else cls)
        cls = classify_status(status) or "unexpected_status"
        if cls == "unexpected_status":
            return UnexpectedStatus(f"HTTP {status}, expected {route.expected_text}")
        return FAILURE_BY_CLASS[cls](f"HTTP {status}, expected {route.expected_text}")

    @staticmethod
    def _track(route: Route, result: Any, path: dict[str, Any] | None) -> None:
        if route.method == "POST":
            entity_id = getattr(result, "id", None)
            if entity_id:
                owner = getattr(result, "customer_id", None) if route.tracks in OWNED_BY_CUSTOMER else None
                REGISTRY.add(route.tracks, entity_id, owner, getattr(result, "version", None))
        elif route.method == "DELETE" and path:
            REGISTRY.discard(route.tracks, str(path.get("id")))


class BssUser(FastHttpUser):
    """Base of every BSS user: a :class:`BssClient` as ``self.api``, test data, id pools."""

    abstract = True
    network_timeout = 30.0
    connection_timeout = 10.0

    def __init__(self, environment: Any) -> None:
        settings = settings_of(environment)
        if "network_timeout" not in type(self).__dict__:  # a subclass's own value wins
            self.network_timeout = settings.request_timeout
        super().__init__(environment)
        self._context = {"user_class": type(self).__name__}
        pool = identity_pool(environment, self.host or "")
        index = next(_user_counter) + int(getattr(getattr(environment, "runner", None), "worker_index", 0) or 0)
        identity = pool[index % len(pool)] if pool else None
        self.api = BssClient(self, identity, settings.target_config or None)
        self.data = DataFactory(runtime.run_id(environment))
        global _logged_run_id
        if _logged_run_id != self.data.run_id:
            _logged_run_id = self.data.run_id
            logger.info("BSS client: run id %s", self.data.run_id)
        self.ids = IdPool()
        self.rng = random.Random()

    def context(self) -> dict:
        return self._context

    def wait_time(self) -> float:
        low, high = runtime.think_time(self.environment)
        return self.rng.uniform(low, high)

    # --- shared building blocks the locustfiles compose ---------------------------------------
    def create_customer(self) -> m.Customer | None:
        customer = self.api.call("customers.create", body=self.data.customer())
        if customer is not None:
            self.ids.add("customers", customer)
        return customer

    def customer(self) -> m.Customer | None:
        """A customer of this user (created when the pool is empty)."""
        return self.ids.pick("customers") or self.create_customer()

    def create_product(self) -> m.Product | None:
        product = self.api.call("products.create", body=self.data.product())
        if product is not None:
            self.ids.add("products", product)
        return product

    def product(self) -> m.Product | None:
        return self.ids.pick("products") or self.create_product()

    def catalogue_product(self) -> m.Product | None:
        """A product of the standing catalogue (not one a load test created, which may be deleted)."""
        catalogue = getattr(self, "_catalogue", None)
        if not catalogue:
            page = self.api.call("products.active", params={"page": 0, "size": 50})
            if page is None:
                return None
            catalogue = self._catalogue = [p for p in page.content if not p.product_code.startswith("LT-")]
            if not catalogue:
                return None
        return self.rng.choice(catalogue)

    def create_order(self, customer_id: str) -> m.Order | None:
        order = self.api.call("orders.create", body=self.data.order(customer_id))
        if order is not None:
            self.ids.add("orders", order)
        return order

    def advance_order(self, order: m.Order, status: str) -> m.Order | None:
        """Move an order one step (with its current version); returns the order as it is now."""
        done = self.api.call(
            "orders.change_status", path={"id": order.id},
            body=m.ChangeOrderStatus(id=order.id, status=status, version=order.version),
        )
        if done is None:
            return None
        updated = order.model_copy(update={"status": status, "version": order.version + 1})
        self.ids.replace("orders", order, updated)
        return updated

    def create_invoice(self, customer_id: str) -> m.Invoice | None:
        invoice = self.api.call("invoices.create", body=self.data.invoice(customer_id))
        if invoice is not None:
            self.ids.add("invoices", invoice)
        return invoice

    def advance_invoice(self, invoice: m.Invoice, status: str) -> m.Invoice | None:
        extra: dict[str, Any] = {}
        if status == "PAID":
            extra["paid_date"] = time.strftime("%Y-%m-%d")
        elif status == "SENT":
            extra["sent_to_email"] = f"billing-{self.data.run_id}@loadtest.example"
        done = self.api.call(
            "invoices.change_status", path={"id": invoice.id},
            body=m.ChangeInvoiceStatus(id=invoice.id, status=status, version=invoice.version, **extra),
        )
        if done is None:
            return None
        updated = invoice.model_copy(update={"status": status, "version": invoice.version + 1})
        self.ids.replace("invoices", invoice, updated)
        return updated

    def create_subscription(self, customer_id: str, product_id: str, order_id: str | None = None):
        subscription = self.api.call(
            "subscriptions.create", body=self.data.subscription(customer_id, product_id, order_id)
        )
        if subscription is not None:
            self.ids.add("subscriptions", subscription)
        return subscription

    def create_payment(self, customer_id: str, invoice_id: str | None = None, amount: float | None = None):
        payment = self.api.call("payments.create", body=self.data.payment(customer_id, invoice_id, amount))
        if payment is not None:
            self.ids.add("payments", payment)
        return payment

    def page_params(self, size: int = 20, **filters: Any) -> dict[str, Any]:
        """``page``/``size`` (mostly the first pages, as people browse) plus filters."""
        page = 0 if self.rng.random() < 0.7 else self.rng.randint(1, 3)
        return {"page": page, "size": size, **filters}
