"""The end-of-run flush on the master does not wait ``FLUSH_TIMEOUT_S`` for a worker that is gone.

A worker cut off after it reported "stopped" is no longer in ``runner.clients``, so Locust's
heartbeat check never marks it missing; the namespace tests cannot hit that window on purpose
(a few milliseconds between "stopped" and the flush reply), so this drives
``StatsListener.flush_workers`` with a runner whose workers play each case. It runs in a Python
process of its own: importing Locust patches the standard library of the importing process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, time
import gevent
from types import SimpleNamespace
from locust.event import Events
from bss_loadtest.run import listeners
from bss_loadtest.run.suite import RunState

listeners.FLUSH_TIMEOUT_S = 10.0
listeners.FLUSH_UNTRACKED_TIMEOUT_S = 1.0

class Runner:
    def __init__(self):
        self.clients = {}
    def send_message(self, kind, data, client_id):
        behaviour[client_id]()

def client(worker_id, state):
    runner.clients[worker_id] = SimpleNamespace(id=worker_id, state=state, user_classes_count={})

def reply(worker_id, after):
    def later():
        msg = SimpleNamespace(node_id=worker_id, data={"stats": None, "cleanup": None})
        listener.on_flush_reply(environment, msg)
    gevent.spawn_later(after, later)

def leave_then_reply(worker_id, tracked_for, after):
    def later():
        del runner.clients[worker_id]
        reply(worker_id, after)
    gevent.spawn_later(tracked_for, later)

def go_missing(worker_id, after):
    gevent.spawn_later(after, lambda: setattr(runner.clients[worker_id], "state", "missing"))

runner = Runner()
environment = SimpleNamespace(events=Events(), runner=runner)
run = RunState(run_id="flush-test", finalized=False)
run.stats.merge_dict = lambda delta, **kwargs: None
suite = SimpleNamespace(environment=environment, run=run, is_master=True, is_worker=False,
                        thresholds=SimpleNamespace(configure=lambda run: None))
listener = listeners.StatsListener(suite)
run.known_workers = {"answers", "cut-after-stopped", "cut-while-running", "long-cleanup"}
client("cut-while-running", "running")
client("long-cleanup", "stopping")
behaviour = {
    "answers": lambda: reply("answers", 0.1),                      # stopped, untracked, answers at once
    "cut-after-stopped": lambda: None,                             # stopped, untracked, never answers
    "cut-while-running": lambda: go_missing("cut-while-running", 0.5),  # Locust marks it missing
    # Tracked while it cleans up for longer than the untracked timeout, then stopped and answers.
    "long-cleanup": lambda: leave_then_reply("long-cleanup", 2.0, 0.3),
}
started = time.monotonic()
silent = listener.flush_workers()
print(json.dumps({"silent": silent, "elapsed": time.monotonic() - started,
                  "answered": sorted(run.final_received)}))
"""


def test_the_flush_drops_a_worker_that_is_gone_and_waits_for_one_that_cleans_up():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    verdict = json.loads(result.stdout.strip().splitlines()[-1])
    assert verdict["silent"] == ["cut-after-stopped", "cut-while-running"], verdict
    assert verdict["answered"] == ["answers", "long-cleanup"], verdict
    # About the untracked timeout (1 s here) after the flush began, not FLUSH_TIMEOUT_S (10 s here).
    assert verdict["elapsed"] < 5, verdict
