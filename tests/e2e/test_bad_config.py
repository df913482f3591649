"""Bad profiles and options end a Locust run before any user starts: one line, exit code 104."""

from __future__ import annotations

import textwrap

import pytest

pytestmark = pytest.mark.slow

GOOD = """
description: a valid profile to mutate
stages:
  - {duration: 5s, target: 2}
users: {CustomerUser: 1}
think_time: {min: 0.1, max: 0.2}
thresholds:
  http_req_duration: ["p(95)<500"]
"""

BAD_PROFILES = {
    "malformed_yaml": ("stages: [\n  - {duration: 5s", "invalid YAML"),
    "unknown_top_level_key": (GOOD + "stagse: []\n", "stagse"),
    "unknown_stage_key": (GOOD.replace("{duration: 5s, target: 2}", "{duration: 5s, target: 2, hold: 1}"), "stages[0].hold"),
    "wrong_type": (GOOD.replace("target: 2", "target: many"), "stages[0].target"),
    "negative_target": (GOOD.replace("target: 2", "target: -3"), "stages[0].target"),
    "zero_spawn_rate": (GOOD.replace("target: 2}", "target: 2, spawn_rate: 0}"), "stages[0].spawn_rate"),
    "ramp_longer_than_stage": (GOOD.replace("target: 2}", "target: 200, spawn_rate: 1}"), "stages[0]"),
    "unknown_user_class": (GOOD.replace("CustomerUser", "CustomerUsr"), "CustomerUsr"),
    "unknown_endpoint": (GOOD + '  "http_req_duration{name:GET /api/v1/nope}": ["p(95)<100"]\n', "/api/v1/nope"),
    "malformed_threshold": (GOOD.replace("p(95)<500", "p95 below 500"), "thresholds"),
    "unknown_statistic": (GOOD.replace("p(95)<500", "p(95)<500", 1).replace('["p(95)<500"]', '["median<500"]'), "thresholds"),
    "think_time_inverted": (GOOD.replace("{min: 0.1, max: 0.2}", "{min: 2, max: 1}"), "think_time"),
    "empty_stages": (GOOD.replace("  - {duration: 5s, target: 2}\n", "").replace("stages:\n", "stages: []\n"), "stages"),
}


def assert_one_line_error(result, *fragments):
    assert result.returncode == 104, result.output[-3000:]
    assert "Traceback" not in result.output, result.output[-3000:]
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert not result.run_dir.exists(), "no run may start on a bad configuration"


@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_bad_profile_is_one_line_and_exit_104(case, tmp_path, locust):
    content, fragment = BAD_PROFILES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(textwrap.dedent(content))
    result = locust(["--profile", str(path), "--host", "http://127.0.0.1:9", "-t", "5s"], timeout=60)
    assert_one_line_error(result, path.name, fragment)


def test_unknown_profile_name_lists_the_available_ones(locust):
    result = locust(["--profile", "lod", "--host", "http://127.0.0.1:9"], timeout=60)
    assert_one_line_error(result, "lod", "load", "smoke", "stress")


@pytest.mark.parametrize(
    "host, fragment",
    [("127.0.0.1:8080", "--host"), ("ftp://127.0.0.1", "--host"), ("http://127.0.0.1:99999", "port")],
)
def test_bad_host_is_one_line_and_exit_104(host, fragment, locust):
    result = locust(["--profile", "smoke", "--host", host], timeout=60)
    assert_one_line_error(result, fragment)


def test_guarded_profile_refuses_a_non_loopback_host(locust):
    result = locust(["--profile", "stress", "--host", "http://192.0.2.10:8080"], timeout=60)
    assert_one_line_error(result, "allowed_hosts", "--allow-host")


@pytest.mark.parametrize(
    "host, fragment",
    [("http://127.0.0.1:9", "cannot connect"), ("http://no-such-host.invalid:8080", "cannot resolve")],
)
def test_unreachable_target_is_one_line_and_exit_105(host, fragment, locust):
    result = locust(["--profile", "smoke", "--host", host], timeout=60)
    assert result.returncode == 105, result.output[-3000:]
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and fragment in errors[0], result.output[-3000:]
