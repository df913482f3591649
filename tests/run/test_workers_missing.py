"""A worker Locust's master marks missing: --heartbeat-liveness sets when, and the run says it at
once (a warning), in its partial reason and in ``workers.lost``, even when the worker came back."""

from __future__ import annotations

import json
import logging
import socket
import textwrap
from pathlib import Path

import pytest
from locust import runners as locust_runners
from locust.env import Environment
from locust.event import Events
from locust.runners import STATE_MISSING, STATE_RUNNING, WorkerNode
from tests.run.test_suite import QuietUser, options_for

from bss_loadtest.core import errors
from bss_loadtest.run import locust_fixes, options, plugin
from bss_loadtest.run.suite import suite_of

PROFILE = """\
description: a worker goes missing
stages:
  - {duration: 10s, target: 4, spawn_rate: 4}
users:
  QuietUser: 1
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def master(tmp_path: Path, monkeypatch):
    """A suite on a real MasterRunner (bound to a free loopback port, no worker connects)."""
    monkeypatch.setattr(locust_runners, "HEARTBEAT_LIVENESS", locust_runners.HEARTBEAT_LIVENESS)
    runners: list = []

    def build(*args: str, connected: tuple[WorkerNode, ...] = ()):
        path = tmp_path / "missing.yaml"
        path.write_text(textwrap.dedent(PROFILE))
        parsed = options_for("--profile", str(path), "--report-dir", str(tmp_path / "reports"),
                             "--prometheus-port", "0", "--fixed-run-id", "missing-run", "--headless", *args)
        events = Events()
        plugin.register(events)
        environment = Environment(user_classes=[QuietUser], events=events, parsed_options=parsed)
        environment.available_user_classes = {"QuietUser": QuietUser}
        runner = environment.create_master_runner("127.0.0.1", free_port())
        runners.append(runner)
        for node in connected:  # workers that connected while the init listeners ran
            runner.clients[node.id] = node
        events.init.fire(environment=environment, runner=runner, web_ui=None)
        return environment, suite_of(environment)

    yield build
    for runner in runners:
        runner.quit()


def test_the_master_takes_the_suites_liveness_by_default_and_the_options(master):
    master()
    assert locust_runners.HEARTBEAT_LIVENESS == options.DEFAULT_HEARTBEAT_LIVENESS == locust_fixes.heartbeat_liveness()
    assert options.DEFAULT_HEARTBEAT_LIVENESS > 3  # more than Locust's own
    master("--heartbeat-liveness", "25")
    assert locust_runners.HEARTBEAT_LIVENESS == 25


def test_workers_connected_before_init_keep_the_beats_they_missed_under_the_new_liveness(master):
    # Armed with Locust's 3 when they connected: one has missed 2 beats since, one none, and one
    # Locust already marked missing (its state and count stay as Locust set them).
    early, late, gone = (WorkerNode(name, state=STATE_RUNNING, heartbeat_liveness=3) for name in ("early", "late", "gone"))
    early.heartbeat, late.heartbeat = 1, 3
    gone.state, gone.heartbeat = STATE_MISSING, -1
    master("--heartbeat-liveness", "12", connected=(early, late, gone))
    assert (early.heartbeat, late.heartbeat) == (1 + 12 - 3, 12)
    assert (gone.state, gone.heartbeat) == (STATE_MISSING, -1)


@pytest.mark.parametrize("value", ["0", "-2", "2.5", "many", str(options.MAX_HEARTBEAT_LIVENESS + 1)])
def test_a_bad_liveness_is_one_error_line_and_exit_104(master, value, capsys):
    with pytest.raises(SystemExit) as ended:
        master("--heartbeat-liveness", value)
    assert ended.value.code == errors.INVALID_CONFIG
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[-1]] and err[-1].startswith(f"error: --heartbeat-liveness '{value}': "), err


def test_set_heartbeat_liveness_refuses_less_than_one(monkeypatch):
    monkeypatch.setattr(locust_runners, "HEARTBEAT_LIVENESS", locust_runners.HEARTBEAT_LIVENESS)
    with pytest.raises(ValueError):
        locust_fixes.set_heartbeat_liveness(0)
    locust_fixes.set_heartbeat_liveness(7)
    assert locust_runners.HEARTBEAT_LIVENESS == 7


def test_a_worker_marked_missing_is_said_at_once_and_the_run_ends_partial_even_if_it_came_back(master, caplog,
                                                                                              tmp_path):
    environment, suite = master("--heartbeat-liveness", "4")
    runner = environment.runner
    environment.events.test_start.fire(environment=environment)
    started = suite.run.started_at
    for worker in ("w-kept", "w-gone", "w-back"):
        node = WorkerNode(worker, state=STATE_RUNNING)
        node.user_classes_count = {"QuietUser": 1500}
        runner.clients[worker] = node
    collector = suite.collector
    collector.check_workers(now=started + 5)
    assert suite.run.lost_workers == set()
    # Locust's heartbeat check: the state goes to missing and the worker's users are emptied.
    for worker in ("w-gone", "w-back"):
        runner.clients[worker].state = STATE_MISSING
        runner.clients[worker].user_classes_count = {}
    with caplog.at_level(logging.WARNING, logger="bss_loadtest.run.listeners"):
        collector.check_workers(now=started + 12)
        collector.check_workers(now=started + 13)  # still missing: said once
    said = [r.getMessage() for r in caplog.records if "went missing" in r.getMessage()]
    assert len(said) == 2, said
    assert all("12 s into the run" in line and "1500 users" in line and "over 5 s" in line
               and "--heartbeat-liveness 4" in line for line in said), said
    runner.clients["w-back"].state = STATE_RUNNING  # a heartbeat again: Locust's "self-healed"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bss_loadtest.run.listeners"):
        collector.check_workers(now=started + 20)
    assert [r.getMessage() for r in caplog.records] == [
        "Worker w-back is back 20 s into the run (missing since 12 s); the run stays partial: its users were out "
        "of the count meanwhile"]
    assert suite.run.lost_workers == {"w-gone", "w-back"}
    reason = collector.lost_reason(suite.run.lost_workers | {"w-silent"})
    assert reason == (
        "worker(s) lost during the run: w-back (missing at 12 s with 1500 users, back at 20 s); "
        "w-gone (missing at 12 s with 1500 users); w-silent (no last numbers at the end); "
        "missing: no heartbeat for over 5 s (--heartbeat-liveness 4)")


def test_the_summary_lists_a_worker_that_went_missing_and_came_back(master, tmp_path):
    environment, suite = master()
    runner = environment.runner
    environment.events.test_start.fire(environment=environment)
    node = WorkerNode("w-back", state=STATE_MISSING)
    runner.clients["w-back"] = node
    suite.collector.check_workers(now=suite.run.started_at + 3)
    node.state = STATE_RUNNING
    suite.collector.check_workers(now=suite.run.started_at + 9)
    suite.run.final_received.add("w-back")  # it answered the end-of-run flush: nothing to wait for
    environment.events.test_stop.fire(environment=environment)
    summary = json.loads((tmp_path / "reports" / "runs" / "missing-run" / "summary.json").read_text())
    assert summary["status"] == "partial"
    assert summary["workers"] == {"count": 1, "lost": ["w-back"]}
    assert summary["partial_reason"].startswith("worker(s) lost during the run: w-back (missing at 3 s with 0 users, "
                                                "back at 9 s)")
