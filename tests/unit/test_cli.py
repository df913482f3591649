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
    assert "available: load" in one_error_line(capsys)


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
