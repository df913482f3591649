"""Time compare + HTML rendering on a synthetic 16-minute *load* run, or (``--long``) a 24-hour run.

The run: the load profile's 960 s (2 m ramp to 10, 5 m at 10, 2 m ramp to 20, 5 m at 20, 2 m to 0),
~16,000 requests over 20 endpoints, recorded into a real RunStats and written with write_run, so
history.csv holds up to 960 seconds × 21 rows (fewer where an endpoint got no request in a
second). The baseline is a second run (another seed, one endpoint +50 ms) saved with save_baseline.

Timed, in one process that does both, as a caller rendering the run's report and its compare does:
  start   = load_summary(run) + prefetch_aggregated_series(run): history.csv scanned once, for
            both, in a thread while the baselines are read and matplotlib is imported
  compare = run_compare(..., run_summary=, run_series=) writing md, html, json and junit (its
            latency chart waits for the scan)
  report  = render_run_report(summary, series)  (the run's report.html, as write_run renders it)
  total   = from the first import of the suite (pandas, matplotlib, pydantic models inside) to the end;
  process = the child's wall clock from spawn to exit (interpreter start-up too); peak RSS is its
            ru_maxrss (os.wait4), the whole child.
``bss-loadtest compare`` itself (the CLI in a fresh process: scan, compare, four formats) is timed
too, as ``cli compare``.

*Fresh* rounds: a fresh process each, the page cache as the previous round left it (warm: the
nightly job's usual case, history.csv just written by the run).
*Cold* rounds: each a fresh process, and before each the OS page cache is dropped
(``sync; echo 3 > /proc/sys/vm/drop_caches``, as root), so history.csv, the baselines and the
venv's modules come from disk. Without root the run's files and the venv's files are evicted one by
one with ``posix_fadvise(POSIX_FADV_DONTNEED)`` instead (the script says which). *Warm* rounds
repeat in one process (the first of them, which imports, is not counted). The verdict uses the
median cold round for ``--long`` (issue 16's goal) and the median fresh round for the 16-minute run
(its goal was set for a fresh process, the page cache warm).

``--long``: the extreme-soak profile's 24 hours at 80 endpoints (``--hours``, ``--endpoints``),
history.csv streamed as a run writes it (86,400 × 81 rows, about 590 MiB), baseline likewise
(about 6 MB of JSON). The report reads only its Aggregated rows and draws 2,000 buckets per
series. Goal from issue 16: compare + report.html under 5 s and 500 MiB (cold, one process).
``--data DIR`` keeps the synthetic runs in DIR (made there once: the 24-hour pair takes about
5 minutes) instead of a temporary directory.

    .venv/bin/python bench/report_speed.py [--requests 16000] [--seconds 960] [--cold 5] [--warm 3]
    .venv/bin/python bench/report_speed.py --long [--hours 24] [--endpoints 80] [--cold 3] [--warm 1] [--data DIR]
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
LONG_GOAL_S = 5.0
LONG_GOAL_MIB = 500
DROP_CACHES = Path("/proc/sys/vm/drop_caches")


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
    import resource

    out = []
    run = root / "nightly-run"
    for _ in range(rounds):
        t0 = time.perf_counter()
        # As bss-loadtest compare does before its imports: the kernel reads history.csv meanwhile.
        from bss_loadtest.core.files import read_ahead

        read_ahead(run / "history.csv")
        from bss_loadtest.reports.compare import exit_code, run_compare
        from bss_loadtest.reports.report import render_run_report
        from bss_loadtest.reports.results import load_summary, prefetch_aggregated_series

        t1 = time.perf_counter()
        summary = load_summary(run)
        series = prefetch_aggregated_series(run)  # one scan of history.csv for both, in a thread from here
        t2 = time.perf_counter()
        comparison, _ = run_compare(run, baselines_root=root / "baselines", out_dir=root / f"cmp{os.getpid()}",
                                    run_summary=summary, run_series=series)
        t3 = time.perf_counter()
        html = render_run_report(summary, series())
        t4 = time.perf_counter()
        out.append({"imports": t1 - t0, "scan": t2 - t1, "compare": t3 - t2, "report": t4 - t3, "total": t4 - t0,
                    "exit_code": exit_code(comparison), "regressions": sorted({r.endpoint for r in comparison.regressions}),
                    "html_kib": len(html) / 1024, "pandas": "pandas" in sys.modules,
                    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    return out


def _venv_files() -> list[Path]:
    prefix = Path(sys.prefix)
    return [p for p in prefix.rglob("*") if p.is_file() and not p.is_symlink()]


def evict(root: Path) -> str:
    """Empty the OS page cache (root), or evict the data's and the venv's files from it; say which."""
    os.sync()
    try:
        DROP_CACHES.write_text("3\n")
        return "page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches)"
    except OSError:
        pass
    from bss_loadtest.core.files import advise_page_cache

    files = [p for p in root.rglob("*") if p.is_file()] + _venv_files()
    for path in files:
        advise_page_cache(path, "DONTNEED")
    return (f"not root: the page cache was not dropped; {len(files):,} files (the runs, the baselines, the venv) "
            "evicted with posix_fadvise(DONTNEED); the interpreter's standard library may still be cached")


def child(command: list[str]) -> tuple[str, float, float, float]:
    """Run ``command``; its stdout, wall seconds from spawn to exit, peak RSS (MiB) and CPU seconds
    (user + system, all its threads), the last two from os.wait4. On this shared machine the CPU
    time moves less with the other jobs than the wall clock does."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - t
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read().decode() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        out.seek(0)
        text = out.read().decode()
    if process.returncode not in (0, 1):  # 1: compare found the regression it should
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{stderr}")
    return text, wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=16_000)
    parser.add_argument("--seconds", type=int, default=960)
    parser.add_argument("--cold", type=int, default=5, help="cold rounds, each in a fresh process, page cache dropped")
    parser.add_argument("--fresh", type=int, default=None,
                        help="rounds in a fresh process with the page cache left warm (default: as many as --cold)")
    parser.add_argument("--warm", type=int, default=3, help="warm rounds in one process")
    parser.add_argument("--long", action="store_true", help="a 24-hour run at 80 endpoints (see above)")
    parser.add_argument("--hours", type=float, default=24, help="with --long: the run's length")
    parser.add_argument("--endpoints", type=int, default=80, help="with --long: endpoints")
    parser.add_argument("--data", type=Path, default=None, help="keep (or reuse) the synthetic runs in this directory")
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

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp)
        made_s = None
        if not (root / "nightly-run" / "summary.json").exists() or not (root / "baselines").is_dir():
            root.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            child([sys.executable, __file__, "--make", str(root), "--seconds", str(args.seconds), "--requests",
                   str(args.requests), "--hours", str(hours), "--endpoints", str(args.endpoints),
                   *(["--long"] if args.long else [])])
            made_s = time.perf_counter() - t
        history = root / "nightly-run" / "history.csv"
        with history.open("rb") as handle:
            history_rows = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) - 1
        history_mib = history.stat().st_size / 2**20
        cold, cli, how = [], [], ""
        for _ in range(args.cold):
            how = evict(root)
            text, wall, peak, cpu = child([sys.executable, __file__, "--time", str(root)])
            cold.append({**json.loads(text)[0], "process": wall, "peak_mib": peak, "cpu": cpu})
        for _ in range(max(1, args.cold // 2)):
            how = evict(root)
            _, wall, peak, cpu = child([sys.executable, "-m", "bss_loadtest.cli", "compare", str(root / "nightly-run"),
                                        "--report-dir", str(root), "--out", str(root / "cli-compare")])
            cli.append({"process": wall, "peak_mib": peak, "cpu": cpu})
        fresh = []
        for _ in range(args.fresh if args.fresh is not None else args.cold):  # the page cache as the last round left it
            text, wall, peak, cpu = child([sys.executable, __file__, "--time", str(root)])
            fresh.append({**json.loads(text)[0], "process": wall, "peak_mib": peak, "cpu": cpu})
        text, wall, peak, _ = child([sys.executable, __file__, "--time", str(root), "--rounds", str(1 + args.warm)])
        warm = [{**r, "peak_mib": peak} for r in json.loads(text)[1:]]

    first = cold[0]
    what = (f"{hours:g} h, {args.endpoints} endpoints" if args.long
            else f"{args.seconds} s, {args.requests:,} requests, 20 endpoints")
    made = f" (made in {made_s:.1f} s)" if made_s is not None else f" (in {root})"
    print(f"synthetic run: {what}, {history_rows:,} history rows, history.csv {history_mib:,.0f} MiB{made}")
    print(f"compare exit code {first['exit_code']}; regressions {first['regressions']}; report.html "
          f"{first['html_kib']:.0f} KiB; pandas imported: {'yes' if first['pandas'] else 'no'}")
    print(f"cold: {how}")
    for label, rounds in (("cold", cold), ("fresh", fresh), ("warm", warm)):
        for r in rounds:
            process = f", process {r['process']:.3f} s ({r['cpu']:.2f} s CPU)" if "process" in r else ""
            print(f"  {label}: imports {r['imports']:.3f} + start {r['scan']:.3f} + compare (4 formats) {r['compare']:.3f}"
                  f" + run report {r['report']:.3f} = {r['total']:.3f} s{process}, peak RSS {r['peak_mib']:.0f} MiB")
    for r in cli:
        print(f"  cold: cli compare (bss-loadtest compare, 4 formats): process {r['process']:.3f} s ({r['cpu']:.2f} s CPU), "
              f"peak RSS {r['peak_mib']:.0f} MiB")
    cold_median = statistics.median(r["total"] for r in cold)
    process_median = statistics.median(r["process"] for r in cold)
    cold_worst = max(r["total"] for r in cold)
    cpu_median = statistics.median(r["cpu"] for r in cold)
    warm_median = statistics.median(r["total"] for r in warm) if warm else float("nan")
    fresh_median = statistics.median(r["total"] for r in fresh) if fresh else float("nan")
    peak = max(r["peak_mib"] for r in cold)
    goal_s = LONG_GOAL_S if args.long else GOAL_S
    # Each goal as its issue defined it: the 16-minute run's 2 s for a fresh process (the nightly
    # job's case, its files just written), issue 16's 5 s with the page cache dropped.
    judged = cold_median if args.long or not fresh else fresh_median
    ok = judged < goal_s and (peak < LONG_GOAL_MIB or not args.long)
    print(f"compare + HTML: cold median {cold_median:.3f} s (worst {cold_worst:.3f} s; "
          f"whole process {process_median:.3f} s, {cpu_median:.2f} s CPU), "
          f"fresh process with the page cache warm {fresh_median:.3f} s, warm median {warm_median:.3f} s; "
          f"peak RSS {peak:.0f} MiB; {'cold' if args.long or not fresh else 'fresh'} median under {goal_s:g} s"
          f"{f' and {LONG_GOAL_MIB} MiB' if args.long else ''}: {'yes' if ok else 'NO'}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
          f" (1/5/15 min, other jobs included), Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
