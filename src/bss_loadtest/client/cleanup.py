"""What a run created, and deleting it again when the test stops.

The client registers every entity a successful create returns in the run's :class:`Registry`
(``ClientState.registry``) and forgets what a successful delete removed. At ``test_stop`` (see
:mod:`bss_loadtest.client.lifecycle`) :func:`run_cleanup` deletes what is left, outside Locust's
statistics (side requests with their own bounded time budget, authenticated like the users), and
the :class:`CleanupReport` is kept as ``ClientState.cleanup_report``.

Which kinds can be deleted, with which endpoint, and in which order, comes from the endpoint table
(its DELETE rows that carry ``tracks``, ordered by :data:`bss_loadtest.client.plan.DELETE_ORDER`).

What is honest to report:

* Customers are deleted first; the server cascades the delete to their orders, invoices,
  payments, subscriptions (and activations), so those are not deleted one by one.
* When a customer's delete fails, its owned entities are deleted with their own DELETE where
  the API has one, else listed in ``not_deleted`` with the customer's failure as the reason.
* A delete that takes the entity's version (products: ``?version=``) is sent with it.
* Assets, network elements and SIM cards have no DELETE in the API and no owning customer: they
  are listed as not deleted, reason ``no DELETE in the API``.
* ``deleted`` counts DELETE calls that answered success (404, already gone, is not counted).
* A customer create whose answer never came (the user stopped while it was in flight, at the end
  of ``-t``) leaves a customer the registry never saw. So after the registry's own deletes the
  cleanup sweeps: it searches the customers for this process's marker (every customer it creates
  carries it in its email, ``client.data.customer_marker``), and deletes what it finds (counted
  as ``swept``) and only what carries the marker. A sweep that found them all also clears the
  customers let go past the registry's limit (below), and what they owned, from ``untracked``.
* The registry keeps at most :data:`REGISTRY_LIMIT` entities (about what one cleanup's time budget
  can delete), so that a day-long run's memory does not grow with what the target keeps: past it,
  the oldest are let go and counted as ``untracked`` per kind (left on the target, not deleted).
* What was left behind is counted in full per reason and kind (``left_behind``); the entities
  themselves are listed up to :data:`LISTED_LIMIT` (``not_deleted``), so that the summary of a long
  run stays small.

The cleanup ends with one log line (:func:`outcome`): INFO when all that is left is expected (no
DELETE in the API, or a DELETE the target config skips), WARNING when a delete failed.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from bss_loadtest.client import side_http
from bss_loadtest.client.auth import Identity, TokenCache
from bss_loadtest.client.config import TargetConfig
from bss_loadtest.client.endpoints import ENDPOINTS
from bss_loadtest.client.plan import DELETE_ORDER

logger = logging.getLogger(__name__)

CLEANUP_TIMEOUT_S = 60.0
"""Total time budget of one cleanup."""
REQUEST_TIMEOUT_S = 5.0
"""Time limit of one cleanup request."""
CONCURRENCY = 8
"""Deletes in flight at once (inside Locust, where gevent makes them cooperative)."""
REGISTRY_LIMIT = 50_000
"""Entities a process keeps track of for the cleanup (about 40 MiB resident at the limit,
bench/README.md): about what one cleanup deletes in its :data:`CLEANUP_TIMEOUT_S` from a backend
that answers a DELETE in 10 ms (8 at a time: 48,000); the oldest past it are let go."""
LISTED_LIMIT = 1_000
"""Entities left behind that a report lists one by one (all of them are counted)."""
SWEEP_PAGE_SIZE = 200
"""Customers asked for per page of the sweep's search."""
SWEEP_PAGES = 50
"""Pages one sweep reads at most (10,000 customers)."""

NO_DELETE = "no DELETE in the API"
SKIPPED = "DELETE skipped on this target"
EXPECTED_REASONS = (NO_DELETE, SKIPPED)
"""Why an entity may be left behind without anything having gone wrong."""

