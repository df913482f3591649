"""Memory of a run's statistics over a simulated day: growth per simulated hour at 80 endpoints.

Drives the suite's own ``RunStats`` with synthetic time, as the master's sampling loop does: each
simulated second, ``--rate`` requests per endpoint (lognormal latencies, 0.2 % failures), the
user count sampled, and the intervals older than the open window closed into history rows that
go to a real ``HistoryWriter`` (history.csv in a temporary directory, flushed per interval). At
the end of every simulated hour it records the process's resident memory (``/proc/self/statm``,
after a ``gc.collect()``) and, with ``--tracemalloc``, the bytes Python has allocated (slower).
Goal from issue 16: at most 5 MiB per simulated hour after the first.

    .venv/bin/python bench/memory_growth.py [--hours 24] [--endpoints 80] [--rate 1] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

GOAL_MIB_PER_HOUR = 5.0
T0 = 1_764_000_000


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--endpoints", type=int, default=80)
    parser.add_argument("--rate", type=int, default=1, help="requests per endpoint per simulated second")
    parser.add_argument("--tracemalloc", action="store_true", help="also count Python's allocations (slower)")
    args = parser.parse_args()

    from bss_loadtest.core.stats import HISTORY_OPEN_INTERVALS_S, RunStats
    from bss_loadtest.reports.results import HistoryWriter

    rng = random.Random(1)
    endpoints = [("GET" if i % 3 else "POST", f"/api/v1/domain{i % 8}/{{id}}/part{i}", 10.0 + i % 40)
                 for i in range(args.endpoints)]
    latencies = [[rng.lognormvariate(0.0, 0.3) * base for _ in range(997)] for _, _, base in endpoints]
    if args.tracemalloc:
        tracemalloc.start()
    rss, traced, started = [rss_mib()], [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        stats = RunStats()
        writer = stats.history_sink = HistoryWriter(Path(tmp) / "history.csv", started_at=T0)
        n = 0
        for hour in range(args.hours):
            for second in range(hour * 3600, (hour + 1) * 3600):
                now = T0 + second
                stats.record_users(200 + second % 11, now=now)
                for i, (method, name, _) in enumerate(endpoints):
                    for _ in range(args.rate):
                        n += 1
                        stats.record(method, name, latencies[i][n % 997], "server_error" if n % 500 == 0 else None,
                                     "CustomerUser", now + (n % 10) / 10)
                stats.close_intervals(before=now - HISTORY_OPEN_INTERVALS_S)
            gc.collect()
            rss.append(rss_mib())
            if args.tracemalloc:
                traced.append(tracemalloc.get_traced_memory()[0] / 2**20)
            print(f"  hour {hour + 1:2d}: RSS {rss[-1]:7.1f} MiB"
                  + (f", traced {traced[-1]:6.1f} MiB" if traced else "")
                  + f", {writer.rows_written:,} rows on disk, {time.perf_counter() - started:6.0f} s", flush=True)
        stats.close_intervals(before=1e12)
        writer.close()
        size_mib = writer.path.stat().st_size / 2**20
        elapsed = time.perf_counter() - started
    per_hour = [(b - a) for a, b in zip(rss[1:], rss[2:], strict=False)]
    worst = max(per_hour) if per_hour else 0.0
    mean = (rss[-1] - rss[1]) / max(len(rss) - 2, 1)
    print(f"{args.hours} simulated hours, {args.endpoints} endpoints, {n:,} requests, {writer.rows_written:,} history "
          f"rows ({size_mib:,.0f} MiB on disk) in {elapsed:.0f} s")
    print(f"RSS after hour 1: {rss[1]:.1f} MiB, at the end: {rss[-1]:.1f} MiB; growth per hour after the first: "
          f"mean {mean:.2f} MiB, worst {worst:.2f} MiB (goal: at most {GOAL_MIB_PER_HOUR:g})")
    if traced:
        t_growth = [(b - a) for a, b in zip(traced, traced[1:], strict=False)]
        print(f"traced: after hour 1 {traced[0]:.2f} MiB, at the end {traced[-1]:.2f} MiB, worst hour after the "
              f"first {max(t_growth) if t_growth else 0:.3f} MiB")
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.2f}, Python {platform.python_version()}")
    return 0 if worst <= GOAL_MIB_PER_HOUR else 1


if __name__ == "__main__":
    sys.exit(main())
