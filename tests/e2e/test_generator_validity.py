"""A generator whose CPU is saturated made less load than it promised: the run says so."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.e2e.runs import ROOT

pytestmark = pytest.mark.slow

BUSY_LOCUSTFILE = '''
import time
from locust import User, constant, task
from bss_loadtest.run import plugin

plugin.register()


class BusyUser(User):
    """Burns the generator's CPU, as an overloaded load generator does."""

    wait_time = constant(0)

    @task
    def spin(self):
        start = time.perf_counter()
        while time.perf_counter() - start < 0.05:
            pass
        self.environment.events.request.fire(
            request_type="GET", name="/busy", response_time=50.0, response_length=0,
            exception=None, context={"user_class": "BusyUser"},
        )
'''


def test_saturated_generator_is_flagged_in_console_summary_and_report(tmp_path):
    """The busy user holds the event loop 50 ms at a time, so the loop's lag is flagged whatever else
    runs on the machine; its CPU is flagged saturated when the process had its core (at least 90 %
    for 3 one-second samples), which a machine busy with other work may not give it: then the lag
    is how the run says so."""
    locustfile = tmp_path / "busy.py"
    locustfile.write_text(BUSY_LOCUSTFILE)
    reports = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", "1", "-r", "1",
         "-t", "6s", "--report-dir", str(reports), "--fixed-run-id", "busy", "--prometheus-port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=90,
    )
    run_dir = reports / "runs" / "busy"
    summary = json.loads((run_dir / "summary.json").read_text())
    generator = summary["generator"]
    report = (run_dir / "report.html").read_text()
    assert generator["loop_lagging"] is True and generator["loop_lag_ms"] > 2.0, generator
    assert "the load generator's event loop lagged" in result.stdout
    assert "event loop lagging" in report
    assert generator["max_cpu_percent"] > 0  # (what counts as saturated: tests/run/test_generator_lag.py)
    if generator["cpu_saturated"]:
        assert "load generator's CPU was saturated" in result.stdout
        assert "saturated" in report.lower()
