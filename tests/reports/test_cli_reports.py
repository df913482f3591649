"""The CLI's report commands (wired by cli.py) end with the exit codes compare promises."""

from __future__ import annotations

import pytest
from synthetic import KEYS, make_run_dir

cli = pytest.importorskip("bss_loadtest.cli")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    base = make_run_dir(root / "runs", "base", duration_s=30, total_requests=20_000, seed=1)
    same = make_run_dir(root / "runs", "same", duration_s=30, total_requests=20_000, seed=2)
    slow = make_run_dir(root / "runs", "slow", duration_s=30, total_requests=20_000, seed=2, slow={KEYS[3]: 50.0})
    return root, base, same, slow


def test_baseline_save_list_compare(reports, capsys):
    root, base, same, slow = reports
    assert cli.main(["baseline", "save", str(base), "--report-dir", str(root), "--note", "first"]) == 0
    assert cli.main(["baseline", "list", "--report-dir", str(root)]) == 0
    assert "first" in capsys.readouterr().out
    assert cli.main(["compare", str(same), "--report-dir", str(root)]) == 0
    assert cli.main(["compare", str(slow), "--report-dir", str(root)]) == 1
    assert "REGRESSION" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["", "{", '{"schema": "bss-loadtest/baseline", "schema_version": 3}'])
def test_bad_baseline_exits_2_with_one_line(reports, tmp_path, capsys, content):
    root, base, same, slow = reports
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert cli.main(["compare", str(same), "--baseline", str(bad), "--report-dir", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "bad.json" in err and "\n" not in err


def test_missing_run_exits_2(reports, tmp_path, capsys):
    root, *_ = reports
    assert cli.main(["compare", str(tmp_path / "no-such-run"), "--report-dir", str(root)]) == 2
    assert "no such summary file" in capsys.readouterr().err


@pytest.mark.parametrize("form", ["directory", "summary.json"])
def test_compare_two_runs_without_saving_a_baseline(reports, tmp_path, capsys, form):
    root, base, same, slow = reports
    given = str(base if form == "directory" else base / "summary.json")
    empty_store = tmp_path / "reports"
    assert cli.main(["compare", str(same), "--baseline", given, "--report-dir", str(empty_store),
                     "--out", str(tmp_path / "same")]) == 0
    assert cli.main(["compare", str(slow), "--baseline", given, "--report-dir", str(empty_store),
                     "--out", str(tmp_path / "slow")]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "baseline `base`" in out
    assert not (empty_store / "baselines").exists()
