"""``BssClient`` (one per user: calls endpoints by key, validates, reports) and the base user.

A call is ``user.api.call("customers.get", path={"id": cid})``. It sends the request through the
user's FastHttp session with ``catch_response=True`` and names it by template
(``request_type`` = method, ``name`` = ``/api/v1/customers/{id}``), marks it failed with a
:mod:`bss_loadtest.core.failures` exception when the status is not an expected one or the body does
not match its model, and returns the parsed body (``True`` for an endpoint without a body model)
or ``None`` when the request failed or the target config skips it. Every request carries the
tracing headers of :mod:`bss_loadtest.client.tracing`; its ``context`` gets the trace id of a
sampled request (``trace_id``) and the HTTP status (``status``, ``None`` without an answer).

What the users of one run share (tokens, the test-data registry, the routes) is the
:class:`~bss_loadtest.client.state.ClientState` on their ``Environment``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import gevent
from locust import FastHttpUser, events
from locust.exception import StopUser
from locust.user.users import LOCUST_STATE_RUNNING, LOCUST_STATE_STOPPING, LOCUST_STATE_WAITING
from pydantic import ValidationError

from bss_loadtest.client import lifecycle
from bss_loadtest.client import models as m
from bss_loadtest.client.auth import Identity, as_failure, assign
from bss_loadtest.client.data import DataFactory, IdPool, process_salt
from bss_loadtest.client.http import (
    connection_setup,
    read_delay,
    start_request_timing,
    use_suite_clients,
    wire_time,
)
from bss_loadtest.client.options import client_settings, identity_pool
from bss_loadtest.client.routes import Route, Target
from bss_loadtest.client.state import ClientState, client_state, target_of
from bss_loadtest.client.tracing import RequestTracing
from bss_loadtest.client.validation import validation_message
from bss_loadtest.core.failures import ValidationFailure, failure_for_status
from bss_loadtest.core.stats import AUTH_REQUEST_TYPE, CONNECT_REQUEST_TYPE
from bss_loadtest.run import runtime

__all__ = ["BssClient", "BssUser", "identity_pool"]

lifecycle.register(events)
logger = logging.getLogger(__name__)

_QUERY_CACHE_SIZE = 512
"""Encoded ``key=value`` pairs a client keeps (emptied when full: search terms do not repeat)."""


class BssClient:
    """Calls BSS endpoints by key for one user."""

    def __init__(self, user: Any, identity: Identity | None, state: ClientState, target: Target) -> None:
        self.user = user
        self.session = user.client
        self.routes: dict[str, Route] = target.routes
        self.tokens = state.tokens
        self.registry = state.registry
        self.identity = identity
        self._refresh_at = -1.0
        environment = user.environment
        self.tracing = RequestTracing(target.config.tracing, run_id=runtime.run_id(environment),
                                      user_class=type(user).__name__,
                                      sample=client_settings(environment).trace_sample)
        # What is the same on every request of this user (baggage, the run-id header, the bearer
        # token once there is one) is checked once and kept as finished header lines that the
        # user's HTTP client adds to each request head (client/http.py); with a client pool the
        # user class brought along, they go in the user agent's default headers instead.
        # What changes per request (the traceparent, a body's content type) goes in the request's
        # own dict (bench/client_overhead.py).
        session_headers = None
        if getattr(user, "client_pool", None) is None:  # the user's own pool, not one it shares
            session_headers = use_suite_clients(self.session.client)
        self._session_lines = session_headers
        """The suite's client's :class:`~bss_loadtest.client.http.SessionHeaders` (the traceparent rides
        with them), or ``None`` on a pool the user class brought (it goes in each request's headers)."""
        self.session_headers = session_headers if session_headers is not None else self.session.client.default_headers
        """The header lines of every request of this user (a :class:`~bss_loadtest.client.http.SessionHeaders`,
        or the user agent's default headers)."""
        self.session_headers.update(self.tracing.static)
        self._json_headers: dict[str, str] = {"Content-Type": "application/json"}
        self._query_parts: dict[tuple[str, type, Any], str] = {}
        if identity is not None:
            self._token_name = urlsplit(identity.token_url).path or identity.token_url

    # --- auth -----------------------------------------------------------------------------------
    def _report_token(self, duration_s: float, error: BaseException | None) -> None:
        self._report_side(AUTH_REQUEST_TYPE, self._token_name, duration_s, error)

    def _report_side(self, request_type: str, name: str, duration_s: float, error: BaseException | None,
                     start_time: float | None = None) -> None:
        """A token fetch (``AUTH``) or a connection's setup (``CONNECT``, with the wall time it
        began): a row of its own, in neither the totals nor ``http_req_duration``."""
        self.user.environment.events.request.fire(
            request_type=request_type,
            name=name,
            response_time=duration_s * 1000.0,
            response_length=0,
            response=None,
            context=self.user.context(),
            exception=as_failure(error) if error is not None else None,
            url=name,
            start_time=start_time,
        )

    def _ensure_token(self) -> bool:
        """Refresh the Authorization headers if the token is due; False when no token could be had."""
        identity = self.identity
        try:
            access_token = self.tokens.get(identity, on_fetch=self._report_token)
        except Exception:  # noqa: BLE001 - already reported as an AUTH failure
            return False
        token = self.tokens.cached(identity)
        self._refresh_at = token.refresh_at if token is not None else 0.0
        self.session_headers["Authorization"] = "Bearer " + access_token
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
            url = url + "?" + self._query(params)
        data = body.to_json() if body is not None else None
        if route.creates is not None:
            self.registry.sent.add(route.creates)  # before the send: the stop may cut off its answer
        session_headers = self._session_lines
        start_request_timing()
        if session_headers is not None:
            # the traceparent goes with the session's lines, for this greenlet's request only
            trace_id, traceparent = self.tracing.traceparent()
            if traceparent is not None:
                session_headers.trace(traceparent)
            try:
                answered = self.session.request(route.method, url, name=route.name, data=data,
                                                headers=self._json_headers if data is not None else None,
                                                catch_response=True)
            finally:
                session_headers.untrace()
        else:
            trace_id, headers = self.tracing.headers(self._json_headers if data is not None else None)
            answered = self.session.request(route.method, url, name=route.name, data=data, headers=headers,
                                            catch_response=True)
        with answered as response:
            meta = response.request_meta
            # As k6's http_req_duration: from sending the request to its answer's last byte, not
            # the time that answer then waited in this process; opening the connection is its own
            # CONNECT row (client/http.py).
            setup = connection_setup()
            if setup is not None:
                self._report_side(CONNECT_REQUEST_TYPE, setup[0], setup[1], None, setup[2])
            measured = meta["response_time"]
            on_wire = wire_time()
            if on_wire is not None and 0.0 < on_wire[1] * 1000.0 <= measured:
                # the kernel's stamps: its time on the wire, from the moment it was sent (the
                # request log's first column; the connection it opened first is not in it)
                meta["start_time"], meta["response_time"] = on_wire[0], on_wire[1] * 1000.0
            else:
                taken_ms = read_delay() * 1000.0 + (setup[1] * 1000.0 if setup is not None else 0.0)
                if taken_ms:
                    meta["response_time"] = max(0.0, measured - taken_ms)
            status = response.status_code
            context = meta["context"]  # this request's own copy of user.context()
            if trace_id is not None:
                context["trace_id"] = trace_id
            context["status"] = status or None  # 0: no answer
            # k6's checks: the expected status, then the body's model, then the endpoint's own check.
            expected = status in route.expected
            context["expected"] = expected
            if expected:
                validate = route.validate
                if validate is None:
                    context["checks"] = (1, 0)
                    response.success()
                    result: Any = True
                else:
                    try:
                        result = validate(response.content or b"")
                    except ValidationError as error:
                        context["checks"] = (1, 1)
                        response.failure(ValidationFailure(validation_message(status, error)))
                        return None
                    if route.check is not None:
                        problem = route.check(result)
                        if problem:
                            context["checks"] = (2, 1)
                            response.failure(ValidationFailure(f"HTTP {status} {problem}"))
                            return None
                        context["checks"] = (3, 0)
                    else:
                        context["checks"] = (2, 0)
                    response.success()
                if route.tracks is not None:
                    self._track(route, result, path)
                return result
            context["checks"] = (0, 1)
            response.failure(failure_for_status(status, route.expected_text, getattr(response, "error", None)))
            if status == 401 and self.identity is not None:
                self.tokens.invalidate(self.identity)
                self._refresh_at = -1.0
            return None

    def _query(self, params: dict[str, Any]) -> str:
        """``urlencode(params)``, each ``key=value`` of a str key and a str or int value taken from
        this user's cache: pages, sizes and sort orders repeat, and ``urlencode`` costs about 4 µs
        a pair (bench/README.md)."""
        cache = self._query_parts
        parts = []
        for key, value in params.items():
            kind = type(value)
            if type(key) is str and (kind is str or kind is int):
                part = cache.get((key, kind, value))
                if part is None:
                    part = urlencode({key: value})
                    if len(cache) >= _QUERY_CACHE_SIZE:
                        cache.clear()
                    cache[key, kind, value] = part
            else:
                part = urlencode({key: value})
            parts.append(part)
        return "&".join(parts)

    def _track(self, route: Route, result: Any, path: dict[str, Any] | None) -> None:
        if route.method == "POST":
            entity_id = getattr(result, "id", None)
            if entity_id:
                owner_field = route.endpoint.owner_field
                owner = getattr(result, owner_field, None) if owner_field else None
                self.registry.add(route.tracks, entity_id, owner, getattr(result, "version", None))
        elif route.method == "DELETE" and path:
            self.registry.discard(route.tracks, str(path.get("id")))


def _engine_of(user: Any) -> Any:
    """The scenario engine of the user's run (``run.scenarios``), or None (a stages profile)."""
    suite = getattr(user.environment, "bss", None)
    run = getattr(suite, "run", None)
    return getattr(run, "scenarios", None)


def _stats_of(user: Any) -> Any:
    suite = getattr(user.environment, "bss", None)
    return getattr(getattr(suite, "run", None), "stats", None)


def _park(user: Any) -> None:
    """A user whose scenario has no more iterations for it waits, killable, until the run ends."""
    user._state = LOCUST_STATE_WAITING
    gevent.sleep(_PARK_S)


_PARK_S = 1e9


def as_iteration(task: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a task so that each call is one k6 iteration: paced by the scenario's executor (when
    the profile has scenarios), timed as ``iteration_duration``, and, for a journey, run inside
    the group named after the task (k6's ``group()``)."""
    if getattr(task, "bss_iteration", False) or not callable(task) or isinstance(task, type):
        return task
    group = "::" + task.__name__

    @functools.wraps(task)
    def iteration(user: Any, *args: Any, **kwargs: Any) -> Any:
        engine = _engine_of(user)
        lane = engine.lane_of(user) if engine is not None else None
        if lane is not None:
            if user._state == LOCUST_STATE_STOPPING:
                raise StopUser()
            user._state = LOCUST_STATE_WAITING  # killable while it waits, as in Locust's own wait()
            allowed = engine.begin(user)
            if user._state == LOCUST_STATE_STOPPING:
                raise StopUser()
            if not allowed:
                _park(user)
                raise StopUser()
            user._state = LOCUST_STATE_RUNNING
        journey = type(user).journey
        if journey:
            user._context["group"] = group
        start = time.perf_counter()
        interrupted = True
        try:
            result = task(user, *args, **kwargs)
            interrupted = False
            return result
        except Exception:
            interrupted = False  # the task failed: the iteration still ran (Locust logs the error)
            raise
        finally:
            duration_ms = (time.perf_counter() - start) * 1000.0
            if journey:
                user._context.pop("group", None)
            if lane is not None:
                engine.end(user, duration_ms, interrupted)
            stats = _stats_of(user)
            if stats is not None:
                if interrupted:
                    stats.record_interrupted(user.scenario_name)
                else:
                    stats.record_iteration(user.scenario_name, duration_ms)

    iteration.bss_iteration = True  # type: ignore[attr-defined]
    return iteration


class BssUser(FastHttpUser):
    """Base of every BSS user: a :class:`BssClient` as ``self.api``, test data, id pools.

    Each task is one k6 iteration (:func:`as_iteration`). In a profile with scenarios, every user
    belongs to one scenario (``scenario_name``) and asks its executor before each iteration.
    """

    abstract = True
    network_timeout = 30.0
    connection_timeout = 10.0
    scenario_name = "default"
    """The k6 scenario this class's users run in (a profile with ``scenarios`` makes one subclass
    per scenario and class; a stages profile runs everything in ``default``)."""
    user_class_name: str | None = None
    """The user class a scenario subclass stands for (its requests count under this name)."""
    journey = False
    """True for a journey: each task is one pass of the journey, a k6 group named after the task."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tasks = cls.__dict__.get("tasks")
        if tasks:
            wrapped: dict[int, Callable[..., Any]] = {}
            cls.tasks = [wrapped.setdefault(id(t), as_iteration(t)) for t in tasks]

    def __init__(self, environment: Any) -> None:
        if "network_timeout" not in type(self).__dict__:  # a subclass's own value wins
            self.network_timeout = client_settings(environment).request_timeout
        super().__init__(environment)
        state = client_state(environment)
        self._context = {"user_class": self.user_class_name or type(self).__name__}
        if self.scenario_name != "default":
            self._context["scenario"] = self.scenario_name
        pool = identity_pool(environment, self.host or "")
        index = state.next_user_number() + int(getattr(getattr(environment, "runner", None), "worker_index", 0) or 0)
        self.api = BssClient(self, assign(pool, index) if pool else None, state, target_of(environment))
        self.data = DataFactory(runtime.run_id(environment), sequence=state.data_sequence,
                                salt=process_salt(environment))
        if state.logged_run_id != self.data.run_id:
            state.logged_run_id = self.data.run_id
            logger.info("BSS client: run id %s", self.data.run_id)
        self.ids = IdPool()
        self.rng = random.Random()

    def context(self) -> dict:
        return self._context

    def wait_time(self) -> float:
        engine = _engine_of(self)
        if engine is not None:
            paced = engine.think_time(self)
            if paced is not None:
                return paced
        low, high = runtime.think_time(self.environment, self.scenario_name)
        return self.rng.uniform(low, high)

    @contextlib.contextmanager
    def group(self, name: str) -> Iterator[None]:
        """k6's ``group(name, ...)``: the requests inside carry ``group`` = the path of the groups
        they are in (``::order_to_payment::billing``), for thresholds such as
        ``http_req_duration{group:::order_to_payment::billing}``."""
        outer = self._context.get("group", "")
        self._context["group"] = f"{outer}::{name}"
        try:
            yield
        finally:
            if outer:
                self._context["group"] = outer
            else:
                self._context.pop("group", None)

    # --- shared building blocks the locustfiles compose ---------------------------------------
    def create_and_keep(self, key: str, body: m._Body) -> Any:
        """Send the create endpoint ``key``; keep what it made in this user's pool of its kind."""
        made = self.api.call(key, body=body)
        if made is not None:
            self.ids.add(self.api.routes[key].tracks, made)
        return made

    def pick_or_create(self, kind: str, create: Callable[[str], Any]) -> Any:
        """One of this user's ``kind`` (``"orders"``), made with ``create(customer_id)`` for one of
        its customers when it has none."""
        item = self.ids.pick(kind)
        if item is None:
            customer = self.customer()
            item = create(customer.id) if customer is not None else None
        return item

    def create_customer(self) -> m.Customer | None:
        return self.create_and_keep("customers.create", self.data.customer())

    def customer(self) -> m.Customer | None:
        """A customer of this user (created when the pool is empty)."""
        return self.ids.pick("customers") or self.create_customer()

    def for_customer(self, key: str, params: dict[str, Any] | None = None) -> Any:
        """Call the by-customer read ``key`` (``{customerId}``) for one of this user's customers."""
        customer = self.customer()
        return self.api.call(key, path={"customerId": customer.id}, params=params) if customer is not None else None

    def create_product(self) -> m.Product | None:
        return self.create_and_keep("products.create", self.data.product())

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
        return self.create_and_keep("orders.create", self.data.order(customer_id))

    def _advance(self, key: str, entity: Any, status: str, body: m._Body) -> Any:
        """Send the status change ``key``; the entity as it is now (``None`` when it failed)."""
        if self.api.call(key, path={"id": entity.id}, body=body) is None:
            return None
        updated = entity.model_copy(update={"status": status, "version": entity.version + 1})
        self.ids.replace(self.api.routes[key].endpoint.resource, entity, updated)
        return updated

    def advance_order(self, order: m.Order, status: str) -> m.Order | None:
        """Move an order one step (with its current version); returns the order as it is now."""
        return self._advance("orders.change_status", order, status,
                             m.ChangeOrderStatus(id=order.id, status=status, version=order.version))

    def create_invoice(self, customer_id: str) -> m.Invoice | None:
        return self.create_and_keep("invoices.create", self.data.invoice(customer_id))

    def advance_invoice(self, invoice: m.Invoice, status: str) -> m.Invoice | None:
        extra: dict[str, Any] = {}
        if status == "PAID":
            extra["paid_date"] = time.strftime("%Y-%m-%d")
        elif status == "SENT":
            extra["sent_to_email"] = f"billing-{self.data.run_id}@loadtest.example"
        return self._advance("invoices.change_status", invoice, status,
                             m.ChangeInvoiceStatus(id=invoice.id, status=status, version=invoice.version, **extra))

    def create_subscription(self, customer_id: str, product_id: str, order_id: str | None = None):
        return self.create_and_keep("subscriptions.create", self.data.subscription(customer_id, product_id, order_id))

    def create_payment(self, customer_id: str, invoice_id: str | None = None, amount: float | None = None):
        return self.create_and_keep("payments.create", self.data.payment(customer_id, invoice_id, amount))

    def page_params(self, size: int = 20, **filters: Any) -> dict[str, Any]:
        """``page``/``size`` (mostly the first pages, as people browse) plus filters."""
        page = 0 if self.rng.random() < 0.7 else self.rng.randint(1, 3)
        return {"page": page, "size": size, **filters}
