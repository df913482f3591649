"""The suite's reported p50/p95/p99 beside a packet capture of the same requests.

    .venv/bin/python bench/wire_accuracy.py [--users 20,200] [--seconds 40] [--latency-ms 40] [--json]

For each user count: a fresh reference server with ``--latency-ms`` of injected latency, a
``dumpcap`` capture on the loopback interface filtered to the server's port, and one local Locust
process (no workers) running the suite's ``CustomerUser`` (creates, reads, lists, searches,
updates, deletes; think time 0.5-2 s, scaled up above 200 users so the server's rate stays near
200 users' and only the generator's load grows). Then ``tshark`` reads every HTTP response's
``http.time`` (request frame to response frame, as the wire saw it); the token requests are
left out on both sides (the suite's totals leave out AUTH, and CONNECT: a connection's setup).

Printed per user count: the wire's exact p50/p95/p99 and the suite's (``summary.json`` totals,
0.1 ms buckets below 100 ms), the difference, the request counts on both sides, and the event
loop's lag as the suite's :class:`~bss_loadtest.run.generator.LoopLagSampler` saw it.

k6 as the peer, in the same run (``--k6``, on when ``.venv/bin/k6`` or ``k6`` on PATH exists; a
missing k6 is said in one line and its side skipped): after the suite, at each user count, a fresh
reference server and capture again, and ``k6 run bench/wire_k6.js`` with as many VUs for as long,
the same think time and a comparable customer mix (creates a customer per VU, then reads by id,
lists, searches, by status, creates, updates), authenticated as the suite is (one client-credentials
token fetched in ``setup()``). Its ``--out json`` ``http_req_duration`` points (end time and
duration, tagged with the suite's path templates) are paired with the capture by the same
:func:`match`; printed as for the suite (k6's reported percentiles are its ``--summary-export``
``p(50)``/``p(95)``/``p(99)``, interpolated between ranks), and a last line per level: the suite's per-request
overhead p50 minus k6's, the figure to read (both against the wire, same machine, same minutes).

tshark and dumpcap come from the Debian package ``tshark`` (``apt-get install -y tshark``);
capturing needs root or the ``wireshark`` group. Nothing here asserts a timing. Each level runs
``--seconds`` (default 40 s) plus about 10 s of start and analysis: keep runs short on a shared
machine (twice that with k6).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import _harness as h  # noqa: E402

ROOT = BENCH.parent
TOKEN_PATH = "openid-connect/token"
MISSING = "tshark/dumpcap not found: install the Debian package `tshark` (apt-get install -y tshark)"
K6_SCRIPT = BENCH / "wire_k6.js"
QUANTILES = ("50", "95", "99")

# Writes the process's generator record (CPU and loop lag) at the end of the run.
PROBE = '''
import json, os
from locust import events

@events.quitting.add_listener
def _bench_generator_record(environment, **kwargs):
    bss = getattr(environment, "bss", None)
    if bss is not None and os.environ.get("BENCH_GENERATOR_FILE"):
        with open(os.environ["BENCH_GENERATOR_FILE"], "w") as fh:
            json.dump(bss.cpu.snapshot(), fh)
'''


def tools() -> tuple[str, str] | None:
    tshark, dumpcap = shutil.which("tshark"), shutil.which("dumpcap")
    return (tshark, dumpcap) if tshark and dumpcap else None


def percentile(values: list[float], q: float) -> float:
    """Nearest rank, as the suite's histogram and k6 report it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class Capture:
    """dumpcap on ``lo`` for one TCP port, into a pcap file; a context manager."""

    def __init__(self, dumpcap: str, port: int, path: Path) -> None:
        self.command = [dumpcap, "-q", "-i", "lo", "-f", f"tcp port {port}", "-w", str(path), "-B", "64"]
        self.path = path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Capture:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (self.path.exists() and self.path.stat().st_size > 0):
            if self.process.poll() is not None:
                raise RuntimeError("dumpcap failed: " + self.process.stderr.read().decode()[-500:])
            time.sleep(0.1)
        time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # dumpcap flushes its file on SIGINT
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                h.stop(self.process)


