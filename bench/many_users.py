"""10,000 users on two worker processes against the reference server: memory per user, spawn
accuracy, the master's CPU, the request rate held; and the master's cost to merge worker reports
at 80 endpoints.

    .venv/bin/python bench/many_users.py [--users 10000] [--spawn-rate 200] [--seconds 100]
                                         [--think 60,120] [--processes 2] [--json]

The users are the suite's ``CustomerUser`` (``loadtests/customers.py``: creates, reads, searches,
updates and deletes customers) with a long think time, so that one reference server on this
machine keeps up with 10,000 of them. Each user creates a customer when it starts, so the spawn
rate is also the rate of ``POST /api/v1/customers`` during the ramp: at 500 users/s (and 20-40 s
of think time) this machine's reference server fell behind (p50 17 s, timeouts); at 200/s and
60-120 s it keeps up. Locust runs headless with ``--processes N`` (a master and N workers, not
pinned), the suite's plugin loaded as in a real run.

Measured:
- RSS (``/proc``) of the master and each worker every 0.5 s: before the users spawn, and the
  median over the steady part (every user spawned); memory per user = the workers' growth / users.
- Users against the plan each second: the run's ``history.csv`` (``users`` of the Aggregated row)
  against ``min(users, spawn_rate * t)``.
- The master's CPU (utime + stime) over the steady part, as a share of one core: what merging the
  workers' reports (Locust's and the suite's) and writing history costs at that size.
- The request rate held: requests/s of the steady part against ``users / (mean think + p50)``.
- Merge cost at 80 endpoints (in-process, no network): what ``RunStats.merge_dict`` plus Locust's
  own stats merge cost the master per worker report, for reports built from a realistic spread of
  response times over 80 endpoints.

Nothing here asserts a timing. Keep a run short (the default is 100 s, about 2 minutes with the
start and the end-of-run cleanup) on a shared machine. With 60-120 s of think time a 100 s run
does not reach the steady rate (users spawned late have not finished their first think): the
rate held is printed beside the steady-state estimate, not as a pass mark.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import _harness as h  # noqa: E402

ROOT = BENCH.parent
LOCUSTFILES = f"{ROOT / 'loadtests' / 'customers.py'},{ROOT / 'loadtests' / 'profile_shape.py'}"
SAMPLE_S = 0.5
REPORT_INTERVAL_S = 3.0  # Locust's WORKER_REPORT_INTERVAL


# -- the real run ---------------------------------------------------------------------------------

class ProcessSampler(threading.Thread):
    """RSS and CPU of a Locust master and its worker children, every SAMPLE_S."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[dict] = []
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        master = psutil.Process(self.pid)
        start = time.monotonic()
        while not self.done.is_set():
            try:
                workers = [c for c in master.children() if "locust" in " ".join(c.cmdline()) or c.name() == master.name()]
                row = {"t": time.monotonic() - start, "master_rss": master.memory_info().rss,
                       "master_cpu": sum(master.cpu_times()[:2]),
                       "workers_rss": [w.memory_info().rss for w in workers],
                       "workers_cpu": [sum(w.cpu_times()[:2]) for w in workers]}
                self.samples.append(row)
            except psutil.Error:
                break
            self.done.wait(SAMPLE_S)


