"""Time compare + HTML rendering on a synthetic 16-minute *load* run.

The run: the load profile's 960 s (2 m ramp to 10, 5 m at 10, 2 m ramp to 20, 5 m at 20, 2 m to 0),
~16,000 requests over 20 endpoints, recorded into a real RunStats and written with write_run, so
history.csv holds up to 960 seconds × 21 rows (fewer where an endpoint got no request in a
second). The baseline is a second run (another seed, one endpoint +50 ms) saved with save_baseline.

Timed, wall clock:
  compare = run_compare(...) writing md, html, json and junit (load both, compare, render four)
  report  = render_run_report(load_summary(run), load_history(run))   (the run's report.html)
*Cold* rounds run in fresh processes (the nightly job's case: pandas and matplotlib are imported
inside the timed part); *warm* rounds repeat in one process. Goal from the issue: compare + HTML
under 2 s. The verdict uses the median cold round.

    .venv/bin/python bench/report_speed.py [--requests 16000] [--seconds 960] [--cold 5] [--warm 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reports"))
sys.path.insert(0, str(ROOT / "src"))

GOAL_S = 2.0


def make(root: Path, seconds: int, requests: int) -> None:
    from synthetic import KEYS, make_run_dir

    from bss_loadtest.reports.baseline import save_baseline

    base = make_run_dir(root, "baseline-run", duration_s=seconds, total_requests=requests, seed=1)
    make_run_dir(root, "nightly-run", duration_s=seconds, total_requests=requests, seed=2, slow={KEYS[3]: 50.0})
    save_baseline(base, root / "baselines")


def timed_rounds(root: Path, rounds: int) -> list[dict]:
    """``rounds`` rounds of compare + report in this process; the first is cold if nothing was imported."""
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        from bss_loadtest.reports.compare import exit_code, run_compare
        from bss_loadtest.reports.report import render_run_report
        from bss_loadtest.reports.results import load_history, load_summary

        comparison, _ = run_compare(root / "nightly-run", baselines_root=root / "baselines", out_dir=root / f"cmp{os.getpid()}")
        t1 = time.perf_counter()
        html = render_run_report(load_summary(root / "nightly-run"), load_history(root / "nightly-run"))
        t2 = time.perf_counter()
        out.append({"compare": t1 - t0, "report": t2 - t1, "total": t2 - t0, "exit_code": exit_code(comparison),
                    "regressions": sorted({r.endpoint for r in comparison.regressions}), "html_kib": len(html) / 1024,
                    "history_rows": len(load_history(root / "nightly-run"))})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=16_000)
    parser.add_argument("--seconds", type=int, default=960)
    parser.add_argument("--cold", type=int, default=5, help="cold rounds, each in a fresh process")
    parser.add_argument("--warm", type=int, default=3, help="warm rounds in one process")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--time", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make(args.make, args.seconds, args.requests)
        return 0
    if args.time:
        print(json.dumps(timed_rounds(args.time, args.rounds)))
        return 0

    def child(*extra: str) -> str:
        return subprocess.run([sys.executable, __file__, *extra], check=True, capture_output=True, text=True).stdout

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        child("--make", str(root), "--seconds", str(args.seconds), "--requests", str(args.requests))
        made_s = time.perf_counter() - t
        cold = [json.loads(child("--time", str(root)))[0] for _ in range(args.cold)]
        warm = json.loads(child("--time", str(root), "--rounds", str(1 + args.warm)))[1:]

    first = cold[0]
    print(f"synthetic run: {args.seconds} s, {args.requests:,} requests, 20 endpoints, "
          f"{first['history_rows']:,} history rows (made in {made_s:.1f} s)")
    print(f"compare exit code {first['exit_code']}; regressions {first['regressions']}; report.html {first['html_kib']:.0f} KiB")
    for label, rounds in (("cold", cold), ("warm", warm)):
        for r in rounds:
            print(f"  {label}: compare (4 formats) {r['compare']:.3f} s + run report {r['report']:.3f} s = {r['total']:.3f} s")
    cold_median = statistics.median(r["total"] for r in cold)
    cold_worst = max(r["total"] for r in cold)
    warm_median = statistics.median(r["total"] for r in warm) if warm else float("nan")
    ok = cold_median < GOAL_S
    print(f"compare + HTML: cold median {cold_median:.3f} s (worst {cold_worst:.3f} s), warm median {warm_median:.3f} s; "
          f"under {GOAL_S:g} s: {'yes' if ok else 'NO'}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.2f}, Python {platform.python_version()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