def wire_times(tshark: str, pcap: Path, window: tuple[float, float]) -> list[tuple[float, float, str]]:
    """``http.time`` in ms of every ``/api`` response (not the token endpoint's) whose request was
    sent inside ``window`` (epoch seconds: the run's first and last recorded request), so that the
    start-up checks, the end-of-run cleanup and the reconciliation scrape are left out."""
    out = subprocess.run([tshark, "-r", str(pcap), "-Y", "http.response", "-T", "fields",
                          "-e", "frame.time_epoch", "-e", "http.time", "-e", "http.response_for.uri"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    times = []
    for line in out.splitlines():
        at, value, uri = (line.split("\t") + ["", ""])[:3]
        if not value or TOKEN_PATH in uri or "/api/" not in uri:
            continue
        sent = float(at) - float(value)
        if window[0] <= sent <= window[1]:
            times.append((sent, float(value) * 1000.0, urlsplit(uri).path))
    return times


def suite_samples(request_log: Path) -> list[tuple[float, float, str]]:
    """(start, ms, name) of every business request in the suite's --request-log files (their first
    column is the time the request was sent)."""
    samples = []
    for path in request_log.parent.glob(request_log.name + ".*"):
        for line in path.read_text().splitlines():
            start, method, name, ms, _ = line.split(",", 4)
            if method not in ("AUTH", "CONNECT"):
                samples.append((float(start), float(ms), name))
    return samples


def match(suite: list[tuple[float, float, str]], wire: list[tuple[float, float, str]],
          tolerance_s: float = 0.005) -> list[tuple[float, float]]:
    """Pairs (tool ms, wire ms) of the same request, for the suite's log and k6's points alike: the
    unused wire request on a path of the sample's template whose send time is nearest the sample's
    start (the suite's log has the time each request's first byte was sent, after any connection
    it opened; for k6, a point's end minus its duration, which leaves the connecting out too)."""
    patterns: dict[str, re.Pattern] = {}
    order = sorted(range(len(wire)), key=lambda i: wire[i][0])
    starts = [wire[i][0] for i in order]
    used = [False] * len(order)
    pairs = []
    for start, ms, name in sorted(suite):
        pattern = patterns.get(name)
        if pattern is None:
            pattern = patterns[name] = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(name)) + "$")
        at = bisect.bisect_left(starts, start - tolerance_s)
        best = None
        while at < len(order) and starts[at] <= start + tolerance_s:
            if not used[at] and pattern.match(wire[order[at]][2]):
                if best is None or abs(starts[at] - start) < abs(starts[best] - start):
                    best = at
            at += 1
        if best is not None:
            used[best] = True
            pairs.append((ms, wire[order[best]][1]))
    return pairs


def k6_time(text: str) -> float:
    """Epoch seconds of a k6 JSON point's ``time`` (RFC 3339, nanoseconds, ``Z`` or an offset)."""
    at = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if at is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    zone = "+00:00" if at.group(3) == "Z" else at.group(3)
    whole = datetime.fromisoformat(at.group(1) + zone).timestamp()
    return whole + (float("0." + at.group(2)) if at.group(2) else 0.0)


def k6_samples(lines: Iterable[str]) -> tuple[list[tuple[float, float, str]], int]:
    """(start, ms, name) of every business request in k6's ``--out json`` lines, and how many of
    them failed. A point's time is the request's end: its start is that minus ``http_req_duration``
    (sending, waiting, receiving; not the wait for a connection), as for the suite's log. The
    ``name`` tag is the path template the script set; setup/teardown requests and token requests are
    left out, as on the suite's side."""
    samples, failed = [], 0
    for line in lines:
        if '"http_req_duration"' not in line or '"Point"' not in line:
            continue
        point = json.loads(line)
        if point.get("type") != "Point" or point.get("metric") != "http_req_duration":
            continue
        data = point["data"]
        tags = data.get("tags") or {}
        name = tags.get("name") or tags.get("url") or ""
        if tags.get("group", "").startswith("::") or TOKEN_PATH in name:
            continue
        if "://" in name:
            name = urlsplit(name).path
        ms = float(data["value"])
        samples.append((k6_time(data["time"]) - ms / 1000.0, ms, name))
        failed += tags.get("expected_response") == "false"
    return samples, failed


def figures(pairs: list[tuple[float, float]]) -> dict:
    """Nearest-rank p50/p95/p99 of the paired tool's times, the wire's, and the per-request
    overhead (tool minus wire) over the (tool ms, wire ms) pairs."""
    if not pairs:
        return {"requests": 0, "tool": {}, "wire": {}, "overhead": {}}
    return {
        "requests": len(pairs),
        "tool": {p: percentile([a for a, _ in pairs], int(p) / 100) for p in QUANTILES},
        "wire": {p: percentile([b for _, b in pairs], int(p) / 100) for p in QUANTILES},
        "overhead": {p: percentile([a - b for a, b in pairs], int(p) / 100) for p in QUANTILES},
    }


def exact(wire: list[tuple[float, float, str]]) -> dict:
    return {p: percentile([w for _, w, _ in wire], int(p) / 100) for p in QUANTILES} if wire else {}