DELETE_ENDPOINT = {e.tracks: e for e in ENDPOINTS.values() if e.method == "DELETE" and e.tracks}
"""Kinds the API can delete, and the endpoint that does it (from the table)."""
OWNED_KINDS = frozenset(e.tracks for e in ENDPOINTS.values() if e.tracks and e.owner_field)
"""Kinds the server deletes together with their customer."""
SWEEP_ENDPOINT = ENDPOINTS["customers.search"]
"""The search the sweep finds a process's customers with."""

_TRACKED = tuple(dict.fromkeys(e.tracks for e in ENDPOINTS.values() if e.tracks))
ORDER = (*DELETE_ORDER, *(kind for kind in _TRACKED if kind not in DELETE_ORDER))
"""Kinds in the order their entities are deleted (then those only reported, in table order)."""


@dataclass(frozen=True, slots=True)
class Created:
    resource: str
    id: str
    owner: str | None = None
    """The owning customer's id, for resources the server deletes with their customer."""
    version: int | None = None


@dataclass
class CleanupReport:
    deleted: int = 0
    not_deleted: list[dict[str, str]] = field(default_factory=list)
    """The entities left behind, the first :data:`LISTED_LIMIT` of them."""
    left_behind: dict[str, dict[str, int]] = field(default_factory=dict)
    """Every entity left behind, counted: reason -> kind -> count."""
    untracked: dict[str, int] = field(default_factory=dict)
    """Entities created past :data:`REGISTRY_LIMIT`, let go by the registry: kind -> count."""
    swept: int = 0
    """Customers the registry did not hold that the sweep found and deleted (also in ``deleted``)."""
    requests: dict[str, int] = field(default_factory=dict)
    """Requests the cleanup sent (outside Locust's statistics), by ``"METHOD /template"``."""

    def leave(self, resource: str, entity_id: str, reason: str) -> None:
        """Count an entity left behind (and list it, up to :data:`LISTED_LIMIT`)."""
        kinds = self.left_behind.setdefault(reason, {})
        kinds[resource] = kinds.get(resource, 0) + 1
        if len(self.not_deleted) < LISTED_LIMIT:
            self.not_deleted.append({"resource": resource, "id": entity_id, "reason": reason})

    @property
    def not_deleted_count(self) -> int:
        return sum(sum(kinds.values()) for kinds in self.left_behind.values())

    def to_dict(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "not_deleted": list(self.not_deleted),
                "not_deleted_count": self.not_deleted_count,
                "left_behind": {reason: dict(kinds) for reason, kinds in self.left_behind.items()},
                "untracked": dict(self.untracked), "swept": self.swept, "requests": dict(self.requests)}


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The cleanup reports of several processes (:meth:`CleanupReport.to_dict`) as one, as the
    summary carries it; ``None`` for none."""
    if not reports:
        return None
    merged: dict[str, Any] = {"deleted": 0, "not_deleted": [], "not_deleted_count": 0, "left_behind": {},
                              "untracked": {}, "swept": 0, "requests": {}}
    for report in reports:
        for key, n in (report.get("requests") or {}).items():
            merged["requests"][key] = merged["requests"].get(key, 0) + int(n)
        merged["deleted"] += int(report.get("deleted", 0))
        merged["swept"] += int(report.get("swept", 0))
        listed = report.get("not_deleted", [])
        merged["not_deleted"].extend(listed[:max(0, LISTED_LIMIT - len(merged["not_deleted"]))])
        merged["not_deleted_count"] += int(report.get("not_deleted_count", len(listed)))
        for reason, kinds in (report.get("left_behind") or {}).items():
            into = merged["left_behind"].setdefault(reason, {})
            for kind, n in kinds.items():
                into[kind] = into.get(kind, 0) + int(n)
        for kind, n in (report.get("untracked") or {}).items():
            merged["untracked"][kind] = merged["untracked"].get(kind, 0) + int(n)
    return merged


class Registry:
    """Entities created in this process and not yet deleted, at most ``limit`` of them (the oldest
    past it are let go and counted in :attr:`untracked`); greenlet- and thread-safe."""

    def __init__(self, limit: int = REGISTRY_LIMIT) -> None:
        self._items: dict[tuple[str, str], Created] = {}
        self._owned: dict[str, set[tuple[str, str]]] = {}
        """Owner customer id → keys of the entities it owns (a customer's delete drops them at once)."""
        self._lock = threading.Lock()
        self.limit = limit
        """The most entities kept; past it the oldest is let go."""
        self._untracked: dict[str, int] = {}
        self.sent: set[str] = set()
        """Kinds this process has sent a create for (answered or not): the sweep's cue."""

    @property
    def untracked(self) -> dict[str, int]:
        """Entities let go past the limit, per kind (they stay on the target)."""
        with self._lock:
            return dict(self._untracked)

    def add(self, resource: str, entity_id: str, owner: str | None = None, version: int | None = None) -> None:
        key = (resource, entity_id)
        with self._lock:
            if key not in self._items and len(self._items) >= self.limit:
                oldest = self._items[next(iter(self._items))]
                self._drop(oldest.resource, oldest.id)
                self._untracked[oldest.resource] = self._untracked.get(oldest.resource, 0) + 1
            self._items[key] = Created(resource, entity_id, owner, version)
            if owner:
                self._owned.setdefault(owner, set()).add(key)

    def _drop(self, resource: str, entity_id: str) -> Created | None:
        gone = self._items.pop((resource, entity_id), None)
        if gone is not None and gone.owner:
            owned = self._owned.get(gone.owner)
            if owned is not None:
                owned.discard((resource, entity_id))
                if not owned:
                    del self._owned[gone.owner]
        return gone

    def discard(self, resource: str, entity_id: str) -> None:
        with self._lock:
            self._drop(resource, entity_id)
            if resource == "customers":  # the server cascaded the delete
                for key in self._owned.pop(entity_id, ()):
                    self._items.pop(key, None)

    def snapshot(self) -> list[Created]:
        with self._lock:
            return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def _delete(url: str, headers: dict[str, str], timeout: float) -> tuple[bool, str]:
    """Send one DELETE; ``(success, what it answered)``."""
    try:
        answer = side_http.request("DELETE", url, headers=headers, deadline_s=timeout)
    except side_http.SideHttpError as error:
        return False, str(error)
    return answer.ok, f"HTTP {answer.status}"


def _map(function: Any, items: list) -> list:
    """``function`` over ``items``, ``CONCURRENCY`` at a time when gevent has patched sockets (in Locust)."""
    try:
        from gevent import monkey

        if monkey.is_module_patched("socket") and len(items) > 1:
            from gevent.pool import Pool

            return list(Pool(CONCURRENCY).imap_unordered(function, items))
    except ImportError:  # pragma: no cover - gevent comes with locust
        pass
    return [function(item) for item in items]


def _find_marked(search: Any, marker: str, deadline: float) -> tuple[list[str], bool]:
    """The ids of the customers ``search`` (query parameters -> the answer; SideHttpError when none
    comes) finds for ``marker`` whose email carries it (the search matches names too), and whether
    it read them all: it pages until a short page, and stops short, saying so in one WARNING, on an error, at
    the time budget (``deadline``, monotonic), after :data:`SWEEP_PAGES`, or when a page brings no
    id it had not seen (a server that ignores ``page``).

    ``totalElements`` is not read: the backend reports every customer's count there (bss-api.md).
    """
    wanted = marker.lower()
    found: dict[str, None] = {}
    seen: set[str] = set()
    problem = f"more than {SWEEP_PAGES * SWEEP_PAGE_SIZE:,} found"
    for page in range(SWEEP_PAGES):
        if time.monotonic() >= deadline:
            problem = "cleanup time budget exhausted"
            break
        try:
            answer = search({"searchTerm": marker, "page": page, "size": SWEEP_PAGE_SIZE})
        except side_http.SideHttpError as error:
            problem = str(error)
            break
        if not answer.ok:
            problem = f"HTTP {answer.status}"
            break
        try:
            content = json.loads(answer.body).get("content")
        except (ValueError, AttributeError):
            content = None
        if not isinstance(content, list):
            problem = "an answer that is not a page"
            break
        fresh = False
        for customer in content:
            entity_id = customer.get("id") if isinstance(customer, dict) else None
            if not isinstance(entity_id, str) or entity_id in seen:
                continue
            seen.add(entity_id)
            fresh = True
            if wanted in str(customer.get("email") or "").lower():
                found[entity_id] = None
        if len(content) < SWEEP_PAGE_SIZE:
            return list(found), True
        if not fresh:
            problem = "the same page again"
            break
    logger.warning("Cleanup: the sweep for customers whose create was not answered stopped short (%s); "
                   "some may be left on the target", problem)
    return list(found), False


def run_cleanup(
    host: str,
    identities: list[Identity] | None,
    config: TargetConfig | None = None,
    *,
    registry: Registry,
    timeout_s: float = CLEANUP_TIMEOUT_S,
    request_timeout_s: float = REQUEST_TIMEOUT_S,
    token_cache: TokenCache | None = None,
    sweep: str | None = None,
) -> CleanupReport:
    """Delete what ``registry`` holds; return what happened.

    ``identities`` ``None`` or empty sends no token (``--no-auth``). Requests rotate over the
    identities so the per-subject rate limit is shared. Customers go first (their delete cascades),
    then, with ``sweep`` (this process's :func:`~bss_loadtest.client.data.customer_marker`), the
    customers the search finds with it, then what is left; up to ``CONCURRENCY`` deletes run at
    once inside Locust.
    """
    config = config or TargetConfig()
    token_cache = token_cache or TokenCache()
    paths = config.resource_paths()
    skipped = config.skipped()
    host = host.rstrip("/")
    deadline = time.monotonic() + timeout_s
    report = CleanupReport(untracked=registry.untracked)
    items = registry.snapshot()
    customer_failures: dict[str, str] = {}
    deleted_customers: set[str] = set()
    rotation = itertools.count()

    def fail(item: Created, reason: str) -> None:
        report.leave(item.resource, item.id, reason)

    def auth_headers() -> dict[str, str]:
        """The next identity's bearer token (none with no identities); raises when none comes."""
        if not identities:
            return {}
        identity = identities[next(rotation) % len(identities)]
        return {"Authorization": "Bearer " + token_cache.get(identity)}

    def time_left() -> float:
        """What one request may take: its own bound, within the cleanup's."""
        return max(0.5, min(request_timeout_s, deadline - time.monotonic()))

    def attempt(item: Created) -> tuple[Created, bool, str]:
        """Send one DELETE; (item, deleted or already gone, why not)."""
        if time.monotonic() >= deadline:
            return item, False, "cleanup time budget exhausted"
        endpoint = DELETE_ENDPOINT[item.resource]
        url = host + endpoint.template(paths).replace("{id}", urllib.parse.quote(item.id, safe=""))
        if endpoint.version_param:
            url += f"?{endpoint.version_param}={item.version if item.version is not None else 0}"
        try:
            headers = auth_headers()
        except Exception as exc:  # noqa: BLE001 - a token failure must not end the cleanup
            return item, False, f"DELETE answered no token ({type(exc).__name__})"
        ok, status = _delete(url, headers, time_left())
        name = endpoint.name(paths)
        report.requests[name] = report.requests.get(name, 0) + 1
        if ok:
            report.deleted += 1
            registry.discard(item.resource, item.id)
            return item, True, ""
        if status == "HTTP 404":  # already gone: not counted as deleted by us
            registry.discard(item.resource, item.id)
            return item, True, ""
        return item, False, f"DELETE answered {status}"

    customers = [c for c in items if c.resource == "customers"]
    deletable = DELETE_ENDPOINT["customers"].key not in skipped
    for item, gone, reason in (_map(attempt, customers) if deletable else
                               [(c, False, SKIPPED) for c in customers]):
        if gone:
            deleted_customers.add(item.id)
        else:
            customer_failures[item.id] = reason
            fail(item, reason)

    def search(params: dict[str, Any]) -> side_http.Response:
        """One page of the sweep's search, authenticated and counted as the deletes are; a token
        that does not come is a SideHttpError, as no answer is."""
        try:
            headers = auth_headers()
        except Exception as exc:  # noqa: BLE001 - a token failure must not end the cleanup
            raise side_http.SideHttpError(f"no token ({type(exc).__name__})") from None
        name = SWEEP_ENDPOINT.name(paths)
        report.requests[name] = report.requests.get(name, 0) + 1
        url = f"{host}{SWEEP_ENDPOINT.template(paths)}?{urllib.parse.urlencode(params)}"
        return side_http.request("GET", url, headers=headers, deadline_s=time_left())

    if sweep and deletable and SWEEP_ENDPOINT.key not in skipped:
        found, complete = _find_marked(search, sweep, deadline)
        before = report.deleted
        for item, gone, reason in _map(attempt, [Created("customers", cid) for cid in found
                                                 if cid not in deleted_customers and cid not in customer_failures]):
            if gone:
                deleted_customers.add(item.id)
            else:
                complete = False
                customer_failures[item.id] = reason
                fail(item, reason)
        report.swept = report.deleted - before
        if complete and not customer_failures:
            # None of this process's customers is left: those let go past the registry's limit
            # went too, and what they owned with them.
            for kind in ("customers", *OWNED_KINDS):
                report.untracked.pop(kind, None)

    rest: list[Created] = []
    for item in sorted((c for c in items if c.resource != "customers"),
                       key=lambda c: ORDER.index(c.resource) if c.resource in ORDER else len(ORDER)):
        if item.owner is not None and item.owner in deleted_customers:
            registry.discard(item.resource, item.id)
            continue  # deleted by the server together with its customer
        endpoint = DELETE_ENDPOINT.get(item.resource)
        owner_reason = customer_failures.get(item.owner or "")
        if endpoint is None or endpoint.key in skipped:
            why = NO_DELETE if endpoint is None else SKIPPED
            fail(item, f"owning customer not deleted ({owner_reason}); {why}" if owner_reason else why)
            continue
        rest.append(item)
    for item, gone, reason in _map(attempt, rest):
        if not gone:
            fail(item, reason)

    level, message = outcome(report)
    logger.log(level, "%s", message)
    return report


def outcome(report: CleanupReport) -> tuple[int, str]:
    """The cleanup's one log line and its level: WARNING only when a delete failed.

    ``Cleanup: 12 deleted; left as expected: 3 (no DELETE in the API: assets 1, network_elements 1,
    sim_cards 1)``, or ``Cleanup: 10 deleted, 2 not deleted (DELETE answered HTTP 429: customers 2);
    ...``.
    """
    expected = {reason: kinds for reason, kinds in report.left_behind.items() if reason in EXPECTED_REASONS}
    failed = {reason: kinds for reason, kinds in report.left_behind.items() if reason not in EXPECTED_REASONS}

    def listed(groups: dict[str, dict[str, int]]) -> str:
        return "; ".join(f"{reason}: " + ", ".join(f"{kind} {n}" for kind, n in kinds.items())
                         for reason, kinds in groups.items())

    parts = [f"Cleanup: {report.deleted} deleted"]
    if report.swept:
        parts[0] += f" ({report.swept} of them customers found by the sweep, not held by the registry)"
    if failed:
        parts[0] += f", {sum(sum(k.values()) for k in failed.values())} not deleted ({listed(failed)})"
    if expected:
        parts.append(f"left as expected: {sum(sum(k.values()) for k in expected.values())} ({listed(expected)})")
    if report.untracked:
        parts.append(f"not tracked (created past the {REGISTRY_LIMIT:,} entities a process keeps track of, "
                     f"left on the target): {sum(report.untracked.values())} ("
                     + ", ".join(f"{kind} {n}" for kind, n in report.untracked.items()) + ")")
    return (logging.WARNING if failed else logging.INFO), "; ".join(parts)
