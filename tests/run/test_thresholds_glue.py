"""k6's threshold vocabulary through the suite's listeners: the request context's checks, expected
status, scenario and group reach the run's statistics, the thresholds that name them are judged
and written, and worker deltas carry the scopes and the VU gauges to the master."""

from __future__ import annotations

import json
from pathlib import Path

from locust.env import Environment
from test_suite import build as build_suite

from bss_loadtest.core import errors
from bss_loadtest.core.thresholds import parse_thresholds, tracking_for
from bss_loadtest.run.suite import RunState, Suite

PROFILE = """\
description: k6 vocabulary glue test
stages:
  - {duration: 10s, target: 1, spawn_rate: 1}
  - {duration: 10s, target: 1, spawn_rate: 1}
users:
  QuietUser: 1
thresholds:
  checks: ["rate>0.9"]
  errors: ["rate<0.1"]
  http_req_duration{method:GET}: ["p(95)<100"]
  http_req_duration{expected_response:true}: ["max<100"]
  http_req_failed{status:503}: ["count<1"]
  http_req_duration{group:::order_to_payment}: ["p(95)<100"]
  http_req_duration{stage:0}: ["p(95)<100"]
  http_req_duration{stage:steady}: ["p(95)<100"]
  http_reqs: [{threshold: "count>0", window: "1m"}]
  vus: ["max<=5"]
"""


def build(tmp_path: Path, profile: str = PROFILE) -> tuple[Environment, Suite]:
    return build_suite(tmp_path, "--fixed-run-id", "k6-run", profile=profile)


def request(environment: Environment, ms: float, *, failed: bool = False, **context) -> None:
    environment.events.request.fire(
        request_type="GET", name="/api/v1/customers/{id}", response_time=ms, response_length=0,
        exception=RuntimeError("boom") if failed else None, context={"user_class": "QuietUser", **context},
    )


def summary_of(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "reports" / "runs" / "k6-run" / "summary.json").read_text())


def rows(summary: dict) -> dict[str, dict]:
    return {(f"{t['metric']}{{{t['scope']}}}" if t["scope"] else t["metric"]): t for t in summary["thresholds"]}


def test_the_request_context_reaches_the_thresholds_and_summary_json(tmp_path):
    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    for _ in range(20):
        request(environment, 20.0, status=200, checks=(3, 0), expected=True, group="::order_to_payment")
    request(environment, 500.0, failed=True, status=503, checks=(1, 2), expected=False)
    suite.run.stats.record_users(1)
    environment.events.test_stop.fire(environment=environment)
    summary = summary_of(tmp_path)
    got = rows(summary)
    assert got["checks"]["observed"] == 61 / 63 and got["checks"]["passed"]
    assert got["errors"]["observed"] == 2 / 63 and got["errors"]["passed"]
    assert got["http_req_duration{expected_response:true}"]["passed"], "the 503 was not expected"
    assert got["http_req_failed{status:503}"]["observed"] == 1 and not got["http_req_failed{status:503}"]["passed"]
    assert got["http_req_duration{group:::order_to_payment}"]["observed"] == 20.0
    stage0 = got["http_req_duration{stage:0}"]
    assert (stage0["stage"], stage0["observed"], stage0["passed"]) == (0, 20.0, True)
    assert got["http_req_duration{stage:steady}"]["reason"] == "no requests in the steady stages"
    assert got["http_reqs"]["window_s"] == 60.0 and got["http_reqs"]["window_start_s"] == 0.0
    assert got["http_reqs"]["passed"], "a run shorter than half its only window is still judged"
    assert got["vus"]["observed"] == 1 and got["vus"]["passed"]
    assert environment.process_exit_code == errors.THRESHOLDS_CROSSED
    assert summary["metrics"]["checks"] == {"passes": 61, "fails": 2, "value": 61 / 63}
    assert summary["metrics"]["http_req_failed"]["passes"] == 1
    assert set(suite.run.stats.scopes) == {"method:GET", "expected_response:true", "status:503",
                                           "group:::order_to_payment"}


def test_worker_deltas_carry_tag_scopes_and_vu_gauges_to_the_master(tmp_path):
    environment, suite = build(tmp_path)
    environment.events.test_start.fire(environment=environment)
    tracking = tracking_for(parse_thresholds({"http_req_failed{status:503}": ["count<1"]}))
    for client_id, vus in (("w1", 3), ("w2", 4)):
        worker = RunState(run_id="k6-run", finalized=False)
        worker.stats.configure(tracking)
        worker.stats.record("GET", "/api/v1/orders", 42.0, "server_error", "QuietUser", status=503, checks=(0, 1))
        worker.stats.set_vus(vus, 5)
        environment.events.worker_report.fire(client_id=client_id, data={"bss": worker.stats.take_delta()})
    stats = suite.run.stats
    assert stats.scope("status:503").count == 2 and stats.checks_of() == (0, 2)
    assert stats.vus_by_source == {"w1": (3, 5), "w2": (4, 5)}
    assert stats.vus_gauge()[0] == 7 and stats.vus_max_gauge()[0] == 10
    environment.events.test_stop.fire(environment=environment)
    got = rows(summary_of(tmp_path))
    assert got["vus"]["observed"] == 7 and got["vus"]["passed"] is False
    assert got["http_req_failed{status:503}"]["observed"] == 2


def test_a_bad_threshold_key_is_one_error_line_naming_the_file_and_the_key(tmp_path, capsys):
    import pytest

    profile = PROFILE + '  http_req_waiting: ["p(95)<100"]\n'
    with pytest.raises(SystemExit) as exited:
        build(tmp_path, profile=profile)
    assert exited.value.code == errors.INVALID_CONFIG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "glue.yaml" in err[0] and "http_req_waiting" in err[0]
    assert "use http_req_duration" in err[0]
