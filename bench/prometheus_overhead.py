"""Cost of the Prometheus export: nothing on the request path, a bounded cost per scrape.

    .venv/bin/python bench/prometheus_overhead.py [--records 1500000] [--scrapes 50]

1. ``RunStats.record`` timed alone, then while a thread scrapes the registry at 1 Hz (as Prometheus
   does, only faster than its usual 15 s), interleaved in rounds to even out machine noise.
   The collector is not on the record path, so the two should differ only by noise.
2. One scrape (``generate_latest``) of 20 endpoints x 1000 distinct fine buckets each, and the
   same re-bucketing done naively with ``Histogram.count_at_or_below`` per bound, for comparison.

Prints figures; asserts nothing (see tests/prometheus for correctness).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from prometheus_client import generate_latest  # noqa: E402

from bss_loadtest.core.stats import RunStats, bucket_key  # noqa: E402
from bss_loadtest.run import prometheus as prom  # noqa: E402

ENDPOINTS = 20
BUCKETS_PER_ENDPOINT = 1000


class State:
    def __init__(self, stats: RunStats) -> None:
        self.stats = stats

    def user_count(self) -> int:
        return 50

    def threshold_results(self) -> list:
        return []

    def run_info(self) -> dict:
        return {"run_id": "bench", "profile": "load", "host": "http://127.0.0.1:8080"}


def samples(n: int, seed: int = 1) -> list[tuple[str, float, str | None]]:
    rng = random.Random(seed)
    return [
        (f"/api/v1/endpoint{i % ENDPOINTS}/{{id}}", rng.lognormvariate(4.5, 0.9), "server_error" if rng.random() < 0.02 else None)
        for i in range(n)
    ]


def time_records(stats: RunStats, batch: list[tuple[str, float, str | None]]) -> float:
    """Seconds per record call."""
    record = stats.record
    now = time.time()
    started = time.perf_counter()
    for name, ms, failure in batch:
        record("GET", name, ms, failure, "BenchUser", now)
    return (time.perf_counter() - started) / len(batch)


def record_path(records: int, rounds: int = 6) -> tuple[list[float], list[float], int]:
    batch = samples(records // rounds)
    time_records(RunStats(), batch[:20_000])  # warm-up
    alone: list[float] = []
    scraped: list[float] = []
    scrapes = 0
    for _ in range(rounds):
        # alone
        stats = RunStats()
        alone.append(time_records(stats, batch))
        # with a 1 Hz scraper on the same stats
        stats = RunStats()
        registry = prom.build_registry(State(stats))
        stop = threading.Event()

        def scraper(stop: threading.Event = stop, registry=registry) -> None:
            nonlocal scrapes
            while not stop.wait(1.0):
                generate_latest(registry)
                scrapes += 1

        thread = threading.Thread(target=scraper, daemon=True)
        thread.start()
        generate_latest(registry)  # one scrape up front, whatever the batch's duration
        scrapes += 1
        scraped.append(time_records(stats, batch))
        stop.set()
        thread.join()
    return alone, scraped, scrapes


def distinct_bucket_values(n: int) -> list[float]:
    """``n`` response times (ms) that fall into ``n`` distinct fine buckets, 1 ms to a few seconds."""
    values: list[float] = []
    seen: set[int] = set()
    ms = 1.0
    while len(values) < n:
        key = bucket_key(ms)
        if key not in seen:
            seen.add(key)
            values.append(ms)
        ms *= 1.004
    return values


def wide_stats() -> RunStats:
    """20 endpoints, each with exactly 1000 distinct fine buckets."""
    stats = RunStats()
    values = distinct_bucket_values(BUCKETS_PER_ENDPOINT)
    for e in range(ENDPOINTS):
        name = f"/api/v1/endpoint{e}/{{id}}"
        for ms in values:
            stats.record("GET", name, ms, None, "BenchUser", 1_700_000_000.0)
    for aggregate in stats.endpoints.values():
        assert len(aggregate.histogram.buckets) == BUCKETS_PER_ENDPOINT
    return stats


def scrape_cost(scrapes: int) -> tuple[float, float, int, int]:
    stats = wide_stats()
    registry = prom.build_registry(State(stats))
    generate_latest(registry)
    times = []
    for _ in range(scrapes):
        started = time.perf_counter()
        body = generate_latest(registry)
        times.append(time.perf_counter() - started)
    bounds_ms = [b * 1000 for b in prom.DURATION_BUCKETS_S]
    naive = []
    for _ in range(max(5, scrapes // 5)):
        started = time.perf_counter()
        for aggregate in stats.endpoints.values():
            [aggregate.histogram.count_at_or_below(b) for b in bounds_ms]
        naive.append(time.perf_counter() - started)
    distinct = sum(len(a.histogram.buckets) for a in stats.endpoints.values())
    return statistics.median(times), statistics.median(naive), len(body), distinct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_500_000)
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()} {platform.processor() or ''}".rstrip())
    alone, scraped, n_scrapes = record_path(args.records)
    print(f"record path (RunStats.record, {ENDPOINTS} endpoints, {len(alone)} interleaved rounds of "
          f"{args.records // len(alone)} records each)")
    for label, runs in (("alone", alone), ("with a 1 Hz scraper", scraped)):
        print(f"  {label + ':':<22} min {min(runs) * 1e6:6.3f} us/record, median {statistics.median(runs) * 1e6:6.3f}")
    print(f"  ratio scraped/alone:   min {min(scraped) / min(alone):.3f}, "
          f"median {statistics.median(scraped) / statistics.median(alone):.3f}  ({n_scrapes} scrapes during the rounds)")
    scrape, naive, size, distinct = scrape_cost(args.scrapes)
    print(f"one scrape: {ENDPOINTS} endpoints x {BUCKETS_PER_ENDPOINT} fine buckets ({distinct} in all), "
          f"{len(prom.DURATION_BUCKETS_S) + 1} le buckets")
    print(f"  generate_latest:            {scrape * 1e3:7.2f} ms  ({size / 1024:.0f} KiB of text)")
    print(f"  re-bucketing via count_at_or_below per bound (naive, for comparison): {naive * 1e3:.2f} ms")
    print(f"  at a 1 s scrape interval:   {scrape * 100:.2f} % of one core; at 15 s: {scrape * 100 / 15:.3f} %")


if __name__ == "__main__":
    main()
