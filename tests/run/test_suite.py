"""The suite's Locust glue built in-process: a fresh Environment, events fired at its listeners."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from locust import User, constant, task
from locust.argument_parser import get_parser
from locust.env import Environment
from locust.event import Events

from bss_loadtest.client.base import BssUser
from bss_loadtest.core import errors
from bss_loadtest.run import listeners, plugin
from bss_loadtest.run.suite import RunState, Suite, suite_of


class QuietUser(User):
    """A user that makes no requests: the tests fire the request events themselves."""

    wait_time = constant(1)

    @task
    def nothing(self) -> None:
        pass


class PacedUser(BssUser):
    """A BSS user (its tasks are paced by a scenario's executor) that makes no requests."""

    @task
    def nothing(self) -> None:
        pass


PROFILE = """\
description: in-process glue test
stages:
  - {duration: 10s, target: 1, spawn_rate: 1}
users:
  QuietUser: 1
thresholds:
  http_req_duration: ["p(95)<100"]
  http_req_failed: ["rate<0.5"]
"""


def options_for(*args: str):
    events = Events()
    plugin.on_init_command_line_parser(parser := get_parser())
    del events
    return parser.parse_args(["-f", "unused.py", *args])


def build(tmp_path: Path, *args: str, profile: str = PROFILE,
          users: tuple[type, ...] = (QuietUser,)) -> tuple[Environment, Suite]:
    path = tmp_path / "glue.yaml"
    path.write_text(textwrap.dedent(profile))
    options = options_for(
        "--profile", str(path), "--report-dir", str(tmp_path / "reports"), "--prometheus-port", "0",
        "--fixed-run-id", "glue-run", "--headless", *args,
    )
    events = Events()
    plugin.register(events)
    environment = Environment(user_classes=list(users), events=events, parsed_options=options)
    environment.available_user_classes = {cls.__name__: cls for cls in users}
    runner = environment.create_local_runner()
    events.init.fire(environment=environment, runner=runner, web_ui=None)
    return environment, suite_of(environment)


def request(environment: Environment, ms: float, *, failed: bool = False, name: str = "/api/v1/customers") -> None:
    environment.events.request.fire(
        request_type="GET", name=name, response_time=ms, response_length=0,
        exception=RuntimeError("boom") if failed else None, context={"user_class": "QuietUser"},
    )


def summary_of(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "reports" / "runs" / "glue-run" / "summary.json").read_text())


def test_the_suite_hangs_on_the_environment_and_registers_per_events_object(tmp_path):
    environment, suite = build(tmp_path)
    assert isinstance(suite, Suite) and environment.bss is suite
    assert suite.selection.profile is None  # selected when the run starts (or the shape asks)
    assert suite.active_plan() is not None and suite.active_user_classes() == [QuietUser]
    plugin.register(environment.events)  # a second locustfile importing the plugin: no second listener
    assert len(environment.events.init._handlers) == 1


def test_a_run_that_passes_writes_its_results_and_exits_0(tmp_path):
    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    assert suite.run.run_id == "glue-run" and not suite.run.finalized
    for ms in (10, 20, 30, 40):
        request(environment, ms)
    environment.events.test_stop.fire(environment=environment)
    assert environment.process_exit_code == errors.OK
    summary = summary_of(tmp_path)
    assert summary["status"] == "complete" and summary["exit_code"] == 0
    assert summary["totals"]["count"] == 4 and summary["requests"][0]["name"] == "/api/v1/customers"
    assert [t["passed"] for t in summary["thresholds"]] == [True, True]
    assert summary["user_classes"] == [{"name": "QuietUser", "count": 4, "failures": 0,
                                        "p95_ms": summary["totals"]["p95_ms"]}]


def test_a_crossed_threshold_exits_99_and_says_which(tmp_path, capsys):
    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    for _ in range(3):
        request(environment, 500)
    request(environment, 5, failed=True)
    environment.events.test_stop.fire(environment=environment)
    assert environment.process_exit_code == errors.THRESHOLDS_CROSSED
    crossed = [t for t in summary_of(tmp_path)["thresholds"] if not t["passed"]]
    assert [t["metric"] for t in crossed] == ["http_req_duration"]
    assert "FAILED (exit code 99)" in capsys.readouterr().out


