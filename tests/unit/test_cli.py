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
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("reference-server", "demo", "run", "profiles", "baseline", "compare", "nightly"):
        assert command in out
