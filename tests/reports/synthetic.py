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


def stages_for(duration_s: float, profile_stages: list[tuple[int, int]] = LOAD_STAGES) -> list[dict[str, Any]]:
    """A profile's stages (default: load's) scaled to ``duration_s`` (as summary.json carries them)."""
    scale = duration_s / sum(d for d, _ in profile_stages)
    out, start, previous = [], 0.0, 0
    for length, target in profile_stages:
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


EXTREME_SOAK_STAGES = [(3600, 100), (14400, 200), (28800, 300), (7200, 500), (14400, 300), (14400, 200), (3600, 100)]


def long_endpoints(n: int) -> list[tuple[str, str, float]]:
    """``n`` endpoints: the 20 above, then more of the same domains (``.../v2``, ``.../v3``...)."""
    return [(m, name if i < len(ENDPOINTS) else f"{name}/v{i // len(ENDPOINTS) + 1}", base)
            for i, (m, name, base) in ((i, ENDPOINTS[i % len(ENDPOINTS)]) for i in range(n))]


def make_long_run_dir(root: Path, run_id: str = "long-run", *, hours: float = 24, endpoints: int = 80, seed: int = 1,
                      slow: dict[str, float] | None = None, profile: str = "extreme-soak") -> Path:
    """A run directory of a long run (default: the extreme-soak profile's 24 h at 80 endpoints),
    its history.csv streamed through :class:`HistoryWriter` as the plugin writes it, one row per
    endpoint per second (86,400 × 81 rows, about 500 MB, for a day). The summary comes from a
    RunStats with a few hundred samples per endpoint spread over the run (its numbers are real
    statistics of those samples; the per-second rows are drawn from the same latencies)."""
    import numpy as np

    from bss_loadtest.core.stats import HistoryRow
    from bss_loadtest.reports.results import HistoryWriter

    duration_s = int(hours * 3600)
    stages = stages_for(duration_s, EXTREME_SOAK_STAGES)
    table = long_endpoints(endpoints)
    slow = slow or {}
    rng = random.Random(seed)
    stats = RunStats()
    for t in range(0, duration_s, max(1, duration_s // 400)):
        for method, name, base in table:
            latency = rng.lognormvariate(0.0, 0.25) * base + slow.get(f"{method} {name}", 0.0)
            stats.record(method, name, latency, "server_error" if rng.random() < 0.002 else None, "CustomerUser",
                         T0 + t + rng.random())
    stats.ended_at = T0 + duration_s

    run_dir = root / run_id
    noise = np.random.default_rng(seed).lognormal(0.0, 0.2, size=(3607, len(table))).tolist()
    curve = [users_at(t + 0.5, stages) for t in range(duration_s)]
    extra = [slow.get(f"{method} {name}", 0.0) for method, name, _ in table]
    with HistoryWriter(run_dir / "history.csv", started_at=T0) as writer:
        for t in range(duration_s):
            users, wobble, second, requests = curve[t], noise[t % 3607], int(T0) + t, 1 + curve[t] // 100
            rows = []
            for i, (method, name, base) in enumerate(table):
                p50 = round(base * wobble[i] + extra[i], 2)
                rows.append(HistoryRow(second, method, name, requests, 0, p50, round(p50 * 1.8, 2),
                                       round(p50 * 2.6, 2), round(p50 * 3.1, 2), users))
            rows.append(HistoryRow(int(T0) + t, "", "Aggregated", sum(r.requests for r in rows), 0,
                                   rows[0].p50_ms, rows[0].p95_ms, rows[0].p99_ms, max(r.max_ms for r in rows), users))
            writer(rows)
    summary = make_summary(stats, stages, run_id=run_id, profile=profile, duration_s=duration_s,
                           thresholds=[], cleanup=None)
    write_run(run_dir, summary, started_at=T0)
    return run_dir