def test_every_run_starts_from_a_fresh_state(tmp_path):
    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    request(environment, 10)
    first = suite.run
    environment.events.test_stop.fire(environment=environment)
    assert first.finalized and first.finished.is_set()
    environment.events.test_start.fire(environment=environment)
    assert suite.run is not first and suite.run.stats.total.count == 0 and suite.run.cleanup_reports == []
    environment.events.test_stop.fire(environment=environment)
    assert summary_of(tmp_path)["totals"]["count"] == 0


def test_two_environments_in_one_process_do_not_share_a_run(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env_a, suite_a = build(tmp_path / "a")
    env_b, suite_b = build(tmp_path / "b")
    env_a.events.test_start.fire(environment=env_a)
    env_b.events.test_start.fire(environment=env_b)
    request(env_a, 10)
    request(env_a, 11)
    request(env_b, 12)
    assert (suite_a.run.stats.total.count, suite_b.run.stats.total.count) == (2, 1)


def test_interrupted_run_is_written_partial_with_exit_130(tmp_path):
    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    request(environment, 10)
    suite.signals.received = "SIGTERM"
    environment.events.quitting.fire(environment=environment, reverse=True)
    assert environment.process_exit_code == errors.INTERRUPTED
    summary = summary_of(tmp_path)
    assert summary["status"] == "partial" and "SIGTERM" in summary["partial_reason"]


def test_abort_on_fail_ends_the_plan_at_the_next_tick(tmp_path):
    profile = PROFILE.replace(
        'http_req_failed: ["rate<0.5"]',
        'http_req_failed: [{threshold: "rate<0.5", abortOnFail: true}]',
    )
    environment, suite = build(tmp_path, profile=profile)
    environment.shape_class = object()  # a shape is in use: the abort goes through the plan
    environment.events.test_start.fire(environment=environment)
    for _ in range(4):
        request(environment, 5, failed=True)
    suite.lifecycle.sample()
    assert suite.run.abort_reason and "abortOnFail" in suite.run.abort_reason
    suite.end_run()
    assert suite.active_plan().advance(1.0) is None  # the shape's next tick ends the run
    environment.events.test_stop.fire(environment=environment)
    summary = summary_of(tmp_path)
    assert summary["status"] == "partial" and summary["partial_reason"].startswith("aborted:")
    assert summary["stages"], "an aborted run keeps its planned stages for the report"


def test_results_that_cannot_be_written_are_one_line_and_exit_104(tmp_path, capsys):
    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    request(environment, 10)
    run_dir = tmp_path / "reports" / "runs" / "glue-run"
    shutil.rmtree(run_dir, ignore_errors=True)  # history.csv streams into it from the start
    run_dir.write_text("a file where the run directory goes")
    environment.events.test_stop.fire(environment=environment)
    assert environment.process_exit_code == errors.INVALID_CONFIG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "cannot write results" in err[0]


def test_a_bad_profile_at_start_up_is_one_error_line_and_its_exit_code(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        build(tmp_path, profile="description: x\nstages: []\nusers: {QuietUser: 1}\n")
    assert exited.value.code == errors.INVALID_CONFIG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "stages" in err[0]


SCENARIOS = """\
description: in-process scenarios
users: {PacedUser: 1}
scenarios:
  browse: {executor: constant-vus, vus: 2, duration: 10s}
  volume: {executor: shared-iterations, vus: 1, iterations: 5, startTime: 2s}
"""


def test_a_scenario_profile_builds_its_schedules_once_for_its_lanes_plan_and_engine(tmp_path):
    environment, suite = build(tmp_path, profile=SCENARIOS, users=(PacedUser,))
    environment.events.test_start.fire(environment=environment)
    selection = suite.selection
    assert sorted(selection.schedules) == ["browse", "volume"]
    assert {cls.__name__: cls.fixed_count for cls in selection.scenario_classes} == {
        "PacedUser@browse": 2, "PacedUser@volume": 1}
    assert selection.plan.schedules is selection.schedules
    assert suite.run.scenarios.schedules is selection.schedules
    assert selection.plan.bound_s > selection.schedules["volume"].stop_by_s
    environment.events.test_stop.fire(environment=environment)


UNPACED = """\
description: in-process scenarios
users: {PacedUser: 1}
scenarios:
  browse: {executor: constant-vus, vus: 2, duration: 10s}
  volume: {executor: shared-iterations, vus: 2, iterations: 5, users: {PacedUser: 1, QuietUser: 1}}
"""


def test_a_scenario_user_that_is_not_a_bss_user_is_refused_at_start_up(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        build(tmp_path, profile=UNPACED, users=(PacedUser, QuietUser))
    assert exited.value.code == errors.INVALID_CONFIG
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: profile glue: scenarios.volume.users: QuietUser is not a BssUser, so scenario volume's executor "
        "cannot pace its iterations; derive it from bss_loadtest.client.base.BssUser"]


def test_a_scenario_profile_of_unpaced_users_picked_later_ends_the_run_with_the_same_line(tmp_path, capsys):
    environment, suite = build(tmp_path, users=(PacedUser, QuietUser))  # a stages profile of QuietUser: runs
    picked = tmp_path / "picked.yaml"
    picked.write_text(UNPACED.replace("{PacedUser: 1}\nscenarios", "{QuietUser: 1}\nscenarios"))
    environment.profile = str(picked)  # as the web UI's profile picker sets it
    selection = suite.select()
    assert selection.plan.advance(0.0) is None and selection.scenario_classes is None
    assert selection.error == ("profile picked: users: QuietUser is not a BssUser, so scenario browse's executor "
                               "cannot pace its iterations; derive it from bss_loadtest.client.base.BssUser")
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {selection.error}"]


def test_worker_reports_merge_into_the_masters_run(tmp_path):
    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    worker = RunState(run_id="glue-run", finalized=False)
    worker.stats.record("GET", "/api/v1/orders", 42.0, None, "QuietUser")
    data: dict = {}
    data["bss"] = worker.stats.take_delta()
    data["bss_cpu"] = {"max": 95.0, "high": 4}
    environment.events.worker_report.fire(client_id="w1", data=data)
    assert suite.run.stats.total.count == 1 and "w1" in suite.run.known_workers
    assert suite.run.cpu_saturated


def test_request_log_writes_every_sample_of_the_process(tmp_path):
    log = tmp_path / "samples.csv"
    environment, suite = build(tmp_path, "--request-log", str(log))
    environment.events.test_start.fire(environment=environment)
    request(environment, 10)
    request(environment, 20, failed=True)
    environment.events.test_stop.fire(environment=environment)
    environment.events.quitting.fire(environment=environment, reverse=True)
    (written,) = tmp_path.glob("samples.csv.*")
    rows = [line.split(",") for line in written.read_text().splitlines()]
    assert [(r[1], r[2], float(r[3]), r[4]) for r in rows] == [
        ("GET", "/api/v1/customers", 10.0, ""), ("GET", "/api/v1/customers", 20.0, "other"),
    ]


def test_no_module_of_the_glue_keeps_run_state_in_a_global():
    import types

    from bss_loadtest.run import console, generator, preflight, prometheus, reconcile, runtime, shape, suite

    mutable = (list, dict, set, RunState, Suite)
    for module in (listeners, plugin, suite, console, generator, preflight, prometheus, reconcile, runtime, shape):
        for name, value in vars(module).items():
            if name.startswith("__") or name.isupper() or isinstance(value, types.ModuleType):
                continue  # UPPER_SNAKE: constants and tables, by the house convention
            if isinstance(value, mutable):
                assert (module, name) == (plugin, "_registered"), f"{module.__name__}.{name} is mutable module state"


@pytest.mark.parametrize("full_at", ["report.html", "summary.json"])
def test_disk_full_while_writing_results_leaves_no_half_written_file(full_at, tmp_path, monkeypatch, capsys):
    """ENOSPC (``os.fsync`` of that file's temporary copy fails) while the results are written: one
    line, exit code 104, no partial file and no temporary file. ``summary.json`` is written last,
    so a run directory without it is an incomplete one, never a complete-looking one. (history.csv
    is streamed while the run goes on; its failed writes are tested with the history writer.)"""
    import errno
    import os

    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    for ms in range(1, 200):
        request(environment, float(ms))
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        try:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            name = ""
        if name.startswith(f".{full_at}."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    environment.events.test_stop.fire(environment=environment)
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and full_at in err[0] and "No space left on device" in err[0], err
    assert "Results:" not in captured.out
    assert environment.process_exit_code == errors.INVALID_CONFIG
    run_dir = tmp_path / "reports" / "runs" / "glue-run"
    names = sorted(p.name for p in run_dir.iterdir())
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")], names
    assert "summary.json" not in names
    assert full_at not in names
    if "history.csv" in names:
        assert (run_dir / "history.csv").read_text().startswith("timestamp,")
