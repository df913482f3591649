"""Prometheus metrics on a private registry: business meters and ``http_server_requests_seconds``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

HTTP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def outcome_of(status: int) -> str:
    if status < 200:
        return "INFORMATIONAL"
    if status < 300:
        return "SUCCESS"
    if status < 400:
        return "REDIRECTION"
    if status < 500:
        return "CLIENT_ERROR"
    return "SERVER_ERROR"


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.customers_created = Counter(
            "bss_customers_created_total", "Customers created", registry=r)
        self.customers_updated = Counter(
            "bss_customers_updated_total", "Customers updated", registry=r)
        self.customers_status_changed = Counter(
            "bss_customers_status_changed_total", "Successful customer status changes", registry=r)
        self.customers = Gauge("bss_customers", "Customers in the database", registry=r)
        self.activation_duration = Summary(
            "bss_services_activation_duration_seconds", "Service activation requests", registry=r)
        self.deactivation_duration = Summary(
            "bss_services_deactivation_duration_seconds", "Service deactivation requests", registry=r)
        self.http = Histogram(
            "http_server_requests_seconds", "HTTP server requests",
            ("uri", "method", "status", "outcome"), buckets=HTTP_BUCKETS, registry=r)
        self._children: dict[tuple[str, str, int], object] = {}

    def observe_request(self, uri: str, method: str, status: int, seconds: float) -> None:
        key = (uri, method, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.http.labels(uri, method, str(status), outcome_of(status))
        child.observe(seconds)  # type: ignore[attr-defined]

    def render(self) -> bytes:
        return generate_latest(self.registry)
