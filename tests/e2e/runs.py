"""End-to-end runs: real Locust processes against a real reference server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping
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


def run_bounded(command: list[str], *, timeout: float, name: str | None = None, cwd: Path = ROOT,
                env: Mapping[str, str] | None = None, stderr: int = subprocess.STDOUT) -> subprocess.CompletedProcess:
    """Run ``command`` to its end in a session of its own, bounded: past ``timeout`` seconds its
    whole process group is killed and the test fails with the tail of what it wrote (``name``
    says what did not end). ``env`` is added to this process's environment. ``stderr``:
    ``subprocess.STDOUT`` merges it into ``stdout``; ``subprocess.PIPE`` keeps it apart."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True,
                               env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise AssertionError(f"{name or command[0]} did not end within {timeout} s:\n{(err or out)[-4000:]}") from None
    return subprocess.CompletedProcess(command, process.returncode, out, err or "")


def run_bss_loadtest(*args: str, timeout: float, cwd: Path = ROOT, env: Mapping[str, str] | None = None,
                     stderr: int = subprocess.STDOUT) -> subprocess.CompletedProcess:
    """Run ``bss-loadtest ARGS`` (``run``, ``import-k6``, ...) to its end, bounded as :func:`run_bounded`."""
    return run_bounded([sys.executable, "-m", "bss_loadtest", *args], timeout=timeout,
                       name=f"bss-loadtest {args[0]}" if args else "bss-loadtest", cwd=cwd, env=env, stderr=stderr)


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
    done = run_bounded(command, timeout=timeout, name="locust", env=env)
    return LocustResult(done.returncode, done.stdout, report_dir / "runs" / run_id)
