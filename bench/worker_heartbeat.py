"""Why a worker goes missing at a high spawn rate: the heartbeats, loop stalls and spawn calls of
every Locust process during a ``--processes N`` ramp of the suite's ``CustomerUser``.

    .venv/bin/python bench/worker_heartbeat.py [--users 10000] [--spawn-rate 500] [--seconds 60]
                                               [--think 60,120] [--processes 2] [--uncached]
                                               [--block-report S] [--keep DIR] [-- extra locust options]

Loads ``bench/_heartbeat_probe.py`` beside the suite's locustfiles: each process writes the
heartbeats it got, its loop's stalls past 100 ms, each ``spawn`` message's handling and each
``spawn_users`` call (wall and CPU time) and its CPU seconds. ``--uncached`` undoes the suite's
cache of Locust's ``default_args_dict`` (``run/locust_fixes.py``), to measure a spawn message as
Locust handles it. ``--block-report S`` runs gevent's monitor thread in every process: a greenlet
holding the loop S seconds is printed with its stack (and every other greenlet's: with thousands of
users each report itself holds the process for seconds, so it finds the culprit and spoils the
figures). Printed: per worker, the longest gaps between two heartbeats the master received while
the users ran (a worker that reported "stopped" is out of the master's count until it is ready
again); the loop stalls, spawn messages and spawn calls of each process; the machine's and the
reference server's CPU during the ramp; the run's status and ``workers`` from summary.json, and
the log's heartbeat / missing lines. Nothing asserts a timing; keep a run short.
"""

from __future__ import annotations

import argparse
import json
import os
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
LOCUSTFILES = ",".join(str(p) for p in (ROOT / "loadtests" / "customers.py", ROOT / "loadtests" / "profile_shape.py",
                                        BENCH / "_heartbeat_probe.py"))


def gaps(times: list[float]) -> list[tuple[float, float]]:
    """(at, seconds) of each gap between consecutive times, longest first."""
    pairs = [(a, b - a) for a, b in zip(times, times[1:], strict=False)]
    return sorted(pairs, key=lambda p: -p[1])


