"""ci.py: the JUnit file and the Markdown job summary of a run, and writing them."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest
from synthetic import KEYS, make_stats, make_summary

from bss_loadtest.core.errors import INVALID_CONFIG, ConfigError
from bss_loadtest.reports.ci import STEP_SUMMARY_ENV, step_summary_path, to_junit, to_markdown, write_ci_outputs

THRESHOLDS = [
    {"metric": "http_req_duration", "expression": "p(95)<500", "scope": None, "observed": 61.25,
     "passed": True, "reason": None, "abort_on_fail": False},
    {"metric": "http_req_duration", "expression": "p(99)<50", "scope": "name:GET /api/v1/customers/{id}",
     "observed": 612.0, "passed": False, "reason": "612 ms is not < 50", "abort_on_fail": False},
    {"metric": "http_req_failed", "expression": "rate<0.01", "scope": None, "observed": 0.0123,
     "passed": False, "reason": "0.0123 (1.23%) is not < 0.01", "abort_on_fail": True},
    {"metric": "http_reqs", "expression": "rate>10", "scope": "user_class:CustomerUser", "observed": None,
     "passed": False, "reason": "no requests for user class CustomerUser", "abort_on_fail": False},
]


@pytest.fixture(scope="module")
def summary():
    stats, stages = make_stats(duration_s=30, total_requests=3_000, seed=7,
                               weights={KEYS[1]: 5.0, KEYS[2]: 3.0}, slow={KEYS[8]: 400.0})
    return make_summary(stats, stages, run_id="ci-<run>", duration_s=30, exit_code=99, thresholds=THRESHOLDS)


def test_junit_one_case_per_threshold(summary):
    root = ET.fromstring(to_junit(summary))
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "3"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "bss-loadtest.load" and suite.get("time") == "30.000"
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["run_id"] == "ci-<run>" and properties["exit_code"] == "99" and properties["status"] == "complete"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "http_req_duration p(95)<500",
        "http_req_duration{name:GET /api/v1/customers/{id}} p(99)<50",
        "http_req_failed rate<0.01",
        "http_reqs{user_class:CustomerUser} rate>10",
    ]
    passed, slow, errors, empty = cases
    assert passed.find("failure") is None
    assert passed.find("system-out").text == "observed 61.2 ms, limit < 500 ms"
    assert {p.get("name"): p.get("value") for p in passed.find("properties")} == {"observed": "61.25",
                                                                                  "limit": "< 500 ms"}
    failure = slow.find("failure")
    assert failure.get("type") == "threshold" and failure.get("message") == "observed 612 ms, limit < 50 ms"
    assert failure.text == "612 ms is not < 50"
    assert errors.find("failure").get("message") == "observed 0.0123 (1.23%), limit < 0.01 (1%)"
    assert empty.find("failure").get("message") == "observed -, limit > 10/s"
    assert empty.find("failure").text == "no requests for user class CustomerUser"


def test_junit_of_a_run_without_thresholds(summary):
    root = ET.fromstring(to_junit({**summary, "thresholds": [], "exit_code": 0}))
    assert root.get("tests") == "0" and root.find("testsuite").findall("testcase") == []


def test_markdown(summary):
    md = to_markdown(summary)
    lines = md.splitlines()
    assert lines[0] == "## ❌ bss-loadtest load: FAILED (exit code 99)"
    assert "Run `ci-&lt;run&gt;` against `http://127.0.0.1:8080`: 30.0 s, " in lines[2]
    assert "| PASS | http_req_duration p(95)&lt;500 | 61.2 ms | &lt; 500 ms |" in lines
    assert "| **FAIL** | http_req_failed rate&lt;0.01 | 0.0123 (1.23%) | &lt; 0.01 (1%) |" in lines
    assert "| **FAIL** | http_reqs{user_class:CustomerUser} rate&gt;10 | - | &gt; 10/s |" in lines
    busiest = md.split("### Top endpoints by requests")[1].split("###")[0]
    rows = [line for line in busiest.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 10 and rows[0].startswith(f"| {KEYS[1]} |") and rows[1].startswith(f"| {KEYS[2]} |")
    slowest = md.split("### Top endpoints by p95")[1]
    rows = [line for line in slowest.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 10 and rows[0].startswith(f"| {KEYS[8]} |")
    assert "AUTH" not in md  # token requests are not endpoints of the API under test
    assert "Partial run" not in md


def test_markdown_of_a_passing_partial_and_a_sub_second_run(summary):
    md = to_markdown({**summary, "exit_code": 0, "status": "partial", "partial_reason": "interrupted (SIGINT)"})
    assert md.startswith("## ✅ bss-loadtest load: PASSED\n") and "> ⚠️ Partial run: interrupted (SIGINT)" in md
    short = to_markdown({**summary, "duration_s": 0.2})
    assert "### Top endpoints by requests (run under 1 s: no rates)" in short
    busiest = short.split("### Top endpoints by requests")[1].split("###")[0]
    rows = [line for line in busiest.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 10 and all(line.endswith("| – |") for line in rows)


def test_write_ci_outputs(summary, tmp_path):
    junit = tmp_path / "out" / "junit.xml"
    step = tmp_path / "step-summary.md"
    step.write_text("## an earlier step\n")
    written = write_ci_outputs(summary, junit_path=str(junit), step_summary_path=str(step))
    assert written == [str(junit), str(step)]
    assert ET.parse(junit).getroot().get("tests") == "4"
    text = step.read_text()
    assert text.startswith("## an earlier step\n## ❌ bss-loadtest load") and text.count("### Thresholds") == 1
    write_ci_outputs(summary, junit_path=None, step_summary_path=str(step))  # appended again, not replaced
    assert step.read_text().count("### Thresholds") == 2
    assert write_ci_outputs(summary, junit_path=None, step_summary_path=None) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_path_is_one_config_error_line(summary, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ConfigError) as info:
            write_ci_outputs(summary, junit_path=str(locked / "junit.xml"), step_summary_path=None)
        assert info.value.exit_code == INVALID_CONFIG
        assert str(info.value) == f"--junit: {locked / 'junit.xml'}: cannot write: Permission denied"
        with pytest.raises(ConfigError, match=rf"^{STEP_SUMMARY_ENV}: .*cannot write: Permission denied$"):
            write_ci_outputs(summary, junit_path=None, step_summary_path=str(locked / "summary.md"))
    finally:
        locked.chmod(0o700)


def test_a_path_that_is_a_directory_is_one_config_error_line(summary, tmp_path):
    with pytest.raises(ConfigError, match=r"^--junit: .*: cannot write: ") as info:
        write_ci_outputs(summary, junit_path=str(tmp_path), step_summary_path=None)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=rf"^{STEP_SUMMARY_ENV}: .*: cannot read: ") as info:
        write_ci_outputs(summary, junit_path=None, step_summary_path=str(tmp_path))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as info:
        write_ci_outputs(summary, junit_path=str(blocker / "ci" / "junit.xml"), step_summary_path=None)
    assert str(info.value) == (f"--junit: {blocker / 'ci' / 'junit.xml'}: cannot create the directory "
                               f"{blocker / 'ci'}: a file is in the way")
    with pytest.raises(ConfigError, match=r"cannot create the directory .*file: a file is in the way$"):
        write_ci_outputs(summary, junit_path=str(blocker / "junit.xml"), step_summary_path=None)


def test_step_summary_path():
    assert step_summary_path({STEP_SUMMARY_ENV: "/tmp/x.md"}) == "/tmp/x.md"
    assert step_summary_path({STEP_SUMMARY_ENV: ""}) is None and step_summary_path({}) is None
