"""Profiles: the shipped files load, and every kind of bad profile is one line naming file and key."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from bss_loadtest.core import hosts, profiles
from bss_loadtest.core.errors import INVALID_CONFIG, ConfigError
from bss_loadtest.core.profiles import Profile, list_profiles, load_profile, parse_duration

REPO_PROFILES = Path(__file__).resolve().parents[2] / "profiles"
SHIPPED = ["extreme-soak", "extreme-spike", "load", "marathon", "production", "smoke", "soak", "spike", "stress",
           "volume"]
MIX_CLASSES = [
    "CustomerUser",
    "OrderUser",
    "InvoiceUser",
    "PaymentUser",
    "ProductUser",
    "ServiceUser",
    "AssetUser",
    "SubscriptionUser",
    "OrderJourneyUser",
    "CustomerCareUser",
]
USER_CLASSES = [*MIX_CLASSES, "SmokeUser"]
ENDPOINTS = ["GET /api/v1/customers/{id}", "POST /api/v1/orders", "GET /api/v1/invoices/{id}"]

GOOD = """\
description: a test profile
stages:
  - {duration: 1m, target: 10}
  - {duration: 30s, target: 10}
users: {CustomerUser: 3, OrderUser: 1}
thresholds:
  http_req_duration: ["p(95)<500"]
