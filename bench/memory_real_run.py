"""Memory over a real run: the resident memory of Locust and of the reference server, every 30 s.

    .venv/bin/python bench/memory_real_run.py [--minutes 30] [--users 40] [--processes 0|2]
                                              [--sample 30] [--warmup 5] [--keep DIR]

Starts the reference server (``bss_reference.process.ReferenceServer``: loopback, in-memory
SQLite, pinned to core 0 with ``taskset`` when the machine has two cores), writes a profile to a
temporary directory (the ``load`` mix with ``soak``'s think time, 1-3 s; 1 minute ramp to ``--users``, then
held to the end of ``--minutes``) and runs the suite for real against it::

    python -m locust -f loadtests --headless --profile <tmp>/memory-real-run.yaml --host <server> ...

(pinned to core 1 when there is one; ``--processes 2`` runs a master and two workers). At 40 users
this is about 50 requests/s (with 0.5-2 s, 90/s), which one reference server core serves without saturating.

Every ``--sample`` seconds it reads ``VmRSS`` from ``/proc/<pid>/status`` of the Locust process
(the master), of each of its worker children (found by their parent PID in ``/proc/*/stat``) and
of the server, and the requests so far from the run's own ``/metrics`` (the suite's Prometheus
endpoint, ``bss_loadtest_requests_total``). It prints the table, then the growth per 10 minutes
after the warm-up (``--warmup`` minutes: a least-squares slope over the samples after it), per
process, and a verdict against issue 16's goal (at most 5 MiB per hour of the suite's own state,
as ``bench/memory_growth.py`` measures it over simulated time). The server's growth is reported
beside it, not judged: its in-memory SQLite database grows with the customers, orders, invoices ...
the load creates (the suite deletes them at the end), which is the target's state, not the suite's.

At the end it reads the run's ``summary.json`` (status, requests, failures) and counts the rows
of ``history.csv``, to show the run was real. Everything is bounded in time; every process this
script starts is ended by its own PID (the Locust process group by its leader's PID). A start that
fails is one ``error:`` line and exit code 2. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "src"))

import _harness as h  # noqa: E402

GOAL_MIB_PER_HOUR = 5.0
RUN_ID = "memory-real-run"
MIB = 1 / 1024  # KiB -> MiB

PROFILE = """\
description: >-
  bench/memory_real_run.py: the load mix, ramp to {users} users in 1 minute, hold {hold} minutes.
stages:
  - {{duration: 1m, target: {users}}}
  - {{duration: {hold}m, target: {users}}}
users:
  CustomerCareUser: 25
  CustomerUser: 20
  OrderUser: 10
  OrderJourneyUser: 10
  InvoiceUser: 8
  ProductUser: 8
  PaymentUser: 6
  SubscriptionUser: 6
  ServiceUser: 4
  AssetUser: 3
think_time: {{min: 1, max: 3, scale_with_time: false}}
thresholds:
  http_req_duration: ["p(95)<500"]
  http_req_failed: ["rate<0.05"]
allowed_hosts: [localhost, 127.0.0.0/8, "::1"]
guard_hosts: false
"""


# -- pure parts (tested in tests/bench/test_memory_real_run.py) ------------------------------------

def parse_vmrss_kib(status_text: str) -> int | None:
    """``VmRSS`` in KiB from the text of ``/proc/<pid>/status``; None when absent (a zombie)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def parse_ppid(stat_text: str) -> int:
    """The parent PID from the text of ``/proc/<pid>/stat`` (the command may hold spaces and ')')."""
    return int(stat_text.rsplit(")", 1)[1].split()[1])


