"""End-to-end runs: real Locust processes against a real reference server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCUST_TIMEOUT_S = 180


@dataclass
class LocustResult:
    returncode: int
    output: str
    run_dir: Path

    @property
    def summary(self) -> dict:
        return json.loads((self.run_dir / "summary.json").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_locust(args: list[str], report_dir: Path, *, timeout: float = LOCUST_TIMEOUT_S, env=None) -> LocustResult:
    """Run ``locust -f loadtests ... --headless`` to completion (bounded), ended by its own PID."""
    run_id = "t-" + uuid.uuid4().hex[:10]
    if "--processes" in args:
        # A private master port, so parallel runs never pick up each other's workers.
        port = str(free_port())
        args = [*args, "--master-port", port, "--master-bind-port", port]
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests"), "--headless",
        "--report-dir", str(report_dir), "--fixed-run-id", run_id, "--prometheus-port", "0",
        *args,
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})}, start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(f"locust did not end within {timeout} s:\n{output[-4000:]}") from None
    return LocustResult(process.returncode, output, report_dir / "runs" / run_id)