def think_for(users: int) -> str:
    """0.5-2 s up to 200 users; above, stretched so the request rate stays about 200 users'."""
    scale = max(1.0, users / 200)
    return f"{0.5 * scale:g},{2 * scale:g}"


def run_level(users: int, seconds: float, latency_ms: float, workdir: Path, tshark: str, dumpcap: str) -> dict:
    from bss_reference.process import ReferenceServer

    probe = workdir / "bench_probe.py"
    probe.write_text(PROBE)
    record = workdir / f"generator-{users}.json"
    report_dir = workdir / "reports"
    run_id = f"wire-{users}"
    pcap = workdir / f"wire-{users}.pcap"
    with ReferenceServer(extra_args=["--latency-ms", str(latency_ms)]) as server:
        command = [str(h.VENV_BIN / "locust"), "-f",
                   f"{ROOT / 'loadtests' / 'customers.py'},{ROOT / 'loadtests' / 'profile_shape.py'},{probe}",
                   "--headless", "-u", str(users), "-r", str(min(users, 200)), "-t", f"{int(seconds)}s",
                   "--host", server.url, "--think-time", think_for(users), "--report-dir", str(report_dir),
                   "--run-id", run_id, "--prometheus-port", "0", "--loglevel", "WARNING",
                   "--request-log", str(workdir / f"requests-{users}.csv")]
        env = {**h.locust_env(), "BENCH_GENERATOR_FILE": str(record)}
        with Capture(dumpcap, server.port, pcap):
            out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120, env=env)
    summary_path = report_dir / "runs" / run_id / "summary.json"
    if not summary_path.exists():
        raise RuntimeError("no summary.json:\n" + (out.stdout + out.stderr)[-3000:])
    summary = json.loads(summary_path.read_text())
    samples = suite_samples(workdir / f"requests-{users}.csv")
    if not samples:
        raise RuntimeError("the suite logged no business requests:\n" + (out.stdout + out.stderr)[-3000:])
    starts = [start for start, _, _ in samples]
    # the wire's requests sent between the suite's first and last (not the start-up checks, the
    # end-of-run cleanup or the reconciliation scrape); a millisecond's slack for the send itself
    wire = wire_times(tshark, pcap, (min(starts) - 0.001, max(starts) + 0.005))
    totals = summary["totals"]
    suite = {p: totals[f"p{p}_ms"] for p in QUANTILES}
    wire_exact = exact(wire)
    matched = figures(match(samples, wire))
    matched["suite"] = matched.pop("tool")
    generator = json.loads(record.read_text()) if record.exists() else {}
    return {
        "users": users, "think": think_for(users), "seconds": seconds, "latency_ms": latency_ms,
        "suite_requests": totals["count"], "suite_failures": totals["failures"], "wire_responses": len(wire),
        "rps": totals["rps"], "suite": suite, "wire": wire_exact,
        "over_wire": {p: suite[p] - wire_exact[p] for p in wire_exact if suite[p] is not None},
        "matched": matched,
        "loop_lag_p95_ms": generator.get("lag_p95_ms"), "loop_lag_max_ms": generator.get("lag_max_ms"),
        "cpu_max_percent": generator.get("max"),
    }


def run_k6_level(users: int, seconds: float, latency_ms: float, workdir: Path, tshark: str, dumpcap: str,
                 k6: str) -> dict:
    """k6 with ``users`` VUs for ``seconds`` against a fresh reference server, captured the same way."""
    from bss_reference.process import ReferenceServer

    pcap = workdir / f"wire-k6-{users}.pcap"
    points = workdir / f"k6-{users}-points.json"
    summary_path = workdir / f"k6-{users}-summary.json"
    low, high = think_for(users).split(",")
    with ReferenceServer(extra_args=["--latency-ms", str(latency_ms)]) as server:
        command = [k6, "run", "--quiet", "--no-usage-report", "--vus", str(users),
                   "--duration", f"{int(seconds)}s", "--summary-trend-stats", "avg,min,max,p(50),p(95),p(99)",
                   "--summary-export", str(summary_path), "--out", f"json={points}",
                   "-e", f"TARGET={server.url}", "-e", f"THINK_MIN={low}", "-e", f"THINK_MAX={high}",
                   "-e", f"RUN_ID=k6wire{users}", str(K6_SCRIPT)]
        env = {**os.environ, "K6_NO_USAGE_REPORT": "true", "BSS_CLIENT_SECRET": server.client_secret}
        with Capture(dumpcap, server.port, pcap):
            process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, start_new_session=True, env=env)
            try:
                output, _ = process.communicate(timeout=seconds + 90)
            except subprocess.TimeoutExpired:
                h.stop(process)
                raise RuntimeError("k6 did not end in time") from None
    if not summary_path.exists() or not points.exists():
        raise RuntimeError(f"k6 wrote no summary or points (exit {process.returncode}):\n{output[-3000:]}")
    metrics = json.loads(summary_path.read_text())["metrics"]
    with points.open() as fh:
        samples, failed = k6_samples(fh)
    if not samples:
        raise RuntimeError(f"k6 recorded no business requests:\n{output[-3000:]}")
    starts = [start for start, _, _ in samples]
    wire = wire_times(tshark, pcap, (min(starts) - 1.0, max(starts) + 1.0))
    reported = {p: float(metrics["http_req_duration"][f"p({p})"]) for p in QUANTILES}
    wire_exact = exact(wire)
    matched = figures(match(samples, wire))
    matched["k6"] = matched.pop("tool")
    return {
        "vus": users, "requests": len(samples), "failures": failed, "wire_responses": len(wire),
        "rps": float(metrics["http_reqs"]["rate"]), "k6": reported, "wire": wire_exact,
        "over_wire": {p: reported[p] - wire_exact[p] for p in wire_exact}, "matched": matched,
    }


