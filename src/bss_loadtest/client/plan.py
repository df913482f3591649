"""The order the endpoint table can be called in, derived from its rows' :class:`~.endpoints.Smoke`.

One rule serves the smoke pass and the test-data cleanup:

* an endpoint runs after the endpoints that make what it refers to (its :class:`~.endpoints.Ref`
  values, ``needs`` and ``uses``) and after those named in its ``after``; otherwise in table order;
* teardown (deletes, and what prepares them) runs after everything else, and an endpoint that
  removes something runs before one that removes what that was built on: a subscription goes
  before its product, its order and its customer.

No locust import: the order is checked by unit tests (a row that refers to something nothing makes,
or leaves a path parameter without a value, is an error when this module is imported).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from bss_loadtest.client.endpoints import ENDPOINTS, Endpoint, Ref, Smoke

DATA = "data"
"""The name the run's DataFactory goes by among the entities."""
PAGE = {"page": 0, "size": 5}
"""What the smoke pass sends to every paged read."""


class Entities(dict):
    """What the smoke pass has made so far, by name; ``entities.customer`` is ``None`` before one is."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def required(smoke: Smoke) -> set[str]:
    """Entities the call cannot be made without."""
    refs = {v.entity for v in (*smoke.path.values(), *smoke.params.values()) if isinstance(v, Ref)}
    return (refs | set(smoke.needs)) - {DATA}


def _wanted(smoke: Smoke) -> set[str]:
    return required(smoke) | set(smoke.uses)


def is_teardown(endpoint: Endpoint) -> bool:
    return endpoint.smoke.teardown if endpoint.smoke.teardown is not None else endpoint.method == "DELETE"


def order(endpoints: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
    """The endpoints in an order that calls each after what it depends on (see the module's rule).

    Raises ``ValueError`` naming the row when the table cannot be ordered or a row is incomplete.
    """
    rows = list(endpoints)
    keys = {e.key for e in rows}
    makers: dict[str, Endpoint] = {}
    for e in rows:
        if e.smoke.saves and e.smoke.saves not in makers and e.smoke.saves not in required(e.smoke):
            makers[e.smoke.saves] = e
    for e in rows:
        smoke = e.smoke
        problems = [f"no value for path parameter {{{p}}}" for p in re.findall(r"\{(\w+)\}", e.path)
                    if p not in smoke.path]
        problems += [f"nothing makes {name!r}" for name in sorted(_wanted(smoke) - set(makers))]
        problems += [f"after: unknown endpoint {key!r}" for key in smoke.after if key not in keys]
        if smoke.saves and e.response is None:
            problems.append("saves an answer it has no model for")
        if problems:
            raise ValueError(f"{e.key}: smoke: {'; '.join(problems)}")

    def basis(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """What the entity ``name`` was built on, transitively."""
        direct = _wanted(makers[name].smoke) - seen - {name}
        return direct.union(*(basis(d, seen | {name}) for d in direct))

    deps = {e.key: {makers[name].key for name in _wanted(e.smoke)} | set(e.smoke.after) for e in rows}
    teardown = [e for e in rows if is_teardown(e)]
    for first in teardown:
        built_on = set().union(*(basis(name) for name in required(first.smoke)))
        for then in teardown:
            if then is not first and built_on & required(then.smoke):
                deps[then.key].add(first.key)
    ordered: list[Endpoint] = []
    waiting = set(keys)
    for phase in ([e for e in rows if not is_teardown(e)], teardown):
        while phase:
            ready = next((e for e in phase if not (deps[e.key] - {e.key}) & waiting), None)
            if ready is None:
                raise ValueError("smoke: the order of these endpoints is circular: " + ", ".join(e.key for e in phase))
            phase.remove(ready)
            waiting.discard(ready.key)
            ordered.append(ready)
    return tuple(ordered)


SMOKE_ORDER: tuple[Endpoint, ...] = order(ENDPOINTS.values())
"""Every endpoint of the table, in the order the smoke pass calls them."""

DELETE_ORDER: tuple[str, ...] = tuple(e.tracks for e in SMOKE_ORDER if e.method == "DELETE" and e.tracks)
"""The kinds the API can delete, in an order that deletes nothing before what is built on it."""


def _value(value: Any, entities: Entities) -> Any:
    if isinstance(value, Ref):
        return getattr(entities[value.entity], value.attr)
    return value(entities) if callable(value) else value


def arguments(endpoint: Endpoint, entities: Entities) -> dict[str, Any] | None:
    """``path``, ``params`` and ``body`` to call ``endpoint`` with; ``None`` while something it needs is missing."""
    smoke = endpoint.smoke
    if any(entities.get(name) is None for name in required(smoke)):
        return None
    path = {name: _value(v, entities) for name, v in smoke.path.items()}
    params = {**(PAGE if endpoint.paged else {}), **{name: _value(v, entities) for name, v in smoke.params.items()}}
    return {"path": path or None, "params": params or None, "body": smoke.body(entities) if smoke.body else None}


def run_smoke(call: Callable[..., Any], data: Any, endpoints: Iterable[Endpoint] = SMOKE_ORDER) -> None:
    """Call every endpoint once, in order, with what the calls before it made.

    ``call(key, path=..., params=..., body=...)`` returns the parsed answer, or ``None`` when the
    request failed or was skipped; an endpoint whose prerequisites are missing is not called.
    """
    entities = Entities({DATA: data})
    succeeded: set[str] = set()
    for endpoint in endpoints:
        smoke = endpoint.smoke
        args = arguments(endpoint, entities) if succeeded.issuperset(smoke.after) else None
        if args is None:
            continue
        result = call(endpoint.key, **args)
        if result is None:
            continue
        succeeded.add(endpoint.key)
        if smoke.saves:
            kept = smoke.pick(result) if smoke.pick else result
            if kept is not None:
                entities[smoke.saves] = kept
