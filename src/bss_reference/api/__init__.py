"""The HTTP API: one module per contract section, each a module-level ``router`` of handlers.

A handler is a plain ``async`` function of the :class:`~bss_reference.context.Context` (``ctx: Ctx``)
and the request's inputs; FastAPI registers it by its decorator, and a test can call it directly.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from bss_reference.api import assets, customers, invoices, orders, payments, products, services, subscriptions

#: The business routers, in the order the app includes them.
BUSINESS_ROUTERS: tuple[APIRouter, ...] = tuple(
    m.router for m in (customers, orders, invoices, payments, products, services, assets, subscriptions))

#: ``"METHOD /route/{template}"`` of every business endpoint: the keys the fault admin accepts.
ENDPOINT_KEYS: tuple[str, ...] = tuple(sorted(
    f"{method} {route.path}"
    for router in BUSINESS_ROUTERS for route in router.routes if isinstance(route, APIRoute)
    for method in route.methods if method != "HEAD"))