def children_of(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """PIDs whose parent is ``pid``, sorted."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if parse_ppid((entry / "stat").read_text()) == pid:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not readable
    return sorted(found)


def rss_kib(pid: int, proc: Path = Path("/proc")) -> int | None:
    try:
        return parse_vmrss_kib((proc / str(pid) / "status").read_text())
    except OSError:
        return None


def requests_from_metrics(text: str) -> int:
    """Sum of ``bss_loadtest_requests_total`` over its labels, token requests (method AUTH) and
    connection setups (CONNECT) excluded."""
    total = 0.0
    for line in text.splitlines():
        if (line.startswith("bss_loadtest_requests_total{") and 'method="AUTH"' not in line
                and 'method="CONNECT"' not in line):
            try:
                total += float(line.rsplit(None, 1)[1])
            except (ValueError, IndexError):
                continue
    return int(total)


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (minute, value) points; None with fewer than 2 distinct minutes."""
    if len({t for t, _ in points}) < 2:
        return None
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    num = sum((t - mean_t) * (v - mean_v) for t, v in points)
    den = sum((t - mean_t) ** 2 for t, _ in points)
    return num / den


def growth(samples: list[dict], key: str, warmup_min: float) -> dict | None:
    """Growth of ``samples[i][key]`` (MiB, None where not sampled) after ``warmup_min`` minutes:
    the slope per 10 minutes and per hour, and the first and last value of that part."""
    points = [(s["minute"], s[key]) for s in samples if s["minute"] >= warmup_min and s.get(key) is not None]
    slope = slope_per_minute(points)
    if slope is None:
        return None
    return {"from_mib": points[0][1], "to_mib": points[-1][1], "span_min": points[-1][0] - points[0][0],
            "per_10_min": slope * 10, "per_hour": slope * 60, "samples": len(points)}


def verdict(per_hour: float | None, goal: float = GOAL_MIB_PER_HOUR) -> str:
    if per_hour is None:
        return "no verdict (too few samples after the warm-up)"
    if per_hour <= goal:
        return f"PASS: {per_hour:+.2f} MiB/h <= {goal:g} MiB/h"
    return f"FAIL: {per_hour:+.2f} MiB/h > {goal:g} MiB/h"


# -- the run ---------------------------------------------------------------------------------------

def scrape(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as resp:
            return requests_from_metrics(resp.read().decode("utf-8", "replace"))
    except (OSError, ValueError):
        return None


def stop_group(process: subprocess.Popen, timeout: float = 60.0) -> None:
    """End the Locust process group this script started (its leader's PID is the group id)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGINT)  # the suite's clean stop: partial results, cleanup
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    except ProcessLookupError:
        pass


def sample(locust_pid: int, server_pid: int, port: int, started: float, expect_workers: int) -> dict:
    workers = children_of(locust_pid) if expect_workers else []
    row = {"minute": (time.monotonic() - started) / 60, "master": rss_kib(locust_pid),
           "workers": [rss_kib(w) for w in workers], "server": rss_kib(server_pid), "requests": scrape(port)}
    row = {**row, "master": row["master"] and row["master"] * MIB, "server": row["server"] and row["server"] * MIB,
           "workers": [w * MIB for w in row["workers"] if w is not None]}
    for i, w in enumerate(row["workers"]):
        row[f"worker{i + 1}"] = w
    row["locust_total"] = (row["master"] or 0) + sum(row["workers"]) if row["master"] is not None else None
    return row


def print_row(row: dict, workers: int) -> None:
    def mib(v):
        return "      -" if v is None else f"{v:7.1f}"

    cells = [f"{row['minute']:6.1f}", mib(row["master"])]
    cells += [mib(row.get(f"worker{i + 1}")) for i in range(workers)]
    cells += [mib(row["server"]), "        -" if row["requests"] is None else f"{row['requests']:9d}"]
    print("  ".join(cells), flush=True)


def _stop_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the run (1 minute of it ramps up)")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--processes", type=int, default=0, help="Locust's --processes (0: one process)")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=5.0, help="minutes left out of the growth")
    parser.add_argument("--keep", default="", help="write the run's reports under this directory and keep them")
    parser.add_argument("--registry-limit", type=int, default=0,
                        help="lower the cleanup registry's bound (client.cleanup.REGISTRY_LIMIT, 50,000) to N, so that "
                             "a short run reaches it (0: the suite's own)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also trace Python's allocations in the load processes and print the source lines "
                             "that grew most since the end of --warmup (slower: for finding what grows, not for the figures)")
    parser.add_argument("--json", default="", help="also write the samples and figures to this JSON file")
    args = parser.parse_args(argv)
    if args.minutes < 1.5:
        parser.error("--minutes must be at least 1.5 (1 minute of ramp)")
    hold = max(1, round(args.minutes - 1))
    warmup = args.warmup if args.warmup < args.minutes * 0.8 else args.minutes / 2

    from bss_reference.process import ReferenceServer, ReferenceServerError

    # SIGTERM, and SIGINT even where a shell started this in the background with it ignored, end
    # the run through the ``finally`` blocks: Locust's process group and the server are stopped.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop_on_signal)

    print(f"machine: {h.machine()}", flush=True)
    two_cores = (os.cpu_count() or 1) >= 2
    with tempfile.TemporaryDirectory(prefix="memory-real-run-") as tmp:
        workdir = Path(tmp)
        report_dir = Path(args.keep).resolve() if args.keep else workdir / "reports"
        profile = workdir / "memory-real-run.yaml"
        profile.write_text(PROFILE.format(users=args.users, hold=hold))
        server = ReferenceServer(port=0, db=":memory:", command_prefix=h.pin(0) if two_cores else [])
        try:
            server.start()
        except (ReferenceServerError, OSError) as error:
            print("error: the reference server did not start: " + " ".join(str(error).split())[:300])
            return 2
        try:
            return run(args, hold, warmup, server, profile, report_dir, workdir, two_cores)
        finally:
            server.close()


def run(args, hold: int, warmup: float, server, profile: Path, report_dir: Path, workdir: Path,
        two_cores: bool) -> int:
    port = h.free_port()
    command = [*(h.pin(1) if two_cores else []), sys.executable, "-m", "locust", "-f",
               f"{ROOT / 'loadtests'},{BENCH / '_memory_probe.py'}",
               "--headless", "--profile", str(profile), "--host", server.url, "--fixed-run-id", RUN_ID,
               "--report-dir", str(report_dir), "--only-summary", "--prometheus-port", str(port),
               "--loglevel", "INFO"]
    if args.processes:
        master_port = h.free_port()
        command += ["--processes", str(args.processes), "--master-port", str(master_port),
                    "--master-bind-port", str(master_port)]
    shown = " ".join(c if c != sys.executable else "python" for c in command)
    print(f"server: {server.url} (pid {server.pid}{', core 0' if two_cores else ''}, in-memory SQLite)")
    print(f"command: {shown}", flush=True)
    log_path = workdir / "locust.log"
    probe_path = workdir / "probe.jsonl"
    started = time.monotonic()
    samples: list[dict] = []
    with log_path.open("w") as log:
        locust = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1", "BSS_BENCH_PROBE": str(probe_path),
                                       "BSS_BENCH_PROBE_EVERY": str(args.sample),
                                       "BSS_BENCH_TRACEMALLOC": "1" if args.tracemalloc else "0",
                                       "BSS_BENCH_TRACEMALLOC_FROM": str(args.warmup),
                                       **({"BSS_BENCH_REGISTRY_LIMIT": str(args.registry_limit)}
                                          if args.registry_limit > 0 else {})})
        try:
            # Wait (bounded) for the run to start: its /metrics answers once the plugin is up.
            while scrape(port) is None:
                if locust.poll() is not None:
                    tail = " | ".join(log_path.read_text().strip().splitlines()[-3:])
                    print(f"error: locust exited with code {locust.returncode} before the run started: {tail[:400]}")
                    return 2
                if time.monotonic() - started > 90:
                    print(f"error: the run did not start within 90 s (no /metrics on port {port}); see {log_path}")
                    return 2
                time.sleep(0.5)
            started = time.monotonic()  # minute 0: the run is up
            deadline = started + (1 + hold) * 60 + 240  # the profile, then cleanup and results
            workers = args.processes
            header = ["minute", " master"] + [f"worker{i + 1}" for i in range(workers)] + [" server", " requests"]
            print("RSS in MiB (VmRSS); requests so far from the run's /metrics")
            print("  ".join(header), flush=True)
            next_at = started
            while locust.poll() is None:
                if time.monotonic() > deadline:
                    print(f"error: locust did not end within {deadline - started:.0f} s; stopping it")
                    stop_group(locust)
                    return 2
                if time.monotonic() >= next_at:
                    row = sample(locust.pid, server.pid, port, started, workers)
                    if row["requests"] is not None or not samples:  # after the end, /metrics is gone
                        samples.append(row)
                        print_row(row, workers)
                    next_at += args.sample
                time.sleep(0.5)
            ended = (time.monotonic() - started) / 60
        finally:
            stop_group(locust)
    top = probe_path.with_name(probe_path.name + ".top")
    if top.exists():  # --tracemalloc: the last comparison of each process
        text = top.read_text()
        print(text[text.rfind("--- minute"):].rstrip() if "--- minute" in text else text.rstrip())
    return report(args, samples, warmup, report_dir, log_path, locust.returncode, ended, read_probe(probe_path))


PROBE_COUNTS = ("users", "pool_items", "registry", "gc_objects", "blocks", "malloc_bytes")


def read_probe(path: Path) -> list[dict]:
    """The lines ``bench/_memory_probe.py`` wrote (none when the file is missing); a torn last line is skipped."""
    rows = []
    try:
        text = path.read_text()
    except OSError:
        return rows
    for line in text.splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def probe_totals(rows: list[dict]) -> list[dict]:
    """The probe's lines summed over the processes that wrote them, one row per sampling round
    (the n-th line of each process)."""
    by_pid: dict[int, list[dict]] = {}
    for row in rows:
        by_pid.setdefault(row["pid"], []).append(row)
    rounds = min((len(v) for v in by_pid.values()), default=0)
    totals = []
    for i in range(rounds):
        lines = [v[i] for v in by_pid.values()]
        totals.append({"minute": max(r["minute"] for r in lines),
                       **{k: sum(r.get(k) or 0 for r in lines) for k in PROBE_COUNTS}})
    return totals


def print_probe(totals: list[dict], every_min: float = 10.0) -> None:
    """What the users held, every ``every_min`` minutes (and the last round)."""
    if not totals:
        print("probe: no lines (bench/_memory_probe.py did not run)")
        return
    print("what the load processes held (bench/_memory_probe.py; summed over processes):")
    print("minute   users  pooled entities  registry  gc-tracked objects  Python blocks  malloc in use")
    last_loaded = max((i for i, row in enumerate(totals) if row["users"]), default=len(totals) - 1)
    next_at = 0.0
    for i, row in enumerate(totals[:last_loaded + 1]):
        if row["minute"] + 1e-9 >= next_at or i == last_loaded:
            print(f"{row['minute']:6.1f}  {row['users']:6d}  {row['pool_items']:15d}  {row['registry']:8d}  "
                  f"{row['gc_objects']:18d}  {row['blocks']:13d}  {row['malloc_bytes'] / 2**20:9.1f} MiB")
            next_at = (int(row["minute"] / every_min) + 1) * every_min


def report(args, samples: list[dict], warmup: float, report_dir: Path, log_path: Path, code: int,
           ended_min: float, probe: list[dict] | None = None) -> int:
    print(f"locust exited with code {code} at minute {ended_min:.1f}")
    totals = probe_totals(probe or [])
    print_probe(totals, every_min=max(1.0, round(args.minutes / 12)))
    keys = ["master"] + [f"worker{i + 1}" for i in range(args.processes)]
    if args.processes:
        keys.append("locust_total")
    figures = {k: growth(samples, k, warmup) for k in [*keys, "server"]}
    print(f"growth after the first {warmup:g} minutes (least-squares slope over the samples):")
    for key, g in figures.items():
        if g is None:
            print(f"  {key:>12}: too few samples")
            continue
        print(f"  {key:>12}: {g['from_mib']:.1f} -> {g['to_mib']:.1f} MiB over {g['span_min']:.1f} min; "
              f"{g['per_10_min']:+.2f} MiB per 10 min = {g['per_hour']:+.2f} MiB per hour")
    judged = figures.get("locust_total" if args.processes else "master")
    print("verdict (Locust, the suite's own state; goal from issue 16, at most "
          f"{GOAL_MIB_PER_HOUR:g} MiB per hour): {verdict(judged and judged['per_hour'])}")
    server = figures.get("server")
    if server is not None:
        print(f"server (not judged): {server['per_hour']:+.2f} MiB per hour; its in-memory SQLite database grows "
              "with the entities the load creates (the target's state, not the suite's)")

    run_dir = report_dir / "runs" / RUN_ID
    summary_path, history_path = run_dir / "summary.json", run_dir / "history.csv"
    result = {"samples": samples, "growth": figures, "exit_code": code, "warmup_min": warmup, "probe": totals}
    if not summary_path.exists():
        tail = " | ".join(log_path.read_text().strip().splitlines()[-3:])
        print(f"error: the run wrote no summary.json ({summary_path}): {tail[:400]}")
        return 1
    summary = json.loads(summary_path.read_text())
    totals = summary["totals"]
    with history_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    aggregated = sum(1 for r in rows if r.get("name") == "Aggregated")
    duration = summary.get("duration_s") or summary.get("run", {}).get("duration_s")
    print(f"summary.json: status {summary['status']}, requests {totals['count']}, failures {totals['failures']} "
          f"({totals['error_rate'] * 100:.2f} %), p50 {totals['p50_ms']} ms, p95 {totals['p95_ms']} ms"
          + (f", {duration:.0f} s" if isinstance(duration, (int, float)) else ""))
    print(f"history.csv: {len(rows)} rows ({aggregated} seconds of the Aggregated row)"
          + (f"; kept in {run_dir}" if args.keep else ""))
    if totals["count"] and aggregated:
        seconds = max(1, aggregated)
        print(f"request rate: about {totals['count'] / seconds:.0f} requests/s over the run")
    result["summary"] = {"status": summary["status"], "requests": totals["count"], "failures": totals["failures"],
                         "history_rows": len(rows), "aggregated_rows": aggregated}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if code in (0, 99) else 1


if __name__ == "__main__":
    sys.exit(main())
