"""Issue: profiles, the shape, thresholds and exit codes, end to end on loopback."""

from __future__ import annotations

import csv

import pytest

from bss_loadtest.core import profiles
from bss_loadtest.core.plan import StagePlan

pytestmark = pytest.mark.slow


def users_over_time(run_dir):
    rows = [r for r in csv.DictReader((run_dir / "history.csv").open()) if r["name"] == "Aggregated"]
    return [(float(r["elapsed_s"]), int(float(r["users"]))) for r in rows]


def assert_follows_stages(result, profile_name, time_scale):
    plan = StagePlan(profiles.load_profile(profile_name).scaled(time_scale))
    observed = users_over_time(result.run_dir)
    assert observed, "no history rows"
    for elapsed, users in observed:
        # Within a tick: a row covers one second and its user count is sampled somewhere in it,
        # so the targets from one tick before its start to one tick after its end bound it; a
        # steep ramp down (stress stops 200 users in 1.2 s here) may take one tick more on a
        # saturated 2-core machine, where users still in a request finish it first.
        candidates = [plan.target_at(max(0.0, elapsed + d)) for d in (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)]
        targets = [c[0] if c is not None else 0 for c in candidates]  # after the end: stopped
        assert min(targets) - 1 <= users <= max(targets) + 1, (elapsed, users, targets)
    timeline = plan.stages_timeline()
    assert result.summary["stages"] == timeline
    duration = result.summary["duration_s"]
    assert timeline[-1]["end_s"] - 2 <= duration <= timeline[-1]["end_s"] + 15


def test_smoke_passes_against_the_reference_server(reference_server, locust):
    result = locust(["--profile", "smoke", "--host", reference_server.url])
    assert result.returncode == 0, result.output[-3000:]
    summary = result.summary
    assert summary["exit_code"] == 0 and summary["status"] == "complete"
    assert summary["thresholds"] and all(t["passed"] for t in summary["thresholds"])
    assert summary["totals"]["failures"] == 0
    assert summary["generator"]["cpu_saturated"] is False
    assert "Thresholds: PASSED" in result.output
    # one end-of-run report: the suite's table, not Locust's own tables too
    assert "Response time percentiles" not in result.output and "# reqs" not in result.output
    # what the API cannot delete is expected, not a warning
    cleanup = [line for line in result.output.splitlines() if "Cleanup:" in line]
    assert len(cleanup) == 1 and "/INFO/" in cleanup[0] and "left as expected" in cleanup[0], cleanup


def test_locust_tables_only_when_asked_for(reference_server, locust):
    result = locust(["--profile", "smoke", "--host", reference_server.url, "--locust-tables"])
    assert result.returncode == 0, result.output[-3000:]
    assert "Thresholds: PASSED" in result.output and "Response time percentiles" in result.output


def test_junit_and_github_step_summary(reference_server_factory, locust, tmp_path):
    import xml.etree.ElementTree as ET

    server = reference_server_factory(extra_args=["--latency-ms", "300"])
    junit, step = tmp_path / "ci" / "junit.xml", tmp_path / "step-summary.md"
    step.write_text("## an earlier step\n")
    result = locust(["--profile", "smoke", "--host", server.url, "--junit", str(junit)],
                    env={"GITHUB_STEP_SUMMARY": str(step)})
    assert result.returncode == 99, result.output[-3000:]
    suite = ET.parse(junit).getroot().find("testsuite")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert set(cases) == {"http_req_duration p(95)<200", "http_req_failed rate<0.01"}
    failure = cases["http_req_duration p(95)<200"].find("failure")
    assert failure is not None and "limit < 200 ms" in failure.get("message")
    assert cases["http_req_failed rate<0.01"].find("failure") is None
    text = step.read_text()
    assert text.startswith("## an earlier step\n## ❌ bss-loadtest smoke: FAILED (exit code 99)")
    assert "| **FAIL** | http_req_duration p(95)&lt;200 |" in text and "### Top endpoints by p95" in text


def test_smoke_with_injected_latency_crosses_p95_and_exits_99(reference_server_factory, locust):
    server = reference_server_factory(extra_args=["--latency-ms", "300"])
    result = locust(["--profile", "smoke", "--host", server.url])
    assert result.returncode == 99, result.output[-3000:]
    crossed = [t for t in result.summary["thresholds"] if not t["passed"]]
    assert [t["expression"] for t in crossed] == ["p(95)<200"]
    assert crossed[0]["observed"] >= 300
    assert "p(95)<200" in result.output and "FAIL" in result.output


def test_load_follows_its_stages_at_time_scale(reference_server_factory, locust):
    server = reference_server_factory(extra_args=[])
    result = locust(["--profile", "load", "--time-scale", "0.02", "--host", server.url])
    assert result.returncode == 0, result.output[-3000:]
    assert_follows_stages(result, "load", 0.02)


@pytest.mark.parametrize("error_rate, expected", [("0.2", 99), ("0.05", 0)])
def test_stress_verdict_follows_the_error_rate(reference_server_factory, locust, error_rate, expected):
    server = reference_server_factory(extra_args=["--error-rate", error_rate])
    result = locust(["--profile", "stress", "--time-scale", "0.02", "--host", server.url])
    assert result.returncode == expected, result.output[-3000:]
    assert_follows_stages(result, "stress", 0.02)
    failed = [t for t in result.summary["thresholds"] if not t["passed"]]
    if expected == 99:
        assert any(t["metric"] == "http_req_failed" for t in failed)
    else:
        assert not failed


@pytest.mark.parametrize("error_rate, expected", [("0.2", 99), ("0.05", 0)])
def test_stress_distributed_judged_on_merged_numbers(reference_server_factory, locust, error_rate, expected):
    server = reference_server_factory(extra_args=["--error-rate", error_rate])
    result = locust(["--profile", "stress", "--time-scale", "0.02", "--processes", "2", "--host", server.url])
    assert result.returncode == expected, result.output[-3000:]
    summary = result.summary
    assert summary["workers"]["count"] == 2 and summary["workers"]["lost"] == []
    assert summary["status"] == "complete"
    # Merged numbers: the server saw exactly the requests the master reports.
    assert summary["totals"]["count"] > 100
