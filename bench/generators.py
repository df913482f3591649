"""Load-generator benchmarks: the full suite against bare Locust and k6 on one static nginx target.

    .venv/bin/python bench/generators.py throughput  [--seconds 15 --rounds 3]
    .venv/bin/python bench/generators.py profile     [--seconds 12]
    .venv/bin/python bench/generators.py memory      [--long-seconds 60]
    .venv/bin/python bench/generators.py percentiles [--seconds 15]
    .venv/bin/python bench/generators.py scaling     [--seconds 15 --workers 1,2,4,8]
    .venv/bin/python bench/generators.py all         [--quick]

The target is nginx with ONE worker pinned to core 0, answering ``GET /actuator/health`` with a
1 KB health body the client layer validates. Every generator is pinned to core 1 (``taskset -c 1``)
and never waits between requests. "suite" is a locustfile that registers the suite's plugin (its
histograms, summary.json, the Prometheus collector on a free port) and calls the endpoint through
the client layer (``self.api.call("actuator.health")``: status check + pydantic validation + UP
check); "bare" is a FastHttpUser doing ``self.client.get``; "plugin" is the bare user with the
suite's plugin loaded (no client layer), to split the suite's cost; k6 runs ``http.get`` in its
default function. Requests/s come from each tool's own output (Locust's ``--csv`` stats, k6's
``--summary-export``); CPU per request from the children's rusage around each run.
Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness as h

LOCUST_USERS = 50
K6_VUS = 50


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(fn, *args, **kwargs) -> tuple[dict, float]:
    before = _children_cpu()
    result = fn(*args, **kwargs)
    return result, _children_cpu() - before


# -- 1. throughput --------------------------------------------------------------------------------

PLUGIN_ONLY_LOCUSTFILE = '''
from locust import FastHttpUser, constant, task
from bss_loadtest.run import plugin

plugin.register()


class PluginBareUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/actuator/health")
'''


def throughput(args: argparse.Namespace, workdir: Path) -> dict:
    files = h.write_locustfiles(workdir)
    files["plugin"] = workdir / "bench_plugin.py"
    files["plugin"].write_text(h.CPU_PROBE + PLUGIN_ONLY_LOCUSTFILE)
    kinds = ["suite", "bare", "plugin", "k6"]
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    print(f"throughput: nginx (1 worker) on core 0, each generator alone on core 1; {args.rounds} rounds x "
          f"{args.seconds} s; Locust {args.users} users, k6 {args.vus} VUs, no think time", flush=True)
    with h.Nginx(workdir) as nginx:
        for i in range(args.rounds):
            line = []
            for kind in kinds:
                prefix = workdir / f"tp-{kind}-{i}"
                if kind == "k6":
                    result, cpu = _timed(h.run_k6, nginx.host, args.vus, args.seconds, prefix)
                else:
                    # "suite" uses the plugin: run it like the suite's users are run (summary.json too).
                    run_kind = "suite" if kind in ("suite", "plugin") else "bare"
                    command_files = {**files, "suite": files[kind]} if kind == "plugin" else files
                    result, cpu = _timed(h.run_locust, run_kind, command_files, nginx.host, args.users,
                                         args.seconds, prefix)
                rps = result["rps"]
                # Locust: CPU between test start and stop (its probe); k6: the child's whole CPU time.
                runs[kind].append((rps, result.get("cpu_us_per_request") or cpu / max(1, result["requests"]) * 1e6))
                line.append(f"{kind} {rps:6.0f} req/s {runs[kind][-1][1]:4.0f} us CPU/req")
            print(f"  round {i + 1}: " + ", ".join(line), flush=True)
    med = {k: statistics.median(r for r, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
    out = {"rps": med, "cpu_us_per_request": cpu,
           "suite/bare": med["suite"] / med["bare"], "bare/k6": med["bare"] / med["k6"],
           "suite/k6": med["suite"] / med["k6"], "plugin/bare": med["plugin"] / med["bare"]}
    print("  medians:")
    for k in kinds:
        print(f"    {k:<7} {med[k]:7.0f} req/s   {cpu[k]:5.0f} us CPU per request ({1e6 / cpu[k]:6.0f} per CPU-second)")
    verdict = "meets" if out["suite/bare"] >= 0.85 else "MISSES"
    print(f"  suite/bare  {out['suite/bare']:.3f}  ({verdict} the bar: >= 0.85, i.e. at most 15 % below bare)")
    print(f"  plugin/bare {out['plugin/bare']:.3f}  (plugin alone, no client layer)")
    print(f"  bare/k6     {out['bare/k6']:.3f}")
    print(f"  suite/k6    {out['suite/k6']:.3f}")
    # On a shared machine throughput swings with other work on the core; CPU time per request swings less.
    out["capacity"] = {k: 1e6 / v for k, v in cpu.items()}
    print(f"  from CPU time per request (requests per CPU-second; less sensitive than req/s to other work on the core): "
          f"suite/bare {cpu['bare'] / cpu['suite']:.3f}, bare/k6 {cpu['k6'] / cpu['bare']:.3f}, "
          f"suite/k6 {cpu['k6'] / cpu['suite']:.3f}", flush=True)
    return out


# -- 1b. profile of the suite's hot path ----------------------------------------------------------

CATEGORIES = [  # (label, regex on one frame); a sample counts for the innermost frame that matches
    ("pydantic validation (client layer)", r"pydantic|validation\.py"),
    ("client layer (BssClient.call, excl. validation)", r"bss_loadtest/client/"),
    ("suite plugin listener + RunStats.record", r"bss_loadtest/(plugin|stats)\.py"),
    ("Locust's own stats (RequestStats.log)", r"locust/stats\.py"),
    ("Locust events / request hooks", r"locust/event\.py"),
    ("FastHttp client (locust.contrib.fasthttp)", r"locust/contrib/fasthttp\.py"),
    ("geventhttpclient (HTTP parsing, sockets)", r"geventhttpclient"),
    ("gevent hub / scheduling / socket I/O", r"gevent/"),
    ("Locust user loop / other Locust", r"locust/"),
]


def _categorise(stacks: dict[str, int]) -> list[tuple[str, int]]:
    compiled = [(label, re.compile(rx)) for label, rx in CATEGORIES]
    counts: collections.Counter = collections.Counter()
    for stack, n in stacks.items():
        frames = stack.split(";")
        label = "other (interpreter, stdlib)"
        for frame in reversed(frames):
            hit = next((lab for lab, rx in compiled if rx.search(frame)), None)
            if hit:
                label = hit
                break
        counts[label] += n
    return counts.most_common()


def profile(args: argparse.Namespace, workdir: Path) -> dict:
    missing = h.missing_tools("py-spy")
    if missing:
        print("profile: skipped: " + missing[0])
        return {}
    files = h.write_locustfiles(workdir)
    raw = workdir / "profile.txt"
    with h.Nginx(workdir) as nginx:
        prefix = workdir / "profile-suite"
        command = h.locust_command("suite", files, nginx.host, args.users, args.seconds + 12, prefix)
        process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True, env=h.locust_env())
        try:
            time.sleep(4)  # imports and spawn
            for _attempt in range(3):  # py-spy can fail to read a process that is still starting
                spy = subprocess.run([h.pyspy_path(), "record", "--pid", str(process.pid), "--duration",
                                      str(int(args.seconds)), "--rate", "100", "--format", "raw", "--output",
                                      str(raw), "--nonblocking"], capture_output=True, text=True,
                                     timeout=args.seconds + 60)
                if spy.returncode == 0:
                    break
                time.sleep(2)
            output, _ = process.communicate(timeout=args.seconds + 60)
        finally:
            h.stop(process)
    if spy.returncode != 0 or not raw.exists():
        print(f"profile: py-spy failed (needs ptrace permission: root or CAP_SYS_PTRACE): {spy.stderr.strip()[:600]}")
        return {}
    stacks: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack:
            stacks[stack] = stacks.get(stack, 0) + int(n)
    total = sum(stacks.values()) or 1
    cats = _categorise(stacks)
    leaves: collections.Counter = collections.Counter()
    for stack, n in stacks.items():
        leaves[stack.split(";")[-1]] += n
    print(f"profile: py-spy, 100 Hz, {args.seconds} s of the suite at saturation on core 1 "
          f"({total} busy samples; idle epoll waits excluded)")
    print("  share of busy samples by the innermost layer on the stack:")
    for label, n in cats:
        print(f"    {n / total * 100:5.1f} %  {label}")
    print("  top self-time frames:")
    for frame, n in leaves.most_common(12):
        print(f"    {n / total * 100:5.1f} %  {frame[:110]}")
    # The validation's own cost per call, measured directly.
    sys.path.insert(0, str(h.ROOT / "src"))
    import timeit

    from bss_loadtest.client.endpoints import ENDPOINTS  # the route's own validator, without importing locust
    from bss_loadtest.client.validation import validator_for

    endpoint = ENDPOINTS["actuator.health"]
    validate, check = validator_for(endpoint.response), endpoint.check
    body = h.HEALTH_BODY.encode()
    loops = 20000
    best = min(timeit.repeat(lambda: check(validate(body)), number=loops, repeat=5)) / loops * 1e6
    print(f"  validation of the 1 KB health body (validate + UP check), timed alone: {best:.1f} us per call",
          flush=True)
    return {"categories": {label: n / total for label, n in cats}, "validate_us": best}


# -- 2. memory ------------------------------------------------------------------------------------

def _idle_rss(kind: str, files: dict, host: str, users: int, workdir: Path, settle_s: float) -> int:
    prefix = workdir / f"mem-{kind}-{users}"
    command = h.locust_command(kind, files, host, users, 120, prefix, cpu=1)
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env=h.locust_env(wait=3600))
    try:
        time.sleep(settle_s)
        samples = []
        for _ in range(4):
            samples.append(h.rss_kib(process.pid))
            time.sleep(0.5)
        return max(samples)
    finally:
        h.stop(process)


def memory(args: argparse.Namespace, workdir: Path) -> dict:
    files = h.write_locustfiles(workdir)
    out: dict = {"per_user": {}, "long": {}}
    print("memory: RSS of the Locust process (pinned to core 1) once every user has spawned and made one "
          "request, think time 3600 s; baseline = the same locustfile with 0 users", flush=True)
    with h.Nginx(workdir) as nginx:
        for kind, label in (("suite", "suite's BssUser (HealthUser)"), ("bare", "bare FastHttpUser")):
            base = _idle_rss(kind, files, nginx.host, 0, workdir, args.settle)
            print(f"  {label}: baseline {base / 1024:.1f} MiB")
            out["per_user"][kind] = {"baseline_kib": base}
            for users in (1, 200, 1000):
                rss = _idle_rss(kind, files, nginx.host, users, workdir, args.settle)
                per = (rss - base) / users
                out["per_user"][kind][users] = per
                print(f"    {users:5d} users: RSS {rss / 1024:6.1f} MiB, {per:7.1f} KiB per user", flush=True)

        # Long run at the maximum rate: RSS must stay flat, the histogram does not grow with requests.
        prefix = workdir / "mem-long"
        seconds = args.long_seconds
        command = h.locust_command("suite", files, nginx.host, args.users, seconds + 5, prefix, cpu=1)
        process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True, env=h.locust_env())
        series = []
        try:
            start = time.monotonic()
            time.sleep(3)
            while time.monotonic() - start < seconds + 2 and process.poll() is None:
                series.append((time.monotonic() - start, h.rss_kib(process.pid)))
                time.sleep(args.sample_every)
            output, _ = process.communicate(timeout=120)
        finally:
            h.stop(process)
        result = h.read_locust_result("suite", prefix, seconds, output)
    print(f"  long run: suite, {args.users} users, no think time, {seconds} s, {result['requests']} requests "
          f"({result['rps']:.0f} req/s); RSS every {args.sample_every:g} s:")
    print("    " + "  ".join(f"{t:4.0f}s {kib / 1024:5.1f}" for t, kib in series) + "  (MiB)")
    settled = [kib for t, kib in series if t >= 10] or [kib for _, kib in series]
    growth = (settled[-1] - settled[0]) / 1024
    print(f"    from 10 s to the end: {settled[0] / 1024:.1f} -> {settled[-1] / 1024:.1f} MiB "
          f"({growth:+.2f} MiB while {result['requests']} requests were recorded; max {max(settled) / 1024:.1f})",
          flush=True)
    out["long"] = {"series": series, "growth_mib": growth, "requests": result["requests"]}
    return out


# -- 3. percentile error --------------------------------------------------------------------------

def nearest_rank(sorted_values: list[float], p: float) -> float:
    return sorted_values[max(1, math.ceil(p / 100 * len(sorted_values))) - 1]


def _errors(label: str, reported: dict[str, float], exact: dict[str, float]) -> dict:
    parts, errs = [], {}
    for p in ("50", "95", "99"):
        if p not in reported or reported[p] is None:
            continue
        err = (reported[p] - exact[p]) / exact[p]
        errs[p] = err
        parts.append(f"p{p} {reported[p]:8.3f} ms ({err * 100:+6.2f} %, {reported[p] - exact[p]:+.3f} ms)")
    print(f"    {label:<28} " + "  ".join(parts))
    return errs


def percentiles(args: argparse.Namespace, workdir: Path) -> dict:
    files = h.write_locustfiles(workdir)
    out: dict = {}
    print(f"percentiles: exact nearest-rank percentiles of every logged sample vs what each tool reports "
          f"({args.seconds} s, pinned to core 1)", flush=True)
    with h.Nginx(workdir) as nginx:
        prefix = workdir / "pct-suite"
        log = workdir / "requests.csv"
        result = h.run_locust("suite", files, nginx.host, args.users, args.seconds, prefix,
                              extra=["--request-log", str(log)])
        samples = []
        for path in glob.glob(f"{log}.*"):
            with open(path) as fh:
                for line in fh:
                    parts = line.rstrip("\n").split(",")
                    if len(parts) >= 5 and parts[1] == "GET" and parts[2] == h.HEALTH_NAME:
                        samples.append(float(parts[3]))
        samples.sort()
        exact = {p: nearest_rank(samples, float(p)) for p in ("50", "95", "99")}
        summary = result.get("summary") or {}
        print(f"  suite: {len(samples)} samples logged, summary.json counted {summary.get('count')}, "
              f"Locust CSV counted {result['requests']}")
        print(f"    {'exact (nearest rank)':<28} " + "  ".join(f"p{p} {exact[p]:8.3f} ms" for p in exact))
        out["suite"] = _errors("suite summary.json", {p: summary.get(f"p{p}_ms") for p in exact}, exact)
        out["locust_csv"] = _errors("Locust --csv stats", result["locust_pct"], exact)

        k6 = h.run_k6(nginx.host, args.vus, args.seconds, workdir / "pct-k6", json_out=True)
        values = []
        with open(k6["points"]) as fh:
            for line in fh:
                if '"http_req_duration"' in line and '"Point"' in line:
                    point = json.loads(line)
                    if point.get("type") == "Point" and point.get("metric") == "http_req_duration":
                        values.append(float(point["data"]["value"]))
        values.sort()
        exact_k6 = {p: nearest_rank(values, float(p)) for p in ("50", "95", "99")}
        print(f"  k6: {len(values)} http_req_duration points in --out json, summary counted {k6['requests']}")
        print(f"    {'exact (nearest rank)':<28} " + "  ".join(f"p{p} {exact_k6[p]:8.3f} ms" for p in exact_k6))
        out["k6"] = _errors("k6 summary (p(50..99))", k6["pct"], exact_k6)
    sys.stdout.flush()
    return out


# -- 4. scaling -----------------------------------------------------------------------------------

def scaling(args: argparse.Namespace, workdir: Path) -> dict:
    files = h.write_locustfiles(workdir)
    cores = os.cpu_count() or 1
    workers = [int(w) for w in args.workers.split(",")]
    print(f"scaling: suite with --processes N (master + N workers, not pinned), nginx on core 0, "
          f"{args.users_per_worker} users per worker, {args.seconds} s; nproc = {cores}", flush=True)
    out: dict = {"nproc": cores, "rps": {}}
    with h.Nginx(workdir) as nginx:
        for n in workers:
            prefix = workdir / f"scale-{n}"
            result = h.run_locust("suite", files, nginx.host, args.users_per_worker * n, args.seconds, prefix,
                                  cpu=None, processes=n)
            out["rps"][n] = result["rps"]
            if n > cores:
                over = f"  (oversubscribed: {n} workers + master + nginx on {cores} cores)"
            elif n == cores:
                over = f"  (every core taken: the workers share the {cores} cores with the master and nginx)"
            else:
                over = ""
            print(f"  {n} worker(s): {result['rps']:7.0f} req/s, x{result['rps'] / out['rps'][workers[0]]:.2f} "
                  f"of {workers[0]}{over}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("throughput", "profile", "memory", "percentiles", "scaling", "all"))
    parser.add_argument("--quick", action="store_true", help="shorter runs (about a third of the time)")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--users", type=int, default=LOCUST_USERS)
    parser.add_argument("--vus", type=int, default=K6_VUS)
    parser.add_argument("--long-seconds", type=float, default=None)
    parser.add_argument("--sample-every", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=6.0, help="seconds after start before reading RSS")
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--users-per-worker", type=int, default=40)
    parser.add_argument("--json", default="", help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (6 if args.quick else 15)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.long_seconds = args.long_seconds or (20 if args.quick else 60)

    needed = ["nginx", "taskset"] + (["k6"] if args.what in ("throughput", "percentiles", "all") else [])
    missing = h.missing_tools(*needed)
    if missing:
        for line in missing:
            print(line)
        return 2
    print(f"machine: {h.machine()}", flush=True)
    steps = ["throughput", "profile", "memory", "percentiles", "scaling"] if args.what == "all" else [args.what]
    figures = {}
    for step in steps:
        with tempfile.TemporaryDirectory(prefix=f"bss-bench-{step}-") as tmp:
            figures[step] = globals()[step](args, Path(tmp))
        print()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
