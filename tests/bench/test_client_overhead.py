"""bench/client_overhead.py without timing anything: callgrind's count is read, and each side of
``--mode instructions`` runs (a few requests, no valgrind) against the bench's own target."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import client_overhead as co  # noqa: E402


def test_callgrinds_count_is_read():
    out = "==123== Events    : Ir\n==123== Collected : 3620881610\n==123==\n==123== I   refs:      3,620,881,610\n"
    assert co.collected(out) == 3620881610
    assert co.collected("==1== nothing here") is None
    assert co.collected("==1== Collected : many") is None


@pytest.mark.parametrize("side", co.INSTRUCTION_SIDES)
def test_each_side_runs_its_requests_without_a_failure(side, tmp_path):
    port = co.free_port()
    target = co.start_target("python", tmp_path, port)
    try:
        script = tmp_path / "side.py"
        script.write_text(co.SIDE)
        run = subprocess.run([sys.executable, str(script), f"http://127.0.0.1:{port}", side, "5"],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(co.ROOT / "src")})
    finally:
        os.killpg(target.pid, signal.SIGTERM)
        target.wait(10)
    assert run.returncode == 0, run.stderr[-2000:]
