"""Smoke tests of the generator-benchmark harness (bench/_harness.py, bench/generators.py, bench/run_all.py).

They check the pieces that decide what the benchmarks mean, without timing anything: the target's
body is a valid health body for the client layer, percentiles are nearest-rank, the profile's
categories attribute a stack to its innermost layer, and run_all refuses an unknown name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import _harness as h  # noqa: E402
import generators  # noqa: E402


def test_health_body_is_about_1_kb_and_valid_for_the_client_layer():
    # Not through client.base: that imports locust, which must not monkey-patch this pytest process.
    from bss_loadtest.client.endpoints import ENDPOINTS
    from bss_loadtest.client.validation import validator_for

    assert 1000 <= len(h.HEALTH_BODY.encode()) <= 1100
    endpoint = ENDPOINTS["actuator.health"]
    assert endpoint.method == "GET"
    parsed = validator_for(endpoint.response)(h.HEALTH_BODY.encode())
    assert endpoint.check(parsed) is None  # status UP


def test_nearest_rank_percentiles():
    values = sorted(float(v) for v in range(1, 101))
    assert generators.nearest_rank(values, 50) == 50.0
    assert generators.nearest_rank(values, 95) == 95.0
    assert generators.nearest_rank(values, 99) == 99.0
    assert generators.nearest_rank([7.0], 99) == 7.0


def test_profile_categories_use_the_innermost_matching_frame():
    stacks = {
        "run (locust/user/users.py:1);call (bss_loadtest/client/base.py:2);"
        "model_validate_json (pydantic/main.py:3)": 3,
        "run (locust/user/users.py:1);request (geventhttpclient/client.py:4);send (gevent/_socketcommon.py:5)": 5,
    }
    counts = dict(generators._categorise(stacks))
    assert counts["pydantic validation (client layer)"] == 3
    assert counts["gevent hub / scheduling / socket I/O"] == 5


def test_locust_command_pins_and_wires_the_suite_options(tmp_path):
    files = h.write_locustfiles(tmp_path)
    command = h.locust_command("suite", files, "http://127.0.0.1:1", 10, 15.0, tmp_path / "x", processes=2)
    assert "--prometheus-port" in command and "--no-auth" in command
    assert command[command.index("-t") + 1] == "15s"
    port = command[command.index("--master-port") + 1]
    assert command[command.index("--master-bind-port") + 1] == port
    bare = h.locust_command("bare", files, "http://127.0.0.1:1", 10, 15, tmp_path / "y")
    assert "--prometheus-port" not in bare


def test_run_all_rejects_an_unknown_benchmark():
    result = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--only", "nope"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown benchmark" in result.stderr


@pytest.mark.parametrize("tool", ["nginx", "k6", "taskset", "py-spy"])
def test_missing_tool_hint_names_a_package(tool):
    assert "install" in h.MISSING_HINTS[tool]
