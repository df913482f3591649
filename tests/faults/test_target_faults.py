"""Fault matrix, the target misbehaves: the run goes on, counts each failure in its class, writes
complete results and exits 99 when a threshold is crossed (0 when it held)."""

from __future__ import annotations

import csv
import textwrap
import threading
import time

import pytest
from tests.e2e.runs import ROOT, free_port
from tests.faults.faultkit import BadTarget, assert_results_whole, start_locust, write_profile

from bss_reference.process import ReferenceServer

pytestmark = pytest.mark.slow


def _no_traceback(run) -> None:
    assert "Traceback" not in run.output, run.output[-4000:]


def test_5xx_storm_counts_server_errors_and_exits_99(tmp_path, reference_server_factory):
    server = reference_server_factory(extra_args=["--error-rate", "1.0"])
    run = start_locust(["--profile", str(write_profile(tmp_path, seconds=4)), "--host", server.url],
                       tmp_path / "reports").wait()
    assert run.returncode == 99, run.output[-4000:]
    _no_traceback(run)
    summary = assert_results_whole(run.run_dir, status="complete")
    assert summary["failures_by_class"].get("server_error", 0) > 0
    assert summary["failures_by_class"].get("server_error") == summary["totals"]["failures"]
    assert "Thresholds: FAILED (exit code 99)" in run.output


def test_429_storm_counts_rate_limited_and_lists_what_cleanup_could_not_delete(tmp_path, reference_server_factory):
    server = reference_server_factory(extra_args=["--rate-limit", "--rate-limit-user", "5"])
    run = start_locust(["--profile", str(write_profile(tmp_path, seconds=4)), "--host", server.url],
                       tmp_path / "reports").wait()
    assert run.returncode == 99, run.output[-4000:]
    _no_traceback(run)
    summary = assert_results_whole(run.run_dir, status="complete")
    assert summary["failures_by_class"].get("rate_limited", 0) > 0
    cleanup = summary["cleanup"]
    assert cleanup is not None
    for item in cleanup["not_deleted"]:  # what the rate limit kept from being deleted is named
        assert item["resource"] and item["id"] and item["reason"]
    # and counted, over the processes, by reason and kind
    assert cleanup["not_deleted_count"] == sum(sum(k.values()) for k in cleanup["left_behind"].values())
    assert cleanup["not_deleted_count"] >= len(cleanup["not_deleted"])


HANGING_LOCUSTFILE = """\
    \"\"\"The suite's users with a 1 s request timeout (the stock one is 30 s).\"\"\"
    import sys
    sys.path.insert(0, {loadtests!r})

    from bss_loadtest.run import plugin
    from bss_loadtest.run.shape import ProfileShape  # noqa: F401
    import customers as _customers

    plugin.register()


    class CustomerUser(_customers.CustomerUser):
        network_timeout = 1.0
        connection_timeout = 1.0
"""


def test_responses_hanging_past_the_timeout_are_timeouts(tmp_path, reference_server_factory):
    server = reference_server_factory(extra_args=["--latency-ms", "2500"])
    locustfile = tmp_path / "short_timeout.py"
    locustfile.write_text(textwrap.dedent(HANGING_LOCUSTFILE.format(loadtests=str(ROOT / "loadtests"))))
    run = start_locust(["--profile", str(write_profile(tmp_path, seconds=5)), "--host", server.url],
                       tmp_path / "reports", locustfile=locustfile).wait()
    assert run.returncode == 99, run.output[-4000:]
    _no_traceback(run)
    summary = assert_results_whole(run.run_dir, status="complete")
    assert summary["failures_by_class"].get("timeout", 0) > 0, summary["failures_by_class"]
    # the run ended on time: a hanging target does not hold the run past its profile
    assert summary["duration_s"] < 20


@pytest.mark.parametrize("mode, failure_class", [("not_json", "validation"), ("truncated", None)])
def test_non_json_and_truncated_bodies_are_failures_not_crashes(mode, failure_class, tmp_path):
    with BadTarget(mode) as target:
        run = start_locust(["--profile", str(write_profile(tmp_path, seconds=4)), "--host", target.url],
                           tmp_path / "reports").wait()
    assert target.requests > 0
    assert run.returncode == 99, run.output[-4000:]
    _no_traceback(run)
    summary = assert_results_whole(run.run_dir, status="complete")
    assert summary["totals"]["failures"] == summary["totals"]["count"] > 0
    classes = summary["failures_by_class"]
    if failure_class:
        assert classes.get(failure_class) == summary["totals"]["failures"], classes
    else:
        assert set(classes) <= {"connection", "validation", "other"}, classes


SECRET_REFUSED = "wrong-secret-5f3c1a"


def test_token_endpoint_that_refuses_is_one_line_before_any_user_starts(tmp_path, reference_server_factory):
    server = reference_server_factory(client_secret="the-right-secret", extra_args=["--client-secret", "the-right-secret"])
    run = start_locust(["--profile", str(write_profile(tmp_path, seconds=4)), "--host", server.url],
                       tmp_path / "reports", env={"BSS_CLIENT_SECRET": SECRET_REFUSED}).wait()
    assert run.returncode == 104, run.output[-4000:]
    _no_traceback(run)
    errors = [line for line in run.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "answered HTTP 401" in errors[0] and "--client-secret" in errors[0], errors
    assert not run.run_dir.exists(), "no run may start with credentials the target refuses"
    assert SECRET_REFUSED not in run.output


def test_target_down_mid_run_and_back_counts_connection_errors_then_recovers(tmp_path):
    port = free_port()
    db = str(tmp_path / "bss.sqlite")
    first = ReferenceServer(port=port, db=db).start()
    second = ReferenceServer(port=port, db=db)
    profile = write_profile(tmp_path, seconds=10, thresholds='http_req_failed: ["rate<0.9"]')
    run = start_locust(["--profile", str(profile), "--host", first.url], tmp_path / "reports")
    outage: dict[str, float] = {}

    def outage_and_back() -> None:
        time.sleep(3)
        first.close()
        outage["down"] = time.time()
        time.sleep(2.5)
        second.start()
        outage["up"] = time.time()

    chaos = threading.Thread(target=outage_and_back, daemon=True)
    chaos.start()
    try:
        run.wait()
        chaos.join(timeout=30)
    finally:
        first.close()
        second.close()
    _no_traceback(run)
    assert run.returncode == 0, run.output[-4000:]
    summary = assert_results_whole(run.run_dir, status="complete")
    assert summary["failures_by_class"].get("connection", 0) > 0, summary["failures_by_class"]
    # after the target came back, requests succeed again
    with open(run.run_dir / "history.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["name"] == "Aggregated"]
    after = [r for r in rows if float(r["timestamp"]) > outage["up"] + 1]
    assert sum(int(r["requests"]) - int(r["failures"]) for r in after) > 0, after