def cpu_between(cpu: list[list[float]], start: float, end: float) -> float | None:
    inside = [c for c in cpu if start <= c[0] <= end]
    if len(inside) < 2:
        return None
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]) * 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--spawn-rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", default="60,120")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--block-report", type=float, default=0.0,
                        help="gevent's monitor thread: report (with every greenlet's stack) a greenlet that "
                             "holds the loop this long, in s; 0 = off (the default: with 10,000 users "
                             "each report itself holds the GIL for seconds)")
    parser.add_argument("--uncached", action="store_true",
                        help="undo the suite's cache of Locust's default_args_dict (run/locust_fixes.py) "
                             "in every process: the cost of a spawn message without it")
    parser.add_argument("--keep", type=Path, help="keep the logs and probe files here")
    parser.add_argument("extra", nargs="*", help="more Locust options (after --)")
    args = parser.parse_args(argv)
    print(f"machine: {h.machine()}", flush=True)
    from bss_reference.process import ReferenceServer

    workdir = Path(args.keep or tempfile.mkdtemp(prefix="bench-heartbeat-"))
    workdir.mkdir(parents=True, exist_ok=True)
    probe_dir = workdir / "probe"
    probe_dir.mkdir(exist_ok=True)
    port = h.free_port()
    run_id = "worker-heartbeat"
    command = [str(h.VENV_BIN / "locust"), "-f", LOCUSTFILES, "--headless", "-u", str(args.users),
               "-r", str(args.spawn_rate), "-t", f"{int(args.seconds)}s", "--think-time", args.think,
               "--report-dir", str(workdir / "reports"), "--run-id", run_id, "--prometheus-port", "0",
               "--loglevel", "INFO", "--processes", str(args.processes), "--master-port", str(port),
               "--master-bind-port", str(port), *args.extra]
    env = {**h.locust_env(), "BSS_HEARTBEAT_PROBE": str(probe_dir)}
    if args.block_report > 0:
        env.update({"GEVENT_MONITOR_THREAD_ENABLE": "1", "GEVENT_MAX_BLOCKING_TIME": str(args.block_report)})
    if args.uncached:
        env["BSS_HEARTBEAT_PROBE_UNCACHED"] = "1"
    import psutil

    with ReferenceServer() as server:
        command[command.index("--think-time"):command.index("--think-time")] = ["--host", server.url]
        server_proc = psutil.Process(server.pid)
        server_cpu0 = sum(server_proc.cpu_times()[:2])
        started = time.time()
        machine: list[tuple[float, float, float]] = []
        stop_sampling = threading.Event()

        def sample() -> None:
            psutil.cpu_percent()
            server_proc.cpu_percent()
            while not stop_sampling.wait(1.0):
                machine.append((time.time(), psutil.cpu_percent(), server_proc.cpu_percent()))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        with (workdir / "locust.log").open("w") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, env=env)
            try:
                process.wait(timeout=args.seconds + 150)
            except subprocess.TimeoutExpired:
                h.stop(process)
        ended = time.time()
        stop_sampling.set()
        sampler.join(3)
        server_cpu = (sum(server_proc.cpu_times()[:2]) - server_cpu0) / (ended - started) * 100

    probes = [json.loads(p.read_text()) for p in sorted(probe_dir.glob("*.json"))]
    master = next((p for p in probes if p["role"] == "master"), None)
    workers = [p for p in probes if p["role"] == "worker"]
    spawn_end = max((s[0] for w in workers for s in w["spawns"]), default=ended)
    ramp = (started, spawn_end)
    print(f"run: {args.users} users at {args.spawn_rate:g}/s on {args.processes} workers "
          f"(ramp ~{args.users / args.spawn_rate:.0f} s), exit code {process.returncode}; logs in {workdir}")
    print(f"reference server CPU over the whole run: {server_cpu:.0f} % of one core")
    in_ramp = [(m, s) for t, m, s in machine if ramp[0] <= t <= ramp[1]]
    if in_ramp:
        print(f"during the ramp: machine CPU median {statistics.median(m for m, _ in in_ramp):.0f} % of "
              f"{os.cpu_count()} cores (max {max(m for m, _ in in_ramp):.0f} %), reference server median "
              f"{statistics.median(s for _, s in in_ramp):.0f} % of one core")
    if master:
        # Until the users are stopped: a worker that has reported "stopped" is out of the master's
        # clients (its heartbeats are not counted, nor missed) until it is ready again.
        load_end = started + args.seconds + 3
        for worker_id, beats in master["heartbeats"].items():
            longest = gaps([b for b in beats if b <= load_end])[:3]
            print(f"master <- {worker_id[-8:]}: {len(beats)} heartbeats, longest gaps under load "
                  + ", ".join(f"{g:.2f} s at +{t - started:.1f} s" for t, g in longest))
    for p in probes:
        stalls = sorted(p["lag"], key=lambda s: -s[1])
        cpu = cpu_between(p["cpu"], *ramp)
        print(f"{p['role']} {p['pid']}: CPU during the ramp {cpu if cpu is None else round(cpu)} %; "
              f"{len(p['lag'])} loop stalls > 100 ms, longest "
              + ", ".join(f"{ms:.0f} ms at +{t - started:.1f} s" for t, ms in stalls[:5]))
        if p.get("messages"):
            wall = [m[1] for m in p["messages"]]
            cpu_ms = [m[2] for m in p["messages"]]
            print(f"   spawn messages: {len(wall)}, handling wall ms median {statistics.median(wall):.0f} max "
                  f"{max(wall):.0f}, CPU ms median {statistics.median(cpu_ms):.0f} max {max(cpu_ms):.0f}")
        if p["spawns"]:
            ms = [s[2] for s in p["spawns"]]
            sizes = [s[1] for s in p["spawns"]]
            print(f"   spawn_users: {len(ms)} calls, users per call median {statistics.median(sizes):g} "
                  f"(max {max(sizes)}), ms per call median {statistics.median(ms):.0f} max {max(ms):.0f} "
                  f"({statistics.median(m / max(1, n) for m, n in zip(ms, sizes, strict=True)):.2f} ms per user; "
                  f"CPU ms median {statistics.median(s[3] for s in p['spawns']):.0f})")
        if "master" in p["heartbeats"]:
            longest = gaps(p["heartbeats"]["master"])[:3]
            print("   answers from the master, longest gaps "
                  + ", ".join(f"{g:.2f} s at +{t - started:.1f} s" for t, g in longest))
    summary_path = workdir / "reports" / "runs" / run_id / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        print(f"summary: status {summary['status']} ({summary.get('partial_reason')}), workers {summary.get('workers')}, "
              f"vus max {summary.get('metrics', {}).get('vus', {}).get('max')}, requests {summary['totals']['count']}, "
              f"failures {summary['totals']['failures']} {summary['failures_by_class']}, generator {summary.get('generator')}")
    lines = (workdir / "locust.log").read_text().splitlines()
    notable = [line for line in lines if "missing" in line.lower() or "heartbeat" in line.lower()
               or "self-healed" in line or "/ERROR/" in line]
    blocked = [i for i, line in enumerate(lines) if "appears to be blocked" in line]
    print(f"log: {len(notable)} heartbeat/missing/error lines, {len(blocked)} gevent 'blocked' reports")
    for line in notable[:12]:
        print("   " + line[:240])
    return 0


if __name__ == "__main__":
    sys.exit(main())