"""

SCENARIOS = """\
description: a test profile with scenarios
users: {CustomerUser: 3, OrderUser: 1}
scenarios:
"""


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load(path: Path) -> Profile:
    return load_profile(path, user_classes=USER_CLASSES, endpoints=ENDPOINTS)


# -- shipped profiles ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_profile_loads(name: str) -> None:
    profile = load_profile(name, user_classes=USER_CLASSES, profiles_dir=REPO_PROFILES)
    assert profile.name == name
    assert profile.description
    assert profile.parsed_thresholds, "every shipped profile declares thresholds"
    assert len(profile.hash) == 64


def test_shipped_profiles_are_exactly_these() -> None:
    assert [info.name for info in list_profiles(REPO_PROFILES)] == SHIPPED
    assert all(info.error is None for info in list_profiles(REPO_PROFILES))


@pytest.mark.parametrize(
    ("name", "minutes"),
    [("load", 16), ("stress", 13), ("smoke", 2), ("spike", 7 + 1 / 3), ("soak", 130)],
)
def test_stage_totals(name: str, minutes: float) -> None:
    assert load_profile(name, profiles_dir=REPO_PROFILES).total_duration_s == pytest.approx(minutes * 60)


def test_seed_stages_and_thresholds_are_kept_exact() -> None:
    load_ = load_profile("load", profiles_dir=REPO_PROFILES)
    assert [(s.duration, s.target) for s in load_.stages] == [(120, 10), (300, 10), (120, 20), (300, 20), (120, 0)]
    assert load_.thresholds == {"http_req_duration": ["p(95)<500"], "http_req_failed": ["rate<0.05"],
                                "errors": ["rate<0.1"]}
    stress = load_profile("stress", profiles_dir=REPO_PROFILES)
    assert [(s.duration, s.target) for s in stress.stages] == [
        (60, 50), (180, 50), (60, 100), (180, 100), (60, 200), (180, 200), (60, 0)
    ]
    assert stress.thresholds == {"http_req_duration": ["p(95)<1000"], "http_req_failed": ["rate<0.1"],
                                 "errors": ["rate<0.15"]}
    volume = load_profile("volume", profiles_dir=REPO_PROFILES)
    (scenario,) = volume.scenarios.values()
    assert (scenario.executor, scenario.vus, scenario.iterations) == ("shared-iterations", 500, 1_000_000)
    assert volume.thresholds["errors"] == ["rate<0.03"] and volume.guard_hosts
    smoke = load_profile("smoke", profiles_dir=REPO_PROFILES)
    assert smoke.users == {"SmokeUser": 1}
    assert smoke.thresholds == {"http_req_duration": ["p(95)<200"], "http_req_failed": ["rate<0.01"]}


@pytest.mark.parametrize("name", ["load", "stress", "spike", "soak"])
def test_mix_profiles_use_the_domain_user_classes(name: str) -> None:
    profile = load_profile(name, profiles_dir=REPO_PROFILES)
    assert set(profile.users) == set(MIX_CLASSES)
    assert profile.guard_hosts == (name != "load")


def test_seed_discrepancy_is_explained_in_the_files() -> None:
    assert "16 minutes" in (REPO_PROFILES / "load.yaml").read_text()
    assert "13 minutes" in (REPO_PROFILES / "stress.yaml").read_text()


def test_defaults(tmp_path: Path) -> None:
    profile = load(write(tmp_path, GOOD, "good.yaml"))
    assert profile.allowed_hosts == ["localhost", "127.0.0.0/8", "::1"]
    assert profile.guard_hosts is False
    assert profile.think_time.scale_with_time is False
    assert profile.tolerances is None  # compare's defaults apply


def test_tolerances_defaults_and_their_compare_form(tmp_path: Path) -> None:
    from bss_loadtest.reports.compare import DEFAULT_TOLERANCES, rules_from

    tolerances = load(write(tmp_path, GOOD + "tolerances: {}\n")).tolerances
    assert tolerances is not None
    assert tolerances.model_dump() == {"p95_pct": 10, "p95_min_ms": 5, "error_rate_points": 1, "throughput_pct": 10}
    mapping = tolerances.as_compare_mapping()
    assert {metric: DEFAULT_TOLERANCES[metric] for metric in mapping} == mapping  # defaults agree with compare's
    rules = rules_from(load(write(tmp_path, GOOD + "tolerances: {p95_pct: 20, throughput_pct: 5}\n")).tolerances.as_compare_mapping())
    assert (rules["p95_ms"].relative, rules["p95_ms"].absolute, rules["rps"].relative) == (0.2, 5.0, 0.05)


def test_lookup_by_name_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "profiles").mkdir()
    write(tmp_path / "profiles", GOOD, "mine.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_profile("mine").name == "mine"
    # the repository's own profiles stay reachable from elsewhere
    assert load_profile("load").name == "load"


def test_unknown_profile_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        load_profile("lod", profiles_dir=REPO_PROFILES)
    assert raised.value.message == f"unknown profile 'lod' (available: {', '.join(SHIPPED)})"
    assert raised.value.exit_code == INVALID_CONFIG


def test_missing_profile_file() -> None:
    with pytest.raises(ConfigError, match=r"profile file not found: nowhere/x\.yaml"):
        load_profile("nowhere/x.yaml")


# -- one line per bad profile ----------------------------------------------------------------

BAD_PROFILES = {
    "malformed YAML": (
        "description: x\nstages: [\n  - {duration: 1m, target: 1}\n",
        r"line \d+: invalid YAML: ",
    ),
    "duplicate key": (GOOD + "users: {OrderUser: 1}\n", r"line 8: invalid YAML: duplicate key 'users'"),
    "not a mapping": ("- 1\n- 2\n", r"must be a mapping, got a list"),
    "unknown top-level key": (
        GOOD + "stagez: []\n",
        r"stagez: unknown key \(allowed: description, stages, scenarios, users, .*tolerances\)",
    ),
    "unknown key in a stage": (
        GOOD.replace("target: 10}", "target: 10, spawnrate: 2}", 1),
        r"stages\[0\]\.spawnrate: unknown key \(allowed: duration, target, spawn_rate, name\)",
    ),
    "missing key": (GOOD.replace("description: a test profile\n", ""), r"description: required key is missing"),
    "wrong type": (GOOD.replace("target: 10}", "target: ten}", 1), r"stages\[0\]\.target: must be an integer, got 'ten'"),
    "negative target": (GOOD.replace("target: 10}", "target: -5}", 1), r"stages\[0\]\.target: must be at least 0"),
    "spawn_rate 0": (
        GOOD.replace("{duration: 30s, target: 10}", "{duration: 30s, target: 10, spawn_rate: 0}"),
        r"stages\[1\]\.spawn_rate: must be greater than 0$",
    ),
    "bad duration": (GOOD.replace("1m", "1x"), r"stages\[0\]\.duration: invalid duration '1x'"),
    "zero duration": (GOOD.replace("1m", "0s"), r"stages\[0\]\.duration: must be longer than 0 s"),
    "ramp that cannot finish": (
        GOOD.replace("{duration: 30s, target: 10}", "{duration: 30s, target: 100, spawn_rate: 2}"),
        r"stages\[1\]\.spawn_rate: ramp of 90 users at 2/s takes 45 s, longer than the stage \(30 s\)",
    ),
    "empty stages": (
        GOOD.replace("  - {duration: 1m, target: 10}\n  - {duration: 30s, target: 10}\n", "").replace(
            "stages:", "stages: []"
        ),
        r"stages: must not be empty",
    ),
    "empty users": (GOOD.replace("{CustomerUser: 3, OrderUser: 1}", "{}"), r"users: must not be empty"),
    "zero weight": (GOOD.replace("OrderUser: 1", "OrderUser: 0"), r"users\.OrderUser: must be greater than 0"),
    "unknown user class": (
        GOOD.replace("CustomerUser", "CustomerUsr"),
        r"users\.CustomerUsr: unknown user class \(known: AssetUser, CustomerCareUser, CustomerUser, ",
    ),
    "think_time min > max": (GOOD + "think_time: {min: 3, max: 1}\n", r"think_time: min \(3 s\) is greater than max \(1 s\)"),
    "unknown key in think_time": (
        GOOD + "think_time: {min: 1, max: 2, scale: true}\n",
        r"think_time\.scale: unknown key \(allowed: min, max, scale_with_time\)",
    ),
    "bad allowed host": (
        GOOD + "allowed_hosts: [localhost, 'no such host!']\n",
        r"allowed_hosts\[1\]: 'no such host!' is neither a host name nor an IP address or CIDR network",
    ),
    "negative tolerance": (GOOD + "tolerances: {p95_pct: -1}\n", r"tolerances\.p95_pct: must be at least 0"),
    "unknown endpoint in a threshold scope": (
        GOOD + "  http_req_duration{name:GET /api/v1/customer/{id}}: ['p(95)<300']\n",
        r'thresholds\."http_req_duration\{name:GET /api/v1/customer/\{id\}\}": unknown endpoint '
        r"'GET /api/v1/customer/\{id\}' \(did you mean 'GET /api/v1/customers/\{id\}'\? known: ",
    ),
    "user class in a threshold scope not in the mix": (
        GOOD + "  http_req_failed{user_class:InvoiceUser}: ['rate<0.1']\n",
        r'thresholds\."http_req_failed\{user_class:InvoiceUser\}": user class \'InvoiceUser\' takes no part',
    ),
    "unknown failure class in a threshold scope": (
        GOOD + "  http_req_failed{failure:throttled}: ['rate<0.1']\n",
        r'thresholds\."http_req_failed\{failure:throttled\}": unknown failure class \'throttled\' \(known: auth, ',
    ),
    "malformed threshold expression": (
        GOOD.replace('"p(95)<500"', '"p(95) under 500"'),
        r'thresholds\."http_req_duration"\[0\]: malformed threshold expression \'p\(95\) under 500\'',
    ),
    "unknown statistic": (
        GOOD.replace('"p(95)<500"', '"mean<500"'),
        r"thresholds\.\"http_req_duration\"\[0\]: unknown statistic 'mean' for http_req_duration "
        r"\(allowed: avg, min, med, max, p\(N\)\)",
    ),
    "unknown metric": (
        GOOD.replace("http_req_duration:", "http_req_duraton:"),
        r"thresholds\.\"http_req_duraton\": unknown metric 'http_req_duraton' \(known: http_req_duration, ",
    ),
    "bad threshold object key": (
        GOOD + "  http_req_failed: [{threshold: 'rate<0.1', abortOnFial: true}]\n",
        r'thresholds\."http_req_failed"\[0\]\.abortOnFial: unknown key \(allowed: threshold, abortOnFail, ',
    ),
    "bad delayAbortEval": (
        GOOD + "  http_req_failed: [{threshold: 'rate<0.1', abortOnFail: true, delayAbortEval: soon}]\n",
        r'thresholds\."http_req_failed"\[0\]\.delayAbortEval: invalid duration \'soon\'',
    ),
    "stages and scenarios": (
        GOOD + "scenarios: {a: {executor: constant-vus, vus: 2, duration: 1m}}\n",
        r"a profile has either stages .* or scenarios .*, not both$",
    ),
    "unknown executor": (
        SCENARIOS + "  a: {executor: constant-rate, duration: 1m}\n",
        r"scenarios\.a\.executor: input should be 'constant-vus', .*'ramping-arrival-rate'",
    ),
    "field of another executor": (
        SCENARIOS + "  a: {executor: constant-vus, duration: 1m, rate: 5}\n",
        r"scenarios\.a: rate does not apply to constant-vus \(its fields: duration, vus, startTime",
    ),
    "required executor field": (
        SCENARIOS + "  a: {executor: constant-arrival-rate, rate: 5, duration: 1m}\n",
        r"scenarios\.a: constant-arrival-rate needs preAllocatedVUs$",
    ),
    "maxVUs below preAllocatedVUs": (
        SCENARIOS + "  a: {executor: constant-arrival-rate, rate: 5, duration: 1m, preAllocatedVUs: 5, maxVUs: 2}\n",
        r"scenarios\.a: maxVUs \(2\) is less than preAllocatedVUs \(5\)$",
    ),
    "bad startTime": (
        SCENARIOS + "  a: {executor: constant-vus, duration: 1m, startTime: later}\n",
        r"scenarios\.a\.startTime: invalid duration 'later'",
    ),
    "unknown class in a scenario's mix": (
        SCENARIOS + "  a: {executor: constant-vus, vus: 2, duration: 1m, users: {CustomerUsr: 1}}\n",
        r"scenarios\.a\.users\.CustomerUsr: unknown user class 'CustomerUsr' \(did you mean 'CustomerUser'\?",
    ),
    "fewer users than classes": (
        SCENARIOS + "  a: {executor: shared-iterations, vus: 1, iterations: 10}\n",
        r"scenarios\.a: 1 user\(s\) cannot run a mix of 2 user classes",
    ),
    "threshold on an unknown scenario": (
        SCENARIOS + "  browse: {executor: constant-vus, vus: 2, duration: 1m}\n"
        "thresholds:\n  iterations{scenario:brwose}: ['count>1']\n",
        r'thresholds\."iterations\{scenario:brwose\}": unknown scenario \'brwose\' \(this profile\'s: browse\)',
    ),
    "threshold on a stage out of range": (
        GOOD + "  http_req_duration{stage:2}: ['p(95)<300']\n",
        r'thresholds\."http_req_duration\{stage:2\}": no stage 2: this profile has 2 stage\(s\)',
    ),
    "bad scenario name": (
        SCENARIOS + "  'two words': {executor: constant-vus, vus: 2, duration: 1m}\n",
        r"scenarios\.\"two words\": a scenario name is letters, digits",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PROFILES))
def test_bad_profile_is_one_line_naming_file_and_key(tmp_path: Path, case: str) -> None:
    text, expected = BAD_PROFILES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load(path)
    message = raised.value.message
    assert "\n" not in message
    assert message.startswith(f"{path}: ") or message.startswith("bad.yaml: "), message
    assert raised.value.exit_code == INVALID_CONFIG
    detail = message.split(": ", 1)[1]
    assert re.match(expected, detail), f"{case}: {message}"


def test_path_is_shown_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "profiles").mkdir()
    write(tmp_path / "profiles", GOOD.replace("target: 10}", "target: 10, spawn_rate: 0}", 1), "stress.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        load_profile("stress")
    assert raised.value.message == "profiles/stress.yaml: stages[0].spawn_rate: must be greater than 0"


def test_several_errors_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("target: 10}", "target: -1, spawn_rate: 0}", 1) + "extra: 1\n")
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert raised.value.message.endswith("stages[0].target: must be at least 0 (and 2 more)")


def test_unknown_user_class_is_only_checked_when_classes_are_given(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("CustomerUser", "SomeOtherUser"))
    assert load_profile(path).users == {"SomeOtherUser": 3, "OrderUser": 1}


# -- scaling, hashing, listing ---------------------------------------------------------------


def test_scaled_multiplies_durations_and_delay_but_not_think_time() -> None:
    profile = load_profile("soak", profiles_dir=REPO_PROFILES)
    scaled = profile.scaled(0.01)
    assert scaled.total_duration_s == pytest.approx(profile.total_duration_s * 0.01)
    assert scaled.think_time == profile.think_time
    delays = [t.delay_abort_eval_s for t in scaled.parsed_thresholds if t.abort_on_fail]
    assert delays == [pytest.approx(6.0)]  # 10m * 0.01
    assert scaled.hash == profile.hash and scaled.name == "soak" and scaled.time_scale == 0.01
    assert profile.total_duration_s == 7800  # the original is untouched


def test_scaled_think_time_when_asked(tmp_path: Path) -> None:
    profile = load(write(tmp_path, GOOD + "think_time: {min: 1, max: 3, scale_with_time: true}\n"))
    scaled = profile.scaled(0.5)
    assert (scaled.think_time.min, scaled.think_time.max) == (0.5, 1.5)


@pytest.mark.parametrize("scale", [0, -1, float("nan")])
def test_scaled_rejects_a_bad_scale(scale: float) -> None:
    with pytest.raises(ValueError, match="time scale"):
        load_profile("load", profiles_dir=REPO_PROFILES).scaled(scale)


def test_hash_ignores_comments_and_layout_but_not_values(tmp_path: Path) -> None:
    first = load(write(tmp_path, GOOD, "a.yaml"))
    commented = load(write(tmp_path, "# a comment\n" + GOOD.replace("[\"p(95)<500\"]", "\n    - p(95)<500"), "b.yaml"))
    changed = load(write(tmp_path, GOOD.replace("target: 10}", "target: 11}", 1), "c.yaml"))
    assert first.hash == commented.hash
    assert first.hash != changed.hash


def test_list_profiles_reports_a_broken_file_instead_of_failing(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "good.yaml")
    write(tmp_path, "description: [", "broken.yml")
    infos = {info.name: info for info in list_profiles(tmp_path)}
    assert infos["good"].error is None and infos["good"].total_duration_s == 90
    assert infos["good"].thresholds == {"http_req_duration": ["p(95)<500"]}
    assert infos["broken"].error and "invalid YAML" in infos["broken"].error


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1h2m3s", 3723), ("90s", 90), ("2m", 120), (90, 90), (1.5, 1.5), ("1h30m", 5400), ("500ms", 0.5), ("45", 45)],
)
def test_parse_duration(value: str | float, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "2x", "m", "1m 30", "-5s", -1, True, None, "1.2.3s"])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("http://localhost:8080", True),
        ("http://127.0.0.5:9000/api", True),
        ("http://[::1]:8080", True),
        ("https://bss.example.com", False),
        ("10.0.0.1", False),
    ],
)
def test_host_allowed_defaults_to_loopback(tmp_path: Path, host: str, allowed: bool) -> None:
    assert load(write(tmp_path, GOOD)).host_allowed(host) is allowed


def test_host_allowed_names_networks_and_wildcards() -> None:
    no_dns = {"example.org": ["93.184.215.14"], "db.internal": ["10.9.8.7"], "mixed.internal": ["10.0.0.1", "8.8.8.8"]}
    resolver = no_dns.__getitem__
    assert hosts.host_allowed("https://api.staging.example.com", ["*.example.com"], resolver=resolver)
    assert not hosts.host_allowed("https://example.com.evil.org", ["*.example.com"], resolver=resolver)
    assert hosts.host_allowed("http://10.1.2.3:80", ["10.0.0.0/8"], resolver=resolver)
    assert hosts.host_allowed("http://db.internal:8080", ["10.0.0.0/8"], resolver=resolver)
    assert not hosts.host_allowed("http://mixed.internal", ["10.0.0.0/8"], resolver=resolver)
    assert not hosts.host_allowed("http://example.org", ["*.example.com", "10.0.0.0/8"], resolver=resolver)
    assert not hosts.host_allowed("http://[::1:8080", ["::1"], resolver=resolver)


@pytest.mark.parametrize("profile_name", ["stress", "spike", "soak"])
def test_a_wildcard_the_schema_accepts_is_honoured_by_the_run_check(tmp_path: Path, profile_name: str) -> None:
    """The path the run takes (preflight.check_allowed_host) uses the same matcher as the schema."""
    from bss_loadtest.run import preflight

    text = re.sub(r"(?m)^allowed_hosts: .*$", "allowed_hosts: ['*.staging.example.com']",
                  (REPO_PROFILES / f"{profile_name}.yaml").read_text())
    path = tmp_path / f"{profile_name}.yaml"
    path.write_text(text)
    profile = load_profile(str(path))
    assert profile.guard_hosts
    preflight.check_allowed_host(profile, "https://bss.staging.example.com", allow_host=False)
    with pytest.raises(ConfigError, match="not in allowed_hosts"):
        preflight.check_allowed_host(profile, "https://bss.prod.example.net", allow_host=False)


def test_format_profile_info() -> None:
    infos = {info.name: info for info in list_profiles(REPO_PROFILES)}
    smoke = profiles.format_profile_info(infos["smoke"]).splitlines()
    assert smoke[0] == "smoke  2m, 1 stage, peak 1 user"
    assert smoke[2] == "    thresholds: http_req_duration p(95)<200; http_req_failed rate<0.01"
    spike = profiles.format_profile_info(infos["spike"])
    assert spike.startswith("spike  7m20s, 7 stages, peak 200 users")
    assert "http_req_failed rate<0.5 (abortOnFail)" in spike
    broken = profiles.ProfileInfo(name="x", path=Path("x.yaml"), description="", error="x.yaml: stages: must not be empty")
    assert profiles.format_profile_info(broken) == "x  INVALID\n    x.yaml: stages: must not be empty"


@pytest.mark.parametrize(("seconds", "text"), [(7800, "2h10m"), (440, "7m20s"), (960, "16m"), (19.2, "19.2s"), (3600, "1h")])
def test_format_duration(seconds: float, text: str) -> None:
    assert profiles.format_duration(seconds) == text


# -- hostile input: bounded parsing, finite numbers, a load Locust can serve --------------------

HOSTILE_PROFILES = {
    "think_time max .inf": (GOOD + "think_time: {min: 0.1, max: .inf}\n", r"think_time\.max: must be a finite number"),
    "think_time min .nan": (GOOD + "think_time: {min: .nan, max: 1}\n", r"think_time\.min: must be a finite number"),
    "tolerance .inf": (GOOD + "tolerances: {p95_pct: .inf}\n", r"tolerances\.p95_pct: must be a finite number"),
    "spawn_rate .inf": (GOOD.replace("target: 10}", "target: 10, spawn_rate: .inf}", 1), r"stages\[0\]\.spawn_rate: "),
    "1e9 users in 2 s": (
        GOOD.replace("{duration: 1m, target: 10}", "{duration: 2s, target: 1000000000}"),
        rf"stages\[0\]\.target: must be at most {profiles.MAX_USERS}",
    ),
    "a ramp faster than Locust can start users": (
        GOOD.replace("{duration: 1m, target: 10}", "{duration: 2s, target: 50000}"),
        r"stages\[0\]: moving 50000 users in 2 s needs 2\.5e\+04 users/s, more than the 1000/s Locust can start",
    ),
    "spawn_rate 1e9": (
        GOOD.replace("target: 10}", "target: 10, spawn_rate: 1000000000}", 1),
        r"stages\[0\]\.spawn_rate: must be at most 1000",
    ),
    "20,000-deep nested sequence": (
        GOOD + "extra: " + "[" * 20_000 + "]" * 20_000 + "\n",
        rf"line \d+: invalid YAML: nested deeper than {profiles.MAX_YAML_DEPTH} levels",
    ),
    "recursive alias": (GOOD + "tolerances: &t {p95_pct: *t}\n", r"line \d+: invalid YAML: a recursive alias"),
}


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: each anchor a list of ``width`` aliases of the one before."""
    lines = ["  - &l0 " + repr(["lol"] * width)]
    lines += [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "bomb:\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("case", list(HOSTILE_PROFILES))
def test_hostile_profile_is_one_line(tmp_path: Path, case: str) -> None:
    text, expected = HOSTILE_PROFILES[case]
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load(path)
    detail = raised.value.message.split(": ", 1)[1]
    assert re.match(expected, detail), f"{case}: {raised.value.message}"


def test_an_alias_bomb_in_a_threshold_is_refused_at_once_with_a_short_message(tmp_path: Path) -> None:
    import time

    path = write(tmp_path, _alias_bomb() + GOOD.replace('["p(95)<500"]', "[*l8]"))
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert time.monotonic() - started < 2
    assert f"more than {profiles.MAX_YAML_VALUES} values once aliases are expanded" in raised.value.message


def test_a_small_alias_expansion_quotes_a_bounded_value(tmp_path: Path) -> None:
    expression = "[&l0 " + repr(["lol"] * 20) + ", *l0" * 19 + "]"
    path = write(tmp_path, GOOD.replace('["p(95)<500"]', f"[{expression}]"))
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert len(raised.value.message) < 300, raised.value.message
    assert "threshold expression must be a string, got a list of 20" in raised.value.message


def test_a_profile_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "#" + "x" * profiles.MAX_PROFILE_BYTES + "\n")
    with pytest.raises(ConfigError, match="larger than 256 KiB"):
        load(path)


