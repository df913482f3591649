"""The CLI's one error boundary: a user's mistake is one line on stderr and a documented code."""

import pytest

from bss_loadtest import cli
from bss_loadtest.core import errors


def one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_demo_with_an_unusable_report_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["demo", "--report-dir", str(blocker / "reports")]) == errors.INVALID_CONFIG
    assert "--report-dir" in one_error_line(capsys)


def test_profiles_check_of_an_unknown_profile(capsys):
    assert cli.main(["profiles", "check", "lod"]) == errors.INVALID_CONFIG
    line = one_error_line(capsys)
    assert "unknown profile 'lod'" in line and "load" in line.split("available: ", 1)[1].rstrip(")").split(", ")


def test_compare_of_a_missing_run(tmp_path, capsys):
    assert cli.main(["compare", str(tmp_path / "nope"), "--report-dir", str(tmp_path)]) == errors.BAD_INPUT
    one_error_line(capsys)


def test_baseline_save_of_a_file_that_is_not_a_run(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("")
    assert cli.main(["baseline", "save", str(path), "--report-dir", str(tmp_path)]) == errors.BAD_INPUT
    one_error_line(capsys)


def test_help_lists_the_subcommands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("reference-server", "demo", "run", "profiles", "baseline", "compare", "nightly"):
        assert command in out


# -- the demo: the smoke pass, then a minute of load, against one reference server -------------


class FakeServer:
    url = "http://127.0.0.1:5999"
    started = 0

    def __init__(self, **kwargs):
        pass

    def __enter__(self):
        FakeServer.started += 1
        return self

    def __exit__(self, *exc):
        return False


def fake_demo(monkeypatch, codes):
    """Replace the server and Locust; each run writes its report and exits with the next code."""
    import bss_reference.process

    FakeServer.started = 0
    monkeypatch.setattr(bss_reference.process, "ReferenceServer", FakeServer)
    commands = []

    def run_locust(command, env=None):
        commands.append(command)
        option = {k: v for k, v in zip(command, command[1:], strict=False) if k.startswith("--")}
        from pathlib import Path

        run_dir = Path(option["--report-dir"]) / "runs" / option["--fixed-run-id"]
        run_dir.mkdir(parents=True)
        (run_dir / "report.html").write_text("<html></html>")
        return codes[len(commands) - 1]

    monkeypatch.setattr(cli, "run_locust", run_locust)
    return commands


def option_of(command, name):
    return command[command.index(name) + 1] if name in command else None


def test_demo_runs_smoke_then_a_minute_of_load(tmp_path, capsys, monkeypatch):
    commands = fake_demo(monkeypatch, [errors.OK, errors.THRESHOLDS_CROSSED])
    assert cli.main(["demo", "--report-dir", str(tmp_path)]) == errors.THRESHOLDS_CROSSED  # the worst of the two
    assert FakeServer.started == 1  # one server for both runs
    assert [option_of(c, "--profile") for c in commands] == ["smoke", "load"]
    assert [option_of(c, "--time-scale") for c in commands] == [None, "0.0625"]
    assert {option_of(c, "--host") for c in commands} == {FakeServer.url}
    out = capsys.readouterr().out
    assert "running profile 'load' (time scale 0.0625: about 60 s)" in out
    for command in commands:
        report = tmp_path / "runs" / option_of(command, "--fixed-run-id") / "report.html"
        assert f"{report}  (exit code" in out
    assert "smoke: " in out and "load: " in out
    web_ui = [line for line in out.splitlines() if line.startswith("Web UI:")]
    assert len(web_ui) == 1 and "locust -f loadtests" in web_ui[0]
    assert out.rstrip().endswith("Exit code 99: a threshold was crossed")


def test_demo_stops_after_a_step_that_could_not_run(tmp_path, capsys, monkeypatch):
    commands = fake_demo(monkeypatch, [errors.TARGET_UNREACHABLE])
    assert cli.main(["demo", "--report-dir", str(tmp_path)]) == errors.TARGET_UNREACHABLE
    assert len(commands) == 1


def test_demo_of_one_profile(tmp_path, capsys, monkeypatch):
    commands = fake_demo(monkeypatch, [errors.OK])
    assert cli.main(["demo", "--profile", "load", "--time-scale", "0.02", "--report-dir", str(tmp_path)]) == errors.OK
    assert [(option_of(c, "--profile"), option_of(c, "--time-scale")) for c in commands] == [("load", "0.02")]
    assert option_of(commands[0], "--fixed-run-id").startswith("demo-load-")


# -- usage mistakes: one error line, exit 104, never usage text ------------------------------


@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([], "the following arguments are required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["run", "--", "--bogus"], "the following arguments are required: --profile, --host"),
        (["run", "--profile", "smoke", "--host", "http://127.0.0.1:9", "--processes", "-5"], "--processes: '-5'"),
        (["run", "--profile", "smoke", "--host", "http://127.0.0.1:9", "--processes", "two"], "--processes: 'two'"),
        (["nightly", "--profile", "smoke", "--host", "http://127.0.0.1:9", "--time-scale", "nan"], "--time-scale: 'nan'"),
        (["run", "--profile", "smoke", "--host", "http://127.0.0.1:9", "--time-scale", "abc"], "--time-scale: 'abc'"),
        (["compare"], "the following arguments are required: run_dir"),
    ],
    ids=["no_subcommand", "unknown_subcommand", "run_bogus_without_profile", "processes_negative",
         "processes_not_a_number", "time_scale_nan", "time_scale_abc", "compare_without_run"],
)
def test_a_usage_mistake_is_one_error_line_and_exit_104(argv, fragment, capsys, monkeypatch):
    monkeypatch.setattr(cli, "run_locust", lambda *a, **k: pytest.fail("no run may start"))
    assert cli.main(argv) == errors.INVALID_CONFIG
    captured = capsys.readouterr()
    assert fragment in captured.err, captured.err
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    assert "usage:" not in captured.out + captured.err


@pytest.mark.parametrize("run_id", ["../../escaped", "a/b/c", "x" * 300, ".hidden"])
def test_run_refuses_a_run_id_that_is_not_one_directory_name(run_id, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "run_locust", lambda *a, **k: pytest.fail("no run may start"))
    argv = ["run", "--profile", "smoke", "--host", "http://127.0.0.1:9", "--report-dir", str(tmp_path), "--run-id", run_id]
    assert cli.main(argv) == errors.INVALID_CONFIG
    assert "--run-id" in one_error_line(capsys)


def test_nightly_whose_run_refused_its_configuration_prints_no_second_error_line(tmp_path, capsys, monkeypatch):
    import sys

    def locust_refuses(command, env=None):
        print("error: profiles/bad.yaml: stages[0].target: must be at least 0", file=sys.stderr)
        return errors.INVALID_CONFIG

    monkeypatch.setattr(cli, "run_locust", locust_refuses)
    argv = ["nightly", "--profile", "smoke", "--host", "http://127.0.0.1:9", "--report-dir", str(tmp_path)]
    assert cli.main(argv) == errors.INVALID_CONFIG
    assert "stages[0].target" in one_error_line(capsys)