def run_locust(host: str, users: int, spawn_rate: float, seconds: float, think: str, processes: int,
               workdir: Path) -> dict:
    report_dir = workdir / "reports"
    run_id = f"many-users-{users}"
    port = h.free_port()
    command = [str(h.VENV_BIN / "locust"), "-f", LOCUSTFILES, "--headless", "-u", str(users), "-r", str(spawn_rate),
               "-t", f"{int(seconds)}s", "--host", host, "--think-time", think, "--report-dir", str(report_dir),
               "--run-id", run_id, "--prometheus-port", "0", "--loglevel", "INFO",
               "--processes", str(processes), "--master-port", str(port), "--master-bind-port", str(port)]
    log = (workdir / "locust.log").open("w")
    started = time.time()
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               env=h.locust_env())
    sampler = ProcessSampler(process.pid)
    sampler.start()
    try:
        process.wait(timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        h.stop(process)
        raise RuntimeError("locust did not end in time; see " + str(workdir / "locust.log")) from None
    finally:
        sampler.done.set()
        sampler.join(5)
        log.close()
    run_dir = report_dir / "runs" / run_id
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        raise RuntimeError("no summary.json:\n" + (workdir / "locust.log").read_text()[-3000:])
    summary = json.loads(summary_path.read_text())
    history = [r for r in csv.DictReader((run_dir / "history.csv").open()) if r["name"] == "Aggregated"]
    lines = (workdir / "locust.log").read_text().splitlines()
    notable = [line for line in lines if "/WARNING/" in line or "/ERROR/" in line or "missing" in line.lower()
               or "heartbeat" in line.lower()]
    return {"summary": summary, "history": history, "samples": sampler.samples, "started": started,
            "exit_code": process.returncode, "log": notable[:15] + (["..."] if len(notable) > 30 else []) + notable[-15:]}


def analyse(run: dict, users: int, spawn_rate: float, think: tuple[float, float]) -> dict:
    summary, history, samples = run["summary"], run["history"], run["samples"]
    # Spawn accuracy: the history's elapsed time starts with the run (test_start).
    plan_end = users / spawn_rate
    rows = [(float(r["elapsed_s"]), int(float(r["users"])), float(r["rps"])) for r in history]
    per_second = [(t, u, min(users, int(spawn_rate * t))) for t, u, _ in rows]
    full_at = next((t for t, u, _ in per_second if u >= users), None)
    ramp = [(t, u, p) for t, u, p in per_second if t <= plan_end + 5]
    shortfall = max((p - u for t, u, p in ramp), default=0)
    steady = [(t, u, rps) for t, u, rps in rows if full_at is not None and t >= full_at + 5 and u >= users]
    steady = steady[:-2]  # the last seconds hold the stop
    rate = statistics.fmean(r for _, _, r in steady) if steady else None
    p50 = summary["totals"]["p50_ms"] or 0.0
    expected = users / (sum(think) / 2 + p50 / 1000.0)

    # Memory and master CPU from the process samples (t is from the start of locust, not of the run).
    def two_workers(s: dict) -> bool:
        return len(s["workers_rss"]) >= 1

    with_workers = [s for s in samples if two_workers(s)]
    idle = with_workers[0] if with_workers else samples[0]
    if full_at is not None:
        # Map run time to sample time: the run starts about when the workers are there.
        t0 = idle["t"]
        window = [s for s in with_workers if t0 + full_at + 5 <= s["t"] <= t0 + (steady[-1][0] if steady else 0)]
    else:
        window = []
    if not window:
        window = with_workers[-4:-1] or samples[-2:]
    mib = 1 / 1048576
    workers_idle = sum(idle["workers_rss"]) * mib
    workers_full = statistics.median(sum(s["workers_rss"]) for s in window) * mib
    master_idle = idle["master_rss"] * mib
    master_full = statistics.median(s["master_rss"] for s in window) * mib
    cpu_wall = window[-1]["t"] - window[0]["t"]
    master_cpu = (window[-1]["master_cpu"] - window[0]["master_cpu"]) / cpu_wall * 100 if cpu_wall > 0 else None
    worker_cpu = ([(b - a) / cpu_wall * 100 for a, b in zip(window[0]["workers_cpu"], window[-1]["workers_cpu"],
                                                             strict=False)] if cpu_wall > 0 else [])
    totals = summary["totals"]
    return {
        "users": users, "spawn_rate": spawn_rate, "planned_full_s": plan_end, "full_at_s": full_at,
        "max_shortfall_users": shortfall,
        "ramp": [(t, u, p) for t, u, p in ramp if int(t) % 5 == 0],
        "rss_mib": {"master_idle": master_idle, "master_full": master_full,
                    "workers_idle": workers_idle, "workers_full": workers_full,
                    "workers": len(idle["workers_rss"])},
        "kib_per_user": (workers_full - workers_idle) * 1024 / users,
        "master_kib_per_user": (master_full - master_idle) * 1024 / users,
        "master_cpu_percent": master_cpu, "worker_cpu_percent": worker_cpu, "cpu_window_s": cpu_wall,
        "rps_held": rate, "rps_expected": expected, "steady_s": len(steady),
        "requests": totals["count"], "failures": totals["failures"], "error_rate": totals["error_rate"],
        "failures_by_class": summary["failures_by_class"],
        "p50_ms": totals["p50_ms"], "p95_ms": totals["p95_ms"], "p99_ms": totals["p99_ms"],
        "failed_endpoints": {f"{r['method']} {r['name']}": r["failures"] for r in summary["requests"] if r["failures"]},
        "generator": summary.get("generator"), "workers": summary.get("workers"), "status": summary["status"],
        "exit_code": run["exit_code"], "partial_reason": summary.get("partial_reason"), "log": run["log"],
    }


# -- merge cost at 80 endpoints (in-process) -------------------------------------------------------

def merge_cost(endpoints: int, rate: float, rounds: int) -> dict:
    """The master's CPU per worker report: the suite's RunStats delta plus Locust's own stats, for a
    report covering REPORT_INTERVAL_S of ``rate`` requests/s spread over ``endpoints`` names."""
    import random

    from gevent import monkey

    monkey.patch_all()
    from locust.event import Events
    from locust.stats import RequestStats, setup_distributed_stats_event_listeners

    from bss_loadtest.core.stats import RunStats

    rng = random.Random(7)
    names = [f"/api/v1/bench{i}/{{id}}" for i in range(endpoints)]
    master_events, worker_events = Events(), Events()
    master_stats, worker_stats = RequestStats(), RequestStats()
    setup_distributed_stats_event_listeners(master_events, master_stats)
    setup_distributed_stats_event_listeners(worker_events, worker_stats)
    master_run = RunStats()
    suite_s, locust_s, sizes = [], [], []
    now = time.time()
    per_report = int(rate * REPORT_INTERVAL_S)
    for round_ in range(rounds):
        worker_run = RunStats()
        for i in range(per_report):
            name = names[i % endpoints]
            rt = rng.lognormvariate(3.7, 0.6)  # median ~40 ms, a long tail
            at = now + round_ * REPORT_INTERVAL_S + i * REPORT_INTERVAL_S / per_report
            worker_run.record("GET", name, rt, None, "CustomerUser", now=at)
            worker_stats.log_request("GET", name, rt, 512)
        delta = worker_run.take_delta()
        data: dict = {}
        worker_events.report_to_master.fire(client_id="w", data=data)
        sizes.append(len(json.dumps(delta)))
        start = time.process_time()
        master_run.merge_dict(delta)
        suite_s.append(time.process_time() - start)
        start = time.process_time()
        master_events.worker_report.fire(client_id="w", data=data)
        locust_s.append(time.process_time() - start)
    suite_ms, locust_ms = statistics.median(suite_s) * 1000, statistics.median(locust_s) * 1000
    return {"endpoints": endpoints, "requests_per_report": per_report, "suite_ms": suite_ms, "locust_ms": locust_ms,
            "delta_kib": statistics.median(sizes) / 1024,
            "percent_of_core_per_worker": (suite_ms + locust_ms) / (REPORT_INTERVAL_S * 1000) * 100}


def merge_cost_subprocess(endpoints: int, rate: float, rounds: int) -> dict:
    """In a fresh interpreter: importing Locust patches the standard library."""
    code = (f"import sys, json; sys.path.insert(0, {str(BENCH)!r}); import many_users; "
            f"print(json.dumps(many_users.merge_cost({endpoints}, {rate}, {rounds})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- output ----------------------------------------------------------------------------------------

def show(result: dict, merge: dict | None) -> None:
    r = result
    print(f"users {r['users']} on {r['rss_mib']['workers']} workers, spawn rate {r['spawn_rate']:g}/s "
          f"(plan: all by {r['planned_full_s']:.0f} s); run {r['status']}, exit code {r['exit_code']}")
    print("spawn: t s / users / planned:  " + "  ".join(f"{t:.0f}/{u}/{p}" for t, u, p in r["ramp"]))
    full = "never" if r["full_at_s"] is None else f"at {r['full_at_s']:.0f} s"
    print(f"  all users {full} (planned {r['planned_full_s']:.0f} s); largest shortfall {r['max_shortfall_users']} users")
    m = r["rss_mib"]
    print(f"memory: workers {m['workers_idle']:.1f} -> {m['workers_full']:.1f} MiB, "
          f"{r['kib_per_user']:.1f} KiB per user; master {m['master_idle']:.1f} -> {m['master_full']:.1f} MiB "
          f"({r['master_kib_per_user']:.2f} KiB per user)")
    cpu = "n/a" if r["master_cpu_percent"] is None else f"{r['master_cpu_percent']:.1f} %"
    workers = ", ".join(f"{c:.0f} %" for c in r["worker_cpu_percent"])
    print(f"CPU over {r['cpu_window_s']:.0f} s at full users: master {cpu} of one core; workers {workers}")
    held = "n/a" if r["rps_held"] is None else f"{r['rps_held']:.0f}"
    print(f"rate held: {held} req/s over {r['steady_s']} s (expected ~{r['rps_expected']:.0f} from think time + p50)")
    print(f"requests {r['requests']}, failures {r['failures']} ({r['error_rate'] * 100:.2f} %): "
          f"{r['failures_by_class'] or '-'}; by endpoint: {r['failed_endpoints'] or '-'}")
    print(f"response times (all): p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms")
    print(f"generator: {r['generator']}; workers: {r['workers']}")
    if r["status"] != "complete" or r["exit_code"]:
        print(f"partial: {r['partial_reason']}; Locust's warnings:")
        for line in r["log"]:
            print("   " + line[:300])
    if merge:
        print(f"merge, {merge['endpoints']} endpoints, {merge['requests_per_report']} requests per report "
              f"({merge['delta_kib']:.0f} KiB delta): suite {merge['suite_ms']:.2f} ms + Locust "
              f"{merge['locust_ms']:.2f} ms per report = {merge['percent_of_core_per_worker']:.2f} % of a core per worker")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--spawn-rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=100.0)
    parser.add_argument("--think", default="60,120", help="think time MIN,MAX in seconds (default 60,120)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--endpoints", type=int, default=80, help="endpoints for the merge cost (default 80)")
    parser.add_argument("--skip-run", action="store_true", help="only the in-process merge cost")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    think = tuple(float(x) for x in args.think.split(","))
    print(f"machine: {h.machine()}", flush=True)
    expected_rate = args.users / statistics.fmean(think)
    merge = merge_cost_subprocess(args.endpoints, expected_rate / max(1, args.processes), 20)
    result = None
    if not args.skip_run:
        from bss_reference.process import ReferenceServer

        with tempfile.TemporaryDirectory(prefix="bench-many-users-") as tmp, ReferenceServer() as server:
            run = run_locust(server.url, args.users, args.spawn_rate, args.seconds, args.think, args.processes,
                             Path(tmp))
            result = analyse(run, args.users, args.spawn_rate, think)
        show(result, merge)
    else:
        show_merge_only = {k: merge[k] for k in merge}
        print(json.dumps(show_merge_only))
    if args.json:
        print(json.dumps({"run": result, "merge": merge}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