def test_a_deeply_nested_file_is_listed_invalid_and_the_others_still_listed(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "good.yaml")
    write(tmp_path, "description: x\nstages: " + "[" * 20_000 + "]" * 20_000 + "\n", "deep.yaml")
    infos = {info.name: info for info in list_profiles(tmp_path)}
    assert infos["good"].error is None
    assert "nested deeper than" in infos["deep"].error


def test_anchors_and_aliases_of_a_normal_size_still_work(tmp_path: Path) -> None:
    text = GOOD.replace("users: {CustomerUser: 3, OrderUser: 1}", "users: &mix {CustomerUser: 3, OrderUser: 1}")
    text += "tolerances: &tol {p95_pct: 5}\n"
    assert load(write(tmp_path, text)).users == {"CustomerUser": 3, "OrderUser": 1}


# -- many users: production (to 8,000) and extreme-spike (to 10,000), the seed's stages exactly --

SEED_OPTIONS = REPO_PROFILES.parents[1] / "shared" / "k6-seed-options"


@pytest.mark.parametrize(
    ("name", "stages", "minutes", "peak"),
    [
        ("production", [(120, 1000), (300, 2000), (600, 4000), (300, 6000), (120, 8000), (300, 0)], 29, 8000),
        ("extreme-spike", [(120, 100), (180, 100), (30, 1000), (300, 1000), (30, 5000), (600, 5000),
                           (30, 10000), (900, 10000), (120, 100), (300, 100)], 43.5, 10000),
        ("marathon", [(1800, 50), (7200, 100), (7200, 200), (3600, 300), (1800, 500), (900, 1000), (3600, 200),
                      (14400, 100), (900, 800), (900, 50)], 11 * 60 + 45, 1000),
        ("extreme-soak", [(3600, 100), (14400, 200), (28800, 300), (7200, 500), (14400, 300), (14400, 200),
                          (3600, 100)], 24 * 60, 500),
    ],
)
def test_many_user_profiles_keep_the_seed_stages(name: str, stages: list, minutes: float, peak: int) -> None:
    profile = load_profile(name, user_classes=USER_CLASSES, profiles_dir=REPO_PROFILES)
    assert [(s.duration, s.target) for s in profile.stages] == stages
    assert profile.total_duration_s == pytest.approx(minutes * 60)
    assert max(s.target for s in profile.stages) == peak
    assert set(profile.users) == set(MIX_CLASSES)
    assert profile.guard_hosts is True
    assert not hosts.host_allowed("http://bss.example.com", profile.allowed_hosts, resolver=lambda host: [])
    assert hosts.host_allowed("http://127.0.0.1:8080", profile.allowed_hosts)