def _show_percentiles(tool: str, key: str, block: dict, of: int) -> None:
    """The summary's and the paired percentiles of one tool (``key``: its column in ``block``)."""
    label = f"{tool:<5}"
    for p in ("50", "95", "99"):
        if p in block["wire"]:
            print(f"   p{p}: wire {block['wire'][p]:8.3f} ms   {label} {block[key][p]:8.3f} ms   "
                  f"over the wire {block['over_wire'][p]:+.3f} ms")
    m = block["matched"]
    if m["requests"]:
        print(f"   {'' if tool == 'suite' else tool + ' '}matched request by request ({m['requests']} of {of}):")
        for p in QUANTILES:
            print(f"   p{p}: wire {m['wire'][p]:8.3f} ms   {label} {m[key][p]:8.3f} ms   "
                  f"over the wire {m[key][p] - m['wire'][p]:+.3f} ms   per-request overhead p{p} {m['overhead'][p]:.3f} ms")


def show(result: dict) -> None:
    r = result
    print(f"{r['users']:>5} users (think {r['think']} s, {r['latency_ms']:g} ms injected, {r['seconds']:g} s): "
          f"{r['suite_requests']} requests ({r['suite_failures']} failed) at {r['rps']:.0f}/s; "
          f"wire saw {r['wire_responses']} responses")
    _show_percentiles("suite", "suite", r, r["suite_requests"])
    print(f"   event loop lag: p95 {r['loop_lag_p95_ms']} ms, max {r['loop_lag_max_ms']} ms; "
          f"CPU max {r['cpu_max_percent']} %")
    k = r.get("k6")
    if not k:
        return
    print(f"   k6, {k['vus']} VUs, same think time and seconds, fresh server: {k['requests']} requests "
          f"({k['failures']} failed) at {k['rps']:.0f}/s; wire saw {k['wire_responses']} responses")
    _show_percentiles("k6", "k6", k, k["requests"])
    if r.get("suite_minus_k6_overhead_p50_ms") is not None:
        print(f"   suite overhead p50 - k6 overhead p50: {r['suite_minus_k6_overhead_p50_ms']:+.3f} ms "
              f"({r['matched']['overhead']['50']:.3f} - {k['matched']['overhead']['50']:.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="20,200", help="comma-separated user counts (default 20,200)")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", default="", help="keep the captures, request logs and reports in this directory")
    parser.add_argument("--k6", action=argparse.BooleanOptionalAction, default=None,
                        help="run k6 as the peer at each level (default: when k6 is found)")
    args = parser.parse_args(argv)
    found = tools()
    if found is None:
        print(MISSING)
        return 1
    k6 = h.k6_path() if args.k6 is not False else None
    if k6 is None and args.k6 is not False:
        print(h.MISSING_HINTS["k6"] + "; the k6 side is skipped")
    print(f"machine: {h.machine()}", flush=True)
    results = []
    with contextlib.ExitStack() as stack:
        tmp = args.keep or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-wire-"))
        Path(tmp).mkdir(parents=True, exist_ok=True)
        for users in (int(u) for u in args.users.split(",")):
            result = run_level(users, args.seconds, args.latency_ms, Path(tmp), *found)
            if k6 is not None:
                result["k6"] = run_k6_level(users, args.seconds, args.latency_ms, Path(tmp), *found, k6)
                suite_m, k6_m = result["matched"]["overhead"], result["k6"]["matched"]["overhead"]
                result["suite_minus_k6_overhead_p50_ms"] = (suite_m["50"] - k6_m["50"]
                                                            if suite_m and k6_m else None)
            show(result)
            results.append(result)
            sys.stdout.flush()
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
