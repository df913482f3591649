"""Time compare + HTML rendering on a synthetic 16-minute *load* run, or (``--long``) a 24-hour run.

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

``--long``: the extreme-soak profile's 24 hours at 80 endpoints (``--hours``, ``--endpoints``),
history.csv streamed as a run writes it (86,400 × 81 rows, about 500 MB), baseline likewise. The
report reads only its Aggregated rows and draws 2,000 buckets per series. Goal from issue 16:
compare + report.html under 5 s and 500 MiB (peak RSS of the process that does both, cold).

    .venv/bin/python bench/report_speed.py [--requests 16000] [--seconds 960] [--cold 5] [--warm 3]
    .venv/bin/python bench/report_speed.py --long [--hours 24] [--endpoints 80] [--cold 3] [--warm 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
LONG_GOAL_S = 5.0
LONG_GOAL_MIB = 500


def make(root: Path, seconds: int, requests: int, *, hours: float = 0, endpoints: int = 80) -> None:
    from synthetic import KEYS, make_long_run_dir, make_run_dir

    from bss_loadtest.reports.baseline import save_baseline

    if hours:
        base = make_long_run_dir(root, "baseline-run", hours=hours, endpoints=endpoints, seed=1)
        make_long_run_dir(root, "nightly-run", hours=hours, endpoints=endpoints, seed=2, slow={KEYS[3]: 50.0})
    else:
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
        from bss_loadtest.reports.results import load_aggregated_history, load_summary

        comparison, _ = run_compare(root / "nightly-run", baselines_root=root / "baselines", out_dir=root / f"cmp{os.getpid()}")
        t1 = time.perf_counter()
        # As write_run renders it: only the Aggregated rows are read.
        html = render_run_report(load_summary(root / "nightly-run"), load_aggregated_history(root / "nightly-run"))
        t2 = time.perf_counter()
        out.append({"compare": t1 - t0, "report": t2 - t1, "total": t2 - t0, "exit_code": exit_code(comparison),
                    "regressions": sorted({r.endpoint for r in comparison.regressions}), "html_kib": len(html) / 1024,
                    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=16_000)
    parser.add_argument("--seconds", type=int, default=960)
    parser.add_argument("--cold", type=int, default=5, help="cold rounds, each in a fresh process")
    parser.add_argument("--warm", type=int, default=3, help="warm rounds in one process")
    parser.add_argument("--long", action="store_true", help="a 24-hour run at 80 endpoints (see above)")
    parser.add_argument("--hours", type=float, default=24, help="with --long: the run's length")
    parser.add_argument("--endpoints", type=int, default=80, help="with --long: endpoints")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--time", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    hours = args.hours if args.long else 0
    if args.make:
        make(args.make, args.seconds, args.requests, hours=hours, endpoints=args.endpoints)
        return 0
    if args.time:
        print(json.dumps(timed_rounds(args.time, args.rounds)))
        return 0

    def child(*extra: str) -> str:
        return subprocess.run([sys.executable, __file__, *extra], check=True, capture_output=True, text=True).stdout

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        child("--make", str(root), "--seconds", str(args.seconds), "--requests", str(args.requests),
              "--hours", str(hours), "--endpoints", str(args.endpoints), *(["--long"] if args.long else []))
        made_s = time.perf_counter() - t
        history = root / "nightly-run" / "history.csv"
        with history.open("rb") as handle:
            history_rows = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) - 1
        history_mib = history.stat().st_size / 2**20
        cold = [json.loads(child("--time", str(root)))[0] for _ in range(args.cold)]
        warm = json.loads(child("--time", str(root), "--rounds", str(1 + args.warm)))[1:]

    first = cold[0]
    what = (f"{hours:g} h, {args.endpoints} endpoints" if args.long
            else f"{args.seconds} s, {args.requests:,} requests, 20 endpoints")
    print(f"synthetic run: {what}, {history_rows:,} history rows, history.csv {history_mib:,.0f} MiB "
          f"(made in {made_s:.1f} s)")
    print(f"compare exit code {first['exit_code']}; regressions {first['regressions']}; report.html {first['html_kib']:.0f} KiB")
    for label, rounds in (("cold", cold), ("warm", warm)):
        for r in rounds:
            print(f"  {label}: compare (4 formats) {r['compare']:.3f} s + run report {r['report']:.3f} s = {r['total']:.3f} s"
                  f", peak RSS {r['peak_mib']:.0f} MiB")
    cold_median = statistics.median(r["total"] for r in cold)
    cold_worst = max(r["total"] for r in cold)
    warm_median = statistics.median(r["total"] for r in warm) if warm else float("nan")
    peak = max(r["peak_mib"] for r in cold)
    goal_s = LONG_GOAL_S if args.long else GOAL_S
    ok = cold_median < goal_s and (peak < LONG_GOAL_MIB or not args.long)
    print(f"compare + HTML: cold median {cold_median:.3f} s (worst {cold_worst:.3f} s), warm median {warm_median:.3f} s; "
          f"peak RSS {peak:.0f} MiB; under {goal_s:g} s{f' and {LONG_GOAL_MIB} MiB' if args.long else ''}: "
          f"{'yes' if ok else 'NO'}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.2f}, Python {platform.python_version()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