@pytest.mark.parametrize("name", ["production", "extreme-spike"])
def test_many_user_profiles_match_the_k6_options_where_present(name: str) -> None:
    seed = SEED_OPTIONS / f"{name.replace('production', 'production-load')}-test.json"
    if not seed.exists():
        pytest.skip(f"{seed} is not in this checkout")
    import json

    options = json.loads(seed.read_text())
    profile = load_profile(name, profiles_dir=REPO_PROFILES)
    assert [(parse_duration(s["duration"].replace("m0s", "m")), s["target"]) for s in options["stages"]] == [
        (s.duration, s.target) for s in profile.stages
    ]


def test_many_user_thresholds_carry_the_seed_over() -> None:
    production = load_profile("production", profiles_dir=REPO_PROFILES)
    assert production.thresholds == {
        "http_req_duration": ["p(99.9)<5000", "p(99)<5000"],  # p(99.9) and the custom response_time p(99)
        "errors": ["rate<0.01"],  # the seed's custom Rate errors, the suite's errors
    }
    spike = load_profile("extreme-spike", profiles_dir=REPO_PROFILES)
    assert spike.thresholds["http_req_duration"] == ["p(95)<2000", "p(99)<5000"]
    assert spike.thresholds["http_req_failed"][0] == "rate<0.1"
    assert spike.thresholds["errors"] == ["rate<0.05"]
    assert spike.thresholds["http_req_failed"][1] == {"threshold": "rate<0.5", "abortOnFail": True, "delayAbortEval": "5m"}
    for name in ("production", "extreme-spike"):
        words = " ".join((REPO_PROFILES / f"{name}.yaml").read_text().replace("#", " ").split())
        assert "the stages are the truth" in words


