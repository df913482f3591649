"""Synthetic but realistic runs for the report tests and the speed benchmark.

Samples are recorded into a real :class:`bss_loadtest.core.stats.RunStats` (the same histogram the
suite uses), intervals are closed, and the summary is built from it, so every number in the
files comes from the code that makes real runs.
"""

from __future__ import annotations

import random
from collections import deque
from pathlib import Path
from typing import Any

from bss_loadtest.core.stats import RunStats
from bss_loadtest.reports.results import summary_from_stats, write_run

T0 = 1_764_000_000.0  # a fixed epoch second, so files are reproducible

ENDPOINTS = [
    ("GET", "/api/v1/customers/{id}", 25.0),
    ("GET", "/api/v1/customers", 40.0),
    ("POST", "/api/v1/customers", 60.0),
    ("GET", "/api/v1/orders/{id}", 30.0),
    ("POST", "/api/v1/orders", 90.0),
    ("GET", "/api/v1/orders/status/{status}", 45.0),
    ("GET", "/api/v1/invoices/{invoiceNumber}", 35.0),
    ("GET", "/api/v1/invoices/customer/{customerId}", 55.0),
    ("POST", "/api/v1/payments", 120.0),
    ("GET", "/api/v1/payments/{id}", 28.0),
    ("GET", "/api/v1/products", 20.0),
    ("GET", "/api/v1/products/category/{category}", 22.0),
    ("GET", "/api/v1/services/{id}", 33.0),
    ("POST", "/api/v1/services/activate", 150.0),
    ("GET", "/api/v1/services/activations/{activationId}", 26.0),
    ("GET", "/api/v1/assets/{assetId}", 31.0),
    ("GET", "/api/v1/assets/{assetId}/elements/{elementId}", 38.0),
    ("GET", "/api/v1/subscriptions/{id}", 27.0),
    ("POST", "/api/v1/subscriptions", 80.0),
    ("GET", "/api/v1/sims/{simId}", 24.0),
]
KEYS = [f"{m} {n}" for m, n, _ in ENDPOINTS]

LOAD_STAGES = [  # the load profile: 2 m ramp to 10, 5 m at 10, 2 m ramp to 20, 5 m at 20, 2 m to 0
    (120, 10), (300, 10), (120, 20), (300, 20), (120, 0),
]


def stages_for(duration_s: float) -> list[dict[str, Any]]:
    """The load profile's stages scaled to ``duration_s`` (as summary.json carries them)."""
    scale = duration_s / sum(d for d, _ in LOAD_STAGES)
    out, start, previous = [], 0.0, 0
    for length, target in LOAD_STAGES:
        end = start + length * scale
        out.append({"start_s": round(start, 3), "end_s": round(end, 3), "target": target,
                    "spawn_rate": round(abs(target - previous) / (length * scale), 3) or 1.0})
        start, previous = end, target
    return out


def users_at(t: float, stages: list[dict[str, Any]]) -> int:
    previous = 0
    for s in stages:
        if t < s["end_s"]:
            frac = (t - s["start_s"]) / max(s["end_s"] - s["start_s"], 1e-9)
            return int(round(previous + (s["target"] - previous) * frac))
        previous = s["target"]
    return previous


def make_stats(
    *,
    duration_s: int = 60,
    total_requests: int = 20_000,
    seed: int = 1,
    slow: dict[str, float] | None = None,
    error_rates: dict[str, float] | None = None,
    skip: set[str] | frozenset[str] = frozenset(),
    extra: list[tuple[str, str, float]] = (),
    weights: dict[str, float] | None = None,
    sigma: float = 0.25,
    time_scale: float = 1.0,
) -> tuple[RunStats, list[dict[str, Any]]]:
    """A RunStats filled with lognormal latencies following the load profile's user curve.

    ``slow``: extra ms added to every sample of an endpoint; ``error_rates``: failure probability
    per endpoint (5xx); ``skip``: endpoints not exercised; ``extra``: more (method, name, base_ms);
    ``weights``: relative request share per endpoint (default equal).
    """
    rng = random.Random(seed)
    slow = slow or {}
    error_rates = error_rates or {}
    endpoints = [e for e in [*ENDPOINTS, *extra] if f"{e[0]} {e[1]}" not in skip]
    w = [(weights or {}).get(f"{m} {n}", 1.0) for m, n, _ in endpoints]
    stages = stages_for(duration_s)
    stats = RunStats(history=deque())  # a short run: its whole history in memory, for write_run
    curve = [max(users_at(t + 0.5, stages), 0) for t in range(duration_s)]
    area = sum(curve) or 1
    classes = ("CustomerUser", "OrderUser", "BillingUser")
    for t in range(duration_s):
        now = T0 + t
        stats.record_users(curve[t], now=now)
        n = round(total_requests * curve[t] / area)
        picks = rng.choices(range(len(endpoints)), weights=w, k=n)
        for i in picks:
            method, name, base = endpoints[i]
            key = f"{method} {name}"
            latency = rng.lognormvariate(0.0, sigma) * base + slow.get(key, 0.0)
            failure = "server_error" if rng.random() < error_rates.get(key, 0.002) else None
            stats.record(method, name, latency, failure, user_class=classes[i % 3], now=now + rng.random() * 0.99)
    for t in range(0, duration_s, 30):
        stats.record("AUTH", "/oauth2/token", rng.lognormvariate(0, 0.2) * 15, None, now=T0 + t)
    stats.ended_at = T0 + duration_s
    stats.close_intervals(before=T0 + duration_s + 1)
    return stats, stages


def make_summary(stats: RunStats, stages: list[dict[str, Any]], *, run_id: str = "run-1", profile: str = "load",
                 duration_s: int = 60, **meta: Any) -> dict[str, Any]:
    thresholds = [
        {"metric": "http_req_duration", "expression": "p(95)<500", "scope": None,
         "observed": stats.total.percentile(0.95), "passed": True, "reason": None, "abort_on_fail": False},
        {"metric": "http_req_failed", "expression": "rate<0.05", "scope": None,
         "observed": stats.total.error_rate, "passed": stats.total.error_rate < 0.05,
         "reason": None if stats.total.error_rate < 0.05 else "too many errors", "abort_on_fail": True},
    ]
    defaults: dict[str, Any] = dict(host="http://127.0.0.1:8080", profile_hash="abc123", suite_version="0.1.0",
                                    git_commit="0" * 40, stages=stages, thresholds=thresholds,
                                    cleanup={"deleted": 42, "not_deleted": [
                                        {"resource": "customer", "id": "c-<1>", "reason": "409 Conflict"}]})
    defaults.update(meta)
    return summary_from_stats(stats, run_id=run_id, profile=profile, started_at=T0, ended_at=T0 + duration_s, **defaults)


def make_run_dir(root: Path, run_id: str = "run-1", *, duration_s: int = 60, total_requests: int = 20_000,
                 seed: int = 1, profile: str = "load", summary_meta: dict[str, Any] | None = None,
                 **stats_kwargs: Any) -> Path:
    """Write a complete run directory under ``root/run_id`` with :func:`write_run`."""
    stats, stages = make_stats(duration_s=duration_s, total_requests=total_requests, seed=seed, **stats_kwargs)
    summary = make_summary(stats, stages, run_id=run_id, profile=profile, duration_s=duration_s, **(summary_meta or {}))
    run_dir = root / run_id
    write_run(run_dir, summary, stats.history, stats.users_at, started_at=T0)
    return run_dir
