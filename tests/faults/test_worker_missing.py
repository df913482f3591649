"""A worker whose event loop is held for seconds (as spawning on starved cores did): with Locust's
own heartbeat liveness (3) the master marks it missing, says so and ends the run partial; with the
suite's default (--heartbeat-liveness 10) the same stall keeps it."""

from __future__ import annotations

import textwrap

import pytest
from tests.faults.faultkit import ROOT, assert_results_whole, kill_group, start_locust

from bss_loadtest.run import options

pytestmark = pytest.mark.slow

STALL_S = 6.0
"""How long worker 0's loop is held: past Locust's 3 (missing after over 4 s without a heartbeat),
well under the suite's default (over 11 s)."""

LOCUSTFILE = f"""\
import sys
import time

sys.path.insert(0, {str(ROOT / "loadtests")!r})
from customers import CustomerUser  # noqa: E402

from bss_loadtest.run import plugin  # noqa: E402
from bss_loadtest.run.shape import ProfileShape  # noqa: E402,F401

plugin.register()
STALLED = []


class StallUser(CustomerUser):
    def on_start(self):
        if not STALLED and getattr(self.environment.runner, "worker_index", 0) == 0:
            STALLED.append(True)
            end = time.perf_counter() + {STALL_S}  # a busy loop: no greenlet, no heartbeat runs
            while time.perf_counter() < end:
                pass
        super().on_start()
"""

PROFILE = """\
description: worker 0 holds its loop for a while
stages:
  - {duration: 12s, target: 4, spawn_rate: 4}
users: {StallUser: 1}
think_time: {min: 0.2, max: 0.5}
"""


@pytest.mark.parametrize("liveness", ["3", None], ids=["locusts-3", "suite-default"])
def test_a_stalled_worker_is_kept_or_reported_missing_by_the_liveness(liveness, tmp_path, reference_server):
    (tmp_path / "stall.py").write_text(LOCUSTFILE)
    (tmp_path / "stall.yaml").write_text(textwrap.dedent(PROFILE))
    args = ["--profile", str(tmp_path / "stall.yaml"), "--host", reference_server.url, "--processes", "2"]
    if liveness is not None:
        args += ["--heartbeat-liveness", liveness]
    run = start_locust(args, tmp_path / "reports", locustfile=tmp_path / "stall.py")
    try:
        run.wait(timeout=120)
    finally:
        kill_group(run.process)
    assert "Traceback" not in run.output, run.output[-4000:]
    if liveness is None:
        assert options.DEFAULT_HEARTBEAT_LIVENESS + 1 > STALL_S + 3
        summary = assert_results_whole(run.run_dir, status="complete")
        assert summary["workers"] == {"count": 2, "lost": []}
        assert "went missing" not in run.output and "setting state to missing" not in run.output
        return
    summary = assert_results_whole(run.run_dir, status="partial")
    assert summary["workers"]["count"] == 2 and len(summary["workers"]["lost"]) == 1, summary["workers"]
    lost = summary["workers"]["lost"][0]
    reason = summary["partial_reason"]
    assert reason.startswith(f"worker(s) lost during the run: {lost} (missing at "), reason
    assert ", back at " in reason and "(--heartbeat-liveness 3)" in reason, reason
    # Said while it happened, not only at the end; and the console's verdict says it too.
    assert f"Worker {lost} went missing" in run.output and f"Worker {lost} is back" in run.output, run.output[-4000:]
    assert f"PARTIAL: {reason}" in run.output
