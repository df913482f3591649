"""Real Prometheus and Pushgateway processes on loopback, for tests (no fixtures here: plain functions).

Reusable from any test directory::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "prometheus"))
    from prom_servers import free_port, start_prometheus, start_pushgateway

Each ``start_*`` returns a :class:`ServerProcess` listening on ``127.0.0.1:<free port>`` once its
``/-/ready`` answers; the caller stops it (SIGTERM to its PID, then SIGKILL) in its teardown. A
missing binary skips the test with the Debian package to install.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROMETHEUS_BINARY = "prometheus"
PUSHGATEWAY_BINARIES = ("prometheus-pushgateway", "pushgateway")
PROMTOOL_BINARY = "promtool"
INSTALL_HINT = "apt-get install -y prometheus prometheus-pushgateway"
START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_binary(*names: str) -> str:
    """The binary's path, or skip the test naming the package that provides it."""
    path = find_binary(*names)
    if path is None:
        pytest.skip(f"{names[0]} not installed ({INSTALL_HINT})")
    return path


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


@dataclass
class ServerProcess:
    """A server started as a subprocess on loopback; :meth:`stop` ends it by its PID."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def wait_ready(self, path: str = "/-/ready", timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                http_get(self.url + path, timeout=1.0)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log()}")


def _spawn(name: str, argv: Sequence[str], url: str, workdir: Path) -> ServerProcess:
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = ServerProcess(name, process, url, log_path)
    server.wait_ready()
    return server


def start_pushgateway(workdir: Path, port: int | None = None) -> ServerProcess:
    """Start ``prometheus-pushgateway`` on ``127.0.0.1:<port>`` with persistence in ``workdir``."""
    binary = require_binary(*PUSHGATEWAY_BINARIES)
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    argv = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        f"--persistence.file={workdir / 'pushgateway.db'}",
        "--persistence.interval=1s",
    ]
    return _spawn("pushgateway", argv, f"http://127.0.0.1:{port}", workdir)


OPENMETRICS_SCRAPE_PROTOCOLS = ["OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText0.0.4"]
"""``scrape_protocols`` asking for OpenMetrics first (what exemplars need); Prometheus 2.49 and later."""


def prometheus_version(binary: str) -> tuple[int, int, int]:
    """``prometheus --version``'s number, e.g. ``(2, 42, 0)``; ``(0, 0, 0)`` if it says none."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    found = re.search(r"version (\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    return tuple(int(n) for n in found.groups()) if found else (0, 0, 0)  # type: ignore[return-value]


def prometheus_config(
    targets: Sequence[str] = (),
    honor_labels_targets: Sequence[str] = (),
    scrape_interval: str = "1s",
    scrape_protocols: Sequence[str] = (),
) -> str:
    """A ``prometheus.yml``: job ``bss_loadtest`` scrapes ``targets`` (``host:port``) and job
    ``pushgateway`` scrapes ``honor_labels_targets`` with ``honor_labels: true``.

    ``scrape_protocols`` (Prometheus 2.49 and later; older ones always ask for OpenMetrics first)
    is set on the ``bss_loadtest`` job when given."""
    jobs = []
    if targets:
        job: dict[str, Any] = {"job_name": "bss_loadtest", "static_configs": [{"targets": list(targets)}]}
        if scrape_protocols:
            job["scrape_protocols"] = list(scrape_protocols)
        jobs.append(job)
    if honor_labels_targets:
        jobs.append(
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": list(honor_labels_targets)}],
            }
        )
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": jobs,
    }
    return json.dumps(config, indent=2)  # JSON is YAML


def start_prometheus(
    workdir: Path,
    targets: Sequence[str] = (),
    honor_labels_targets: Sequence[str] = (),
    scrape_interval: str = "1s",
    port: int | None = None,
    features: Sequence[str] = (),
) -> PrometheusProcess:
    """Start ``prometheus`` on ``127.0.0.1:<port>`` scraping ``targets`` every ``scrape_interval``.

    ``features`` are ``--enable-feature`` flags; with ``exemplar-storage`` the ``bss_loadtest`` job
    also asks for OpenMetrics explicitly where this Prometheus knows ``scrape_protocols``."""
    binary = require_binary(PROMETHEUS_BINARY)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    protocols: Sequence[str] = ()
    if "exemplar-storage" in features and prometheus_version(binary) >= (2, 49, 0):
        protocols = OPENMETRICS_SCRAPE_PROTOCOLS
    config.write_text(prometheus_config(targets, honor_labels_targets, scrape_interval, protocols))
    port = port or free_port()
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        *(f"--enable-feature={feature}" for feature in features),
    ]
    log_path = workdir / "prometheus.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = PrometheusProcess("prometheus", process, f"http://127.0.0.1:{port}", log_path)
    server.wait_ready()
    return server


class PrometheusProcess(ServerProcess):
    """A running Prometheus with helpers for its HTTP API."""

    def query(self, expr: str) -> list[dict[str, Any]]:
        """``/api/v1/query``: the instant vector's results (``[{"metric": {...}, "value": [t, "v"]}]``)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = json.loads(http_get(url))
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        return body["data"]["result"]

    def query_value(self, expr: str) -> float | None:
        """The single value of ``expr``, or ``None`` when the result is empty."""
        results = self.query(expr)
        if not results:
            return None
        assert len(results) == 1, f"{expr!r} returned {len(results)} series: {results}"
        return float(results[0]["value"][1])

    def query_exemplars(self, expr: str, start: float, end: float) -> list[dict[str, Any]]:
        """``/api/v1/query_exemplars``: ``[{"seriesLabels": {...}, "exemplars": [{"labels", "value",
        "timestamp"}]}]`` for the series of ``expr`` between ``start`` and ``end`` (Unix seconds)."""
        query = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}"})
        body = json.loads(http_get(f"{self.url}/api/v1/query_exemplars?{query}"))
        if body.get("status") != "success":
            raise AssertionError(f"query_exemplars {expr!r} failed: {body}")
        return body["data"] or []

    def wait_for(self, expr: str, predicate: Any, timeout: float = 20.0) -> float | None:
        """Poll ``expr`` until ``predicate(value)`` holds; return the last value either way."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.query_value(expr)
            if value is not None and predicate(value):
                return value
            time.sleep(0.25)
        return value
