"""Reconciliation: does what the suite counted match what the target says it served?

When the target exposes Spring-style metrics (``/actuator/prometheus`` with the
``http_server_requests_seconds`` histogram labelled ``uri``, ``method``), the suite scrapes them
before the run and after it, and compares the increase per endpoint with its own counts; it also
compares the business counters (``bss_customers_created_total``) with the successful requests of
the endpoint each counts: the endpoint table names them (its ``counter`` column), the target
config gives the endpoints' paths. Pure apart from :func:`scrape`; does not import locust.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bss_loadtest.client import side_http
from bss_loadtest.client.config import TargetConfig
from bss_loadtest.client.endpoints import ENDPOINTS
from bss_loadtest.core.stats import AUTH_REQUEST_TYPE, CONNECT_REQUEST_TYPE, RunStats
from bss_loadtest.run.prometheus import redact_url

logger = logging.getLogger(__name__)

METRICS_PATH = "/actuator/prometheus"
SCRAPE_TIMEOUT_S = 3.0
"""The whole scrape's time limit (the one before the run delays its start by at most this)."""
QUOTE_MAX = 200
"""The most characters of a target's answer a log line quotes."""
SCRAPE_MAX_BYTES = 64 << 20
"""The largest metrics page read (a big Spring target's is a few MiB)."""
REQUESTS_METRIC = "http_server_requests_seconds"


def business_counters(config: TargetConfig | None = None) -> dict[str, str]:
    """Server counter → the ``"METHOD /template"`` (on this target) whose successful requests it counts."""
    paths = (config or TargetConfig()).resource_paths()
    return {e.counter: e.name(paths) for e in ENDPOINTS.values() if e.counter}


COUNTERS = frozenset(business_counters())
"""The business counters a scrape keeps."""


@dataclass
class Scrape:
    """Request counts per ``"METHOD uri"`` and the business counters, at one moment."""

    requests: dict[str, float] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)


def parse(text: str) -> Scrape:
    scrape = Scrape()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{REQUESTS_METRIC}_count":
                key = f"{sample.labels.get('method', '')} {sample.labels.get('uri', '')}"
                scrape.requests[key] = scrape.requests.get(key, 0.0) + sample.value
            elif sample.name in COUNTERS:
                scrape.counters[sample.name] = sample.value
    return scrape


def scrape(host: str, path: str = METRICS_PATH) -> Scrape | None:
    """Scrape the target; ``None`` when it exposes no usable metrics (not an error)."""
    url = host.rstrip("/") + path
    shown = redact_url(url)
    try:
        answer = side_http.request("GET", url, deadline_s=SCRAPE_TIMEOUT_S, max_bytes=SCRAPE_MAX_BYTES)
    except side_http.SideHttpError as error:
        logger.info("No reconciliation: %s answered %s", shown, error)
        return None
    if not answer.ok:
        logger.info("No reconciliation: %s answered HTTP %d", shown, answer.status)
        return None
    text = answer.body.decode("utf-8", "replace")
    try:
        result = parse(text)
    except Exception as error:  # noqa: BLE001 - whatever a target sends must not break the run
        # The parser quotes the offending text, which may be the whole (huge) page: keep a little.
        detail = " ".join(str(error).split())
        detail = detail if len(detail) <= QUOTE_MAX else detail[: QUOTE_MAX - 3] + "..."
        logger.info("No reconciliation: %s is not Prometheus text (%s: %s)", shown, type(error).__name__, detail)
        return None
    return result


def reconcile(
    before: Scrape | None,
    after: Scrape | None,
    stats: RunStats,
    *,
    extra_requests: dict[str, int] | None = None,
    config: TargetConfig | None = None,
) -> dict[str, Any] | None:
    """Compare the target's increase with the suite's counts.

    ``extra_requests`` are requests the suite made outside its statistics (test-data cleanup),
    by endpoint key. Token requests (``AUTH``) are compared as ``POST`` to the token path.
    ``config`` is the run's target config (its paths name the endpoints; default: the contract's).
    """
    if before is None or after is None or not after.requests:
        return None  # the target exposes no request metrics: nothing to reconcile with
    ours: dict[str, int] = {}
    for key in stats.endpoint_keys():
        method, name = stats.methods[key]
        if method == CONNECT_REQUEST_TYPE:
            continue  # a connection's setup is no HTTP request
        server_key = f"POST {name}" if method == AUTH_REQUEST_TYPE else key
        ours[server_key] = ours.get(server_key, 0) + stats.endpoints[key].count
    for key, count in (extra_requests or {}).items():
        ours[key] = ours.get(key, 0) + count
    mismatches = []
    for key in sorted(ours):
        served = int(after.requests.get(key, 0.0) - before.requests.get(key, 0.0))
        if served != ours[key]:
            mismatches.append({"endpoint": key, "suite": ours[key], "target": served})
    counters = []
    for counter, endpoint in business_counters(config).items():
        if counter not in after.counters:
            continue
        aggregate = stats.endpoint(endpoint)
        counted = (aggregate.count - aggregate.failures) if aggregate else 0
        increase = int(after.counters[counter] - before.counters.get(counter, 0.0))
        counters.append({"counter": counter, "suite": counted, "target": increase, "match": counted == increase})
    reconciled = not mismatches and all(c["match"] for c in counters)
    return {
        "reconciled": reconciled,
        "endpoints_compared": len(ours),
        "mismatches": mismatches,
        "counters": counters,
    }