# -- long runs: marathon (11 h 45 m, to 1,000) and extreme-soak (24 h, to 500); stages above --


@pytest.mark.parametrize("name", ["marathon", "extreme-soak"])
def test_long_runs_abort_on_a_broken_target_after_ten_minutes(name: str) -> None:
    profile = load_profile(name, user_classes=USER_CLASSES, profiles_dir=REPO_PROFILES)
    assert [t.delay_abort_eval_s for t in profile.parsed_thresholds if t.abort_on_fail] == [600]


def test_long_run_thresholds_carry_the_seed_over() -> None:
    soak = load_profile("extreme-soak", profiles_dir=REPO_PROFILES)
    assert soak.thresholds["http_req_duration"] == ["p(95)<4000", "p(99)<10000"]
    assert soak.thresholds["http_req_failed"][0] == "rate<0.05"
    assert soak.thresholds["errors"] == ["rate<0.03"]
    assert soak.thresholds["http_req_failed{failure:connection}"] == ["rate<0.01"]  # connection_errors
    marathon = load_profile("marathon", profiles_dir=REPO_PROFILES)
    assert marathon.thresholds["errors"] == ["rate<0.05"]
    assert "http_req_duration" not in marathon.thresholds  # the seed's marathon declares no latency bound


def test_long_run_discrepancies_are_explained_in_the_files() -> None:
    marathon = (REPO_PROFILES / "marathon.yaml").read_text()
    assert "12 hours" in marathon and "11 h 45 m" in marathon and "stages are the truth" in marathon
    soak = (REPO_PROFILES / "extreme-soak.yaml").read_text()
    assert "end at 100 users" in soak and "stages are the truth" in soak
    assert "memory_leaks" in soak and "memory_warnings" in marathon  # what is left out is named
