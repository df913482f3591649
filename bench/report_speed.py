"""Time compare + HTML rendering on a synthetic 16-minute *load* run.

The run: the load profile's 960 s (2 m ramp to 10, 5 m at 10, 2 m ramp to 20, 5 m at 20, 2 m to 0),
~16,000 requests over 20 endpoints, recorded into a real RunStats, so history.csv has ~960
seconds × 21 rows. The baseline is a second run (another seed) saved with ``save_baseline``.

The run directories are made in a child process, so the first timed round is cold (pandas,
matplotlib and the suite's modules are imported inside it). Timed (wall clock):
  compare   = run_compare(..., formats=md/html/json/junit)  (load both, compare, four outputs)
  report    = render_run_report(summary, history)            (the run's report.html)
The goal from the issue: compare + HTML < 2 s.

    .venv/bin/python bench/report_speed.py [--requests 16000] [--seconds 960] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
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

    from bss_loadtest.baseline import save_baseline

    base = make_run_dir(root, "baseline-run", duration_s=seconds, total_requests=requests, seed=1)
    make_run_dir(root, "nightly-run", duration_s=seconds, total_requests=requests, seed=2, slow={KEYS[3]: 50.0})
    save_baseline(base, root / "baselines")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=16_000)
    parser.add_argument("--seconds", type=int, default=960)
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions after the first (cold) one")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make(args.make, args.seconds, args.requests)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--make", str(root), "--seconds", str(args.seconds),
                        "--requests", str(args.requests)], check=True)
        setup_s = time.perf_counter() - t
        run = root / "nightly-run"

        timings = []
        imports_s = 0.0
        for i in range(1 + args.repeat):
            t0 = time.perf_counter()
            if i == 0:
                from bss_loadtest.compare import exit_code, run_compare
                from bss_loadtest.report import render_run_report
                from bss_loadtest.results import load_history, load_summary

                imports_s = time.perf_counter() - t0
            comparison, paths = run_compare(run, baselines_root=root / "baselines", out_dir=root / "cmp")
            t1 = time.perf_counter()
            html = render_run_report(load_summary(run), load_history(run))
            t2 = time.perf_counter()
            timings.append((t1 - t0, t2 - t1, t2 - t0))
        history_rows = len(load_history(run))

    print(f"synthetic run: {args.seconds} s, {args.requests:,} requests, 20 endpoints, {history_rows:,} history rows "
          f"(made in {setup_s:.2f} s)")
    print(f"compare exit code {exit_code(comparison)}; regressions: "
          f"{sorted({r.endpoint for r in comparison.regressions})}; report.html {len(html) / 1024:.0f} KiB")
    for i, (c, r, total) in enumerate(timings):
        label = "cold" if i == 0 else f"warm {i}"
        print(f"{label:>6}: compare (4 formats) {c:.3f} s + run report {r:.3f} s = {total:.3f} s")
    print(f"(the cold round includes {imports_s:.3f} s of imports)")
    best = min(t[2] for t in timings[1:]) if len(timings) > 1 else timings[0][2]
    worst = max(t[2] for t in timings)
    verdict = "yes" if worst < GOAL_S else "NO"
    print(f"compare + HTML: best {best:.3f} s, worst {worst:.3f} s; under {GOAL_S:g} s: {verdict}")
    print(f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    return 0 if worst < GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
