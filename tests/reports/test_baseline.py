"""baseline.py: append-only storage, listing, loading and its one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from synthetic import make_run_dir

from bss_loadtest.core.errors import BAD_INPUT, InputError
from bss_loadtest.reports.baseline import (
    NoBaselineError,
    format_baseline_list,
    list_baselines,
    load_baseline,
    read_baseline,
    save_baseline,
)
from bss_loadtest.reports.compare import run_compare

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {
        "a": make_run_dir(root, "run-a", duration_s=30, total_requests=4_000, seed=1),
        "b": make_run_dir(root, "run-b", duration_s=30, total_requests=4_000, seed=2),
        "smoke": make_run_dir(root, "run-smoke", duration_s=10, total_requests=200, seed=3, profile="smoke"),
        "partial": make_run_dir(root, "run-partial", duration_s=10, total_requests=500, seed=4,
                                summary_meta={"status": "partial", "partial_reason": "interrupted (SIGINT)"}),
    }


def test_save_is_self_describing(runs, tmp_path):
    path = save_baseline(runs["a"], tmp_path, note="first", now=NOW)
    assert path == tmp_path / "load" / "20261120T020000Z-run-a.json"
    data = json.loads(path.read_text())
    for key in ("schema", "schema_version", "profile", "profile_hash", "host", "suite_version", "git_commit",
                "saved_at", "run_id", "summary", "endpoints"):
        assert key in data
    assert data["schema"] == "bss-loadtest/baseline" and data["schema_version"] == 1
    assert data["summary"]["run_id"] == "run-a" and data["note"] == "first"
    assert data["endpoints"][-1]["key"] == "Aggregated" and len(data["endpoints"]) == 21
    assert len(data["aggregated_history"]["p95_ms"]) == 30
    assert read_baseline(path).summary.totals.count == data["summary"]["totals"]["count"]


def test_append_only(runs, tmp_path):
    first = save_baseline(runs["a"], tmp_path, now=NOW)
    before = first.read_bytes()
    with pytest.raises(InputError, match="never overwritten"):
        save_baseline(runs["a"], tmp_path, note="again", now=NOW)
    assert first.read_bytes() == before
    second = save_baseline(runs["a"], tmp_path, now=NOW + timedelta(seconds=1))
    assert second != first and len(list((tmp_path / "load").iterdir())) == 2


def test_partial_run_refused_unless_forced(runs, tmp_path):
    with pytest.raises(InputError, match="partial.*--force"):
        save_baseline(runs["partial"], tmp_path, now=NOW)
    assert not (tmp_path / "load").exists() or not list((tmp_path / "load").iterdir())
    path = save_baseline(runs["partial"], tmp_path, now=NOW, force=True)
    assert read_baseline(path).summary.status == "partial"


def test_latest_is_the_newest_of_the_profile(runs, tmp_path):
    save_baseline(runs["a"], tmp_path, now=NOW)
    save_baseline(runs["b"], tmp_path, now=NOW + timedelta(days=1))
    save_baseline(runs["smoke"], tmp_path, now=NOW + timedelta(days=2))
    assert load_baseline("latest", profile="load", baselines_root=tmp_path).run_id == "run-b"
    assert load_baseline("latest", profile="smoke", baselines_root=tmp_path).run_id == "run-smoke"
    infos = list_baselines(tmp_path)
    assert [(i.profile, i.run_id) for i in infos] == [("load", "run-a"), ("load", "run-b"), ("smoke", "run-smoke")]
    assert [i.run_id for i in list_baselines(tmp_path, "load")] == ["run-a", "run-b"]
    text = format_baseline_list(infos)
    assert "run-b" in text and "latest" in text
    lines = text.splitlines()
    assert lines[2].startswith("*") and not lines[1].startswith("*")  # run-b, not run-a, is load's latest


def test_list_shows_unreadable_files(runs, tmp_path):
    save_baseline(runs["a"], tmp_path, now=NOW)
    (tmp_path / "load" / "20261121T000000Z-broken.json").write_text("{")
    infos = list_baselines(tmp_path)
    assert infos[-1].error is not None and "not valid JSON" in infos[-1].error
    assert "unreadable" in format_baseline_list(infos)
    assert format_baseline_list([]) == "no baselines stored"


def test_no_baseline(tmp_path):
    with pytest.raises(NoBaselineError, match="no baseline stored for profile 'load'"):
        load_baseline("latest", profile="load", baselines_root=tmp_path)


def _corrupt(path: Path, kind: str) -> None:
    data = json.loads(path.read_text())
    if kind == "empty":
        path.write_text("")
    elif kind == "corrupt":
        path.write_text(path.read_text()[:200])
    elif kind == "version":
        data["schema_version"] = 2
        path.write_text(json.dumps(data))
    elif kind == "schema":
        data["schema"] = "pytest-benchmark"
        path.write_text(json.dumps(data))
    elif kind == "field":
        del data["summary"]["totals"]
        path.write_text(json.dumps(data))
    elif kind == "summary-version":
        data["summary"]["schema_version"] = 9
        path.write_text(json.dumps(data))


CASES = {
    "empty": "file is empty",
    "corrupt": "not valid JSON",
    "version": "schema_version 2 is not supported (expected 1)",
    "schema": "not a bss-loadtest baseline",
    "field": "summary.totals: Field required",
    "summary-version": "summary.schema_version 9 is not supported",
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_bad_baselines_are_one_line_input_errors(runs, tmp_path, kind):
    path = save_baseline(runs["a"], tmp_path, now=NOW)
    _corrupt(path, kind)
    with pytest.raises(InputError) as info:
        load_baseline("latest", profile="load", baselines_root=tmp_path)
    message = str(info.value)
    assert "\n" not in message and path.name in message and CASES[kind] in message
    # and the same through the function the CLI calls: exit code 2
    with pytest.raises(InputError) as info:
        run_compare(runs["b"], "latest", baselines_root=tmp_path, out_dir=tmp_path / "out")
    assert info.value.exit_code == BAD_INPUT == 2
    assert not (tmp_path / "out").exists()


def test_wrong_profile_and_missing_file(runs, tmp_path):
    smoke = save_baseline(runs["smoke"], tmp_path, now=NOW)
    with pytest.raises(InputError, match=r"baseline is for profile 'smoke', not 'load'"):
        load_baseline(smoke, profile="load", baselines_root=tmp_path)
    with pytest.raises(InputError, match=r"baseline is for profile 'smoke', not 'load'") as info:
        run_compare(runs["a"], smoke, baselines_root=tmp_path)
    assert info.value.exit_code == 2
    with pytest.raises(InputError, match=r"nope.json: no such baseline file"):
        load_baseline(tmp_path / "nope.json", profile="load", baselines_root=tmp_path)


# -- another run as the baseline: its directory or its summary.json ----------------------------


@pytest.mark.parametrize("form", ["directory", "summary.json"])
def test_a_run_is_a_baseline_without_saving_it(runs, tmp_path, form):
    given = runs["a"] if form == "directory" else runs["a"] / "summary.json"
    baseline = load_baseline(given, profile="load", baselines_root=tmp_path)
    saved = read_baseline(save_baseline(runs["a"], tmp_path / "store", now=NOW))
    assert baseline.run_id == "run-a" and baseline.path == runs["a"] / "summary.json"
    assert baseline.endpoints == saved.endpoints and baseline.aggregated_history == saved.aggregated_history
    assert baseline.summary == saved.summary and baseline.saved_at == saved.summary.ended_at
    assert not tmp_path.joinpath("load").exists()  # nothing was stored
    comparison, _ = run_compare(runs["b"], given, baselines_root=tmp_path, out_dir=tmp_path / "out")
    assert comparison.baseline_run_id == "run-a" and comparison.regressions == []


def test_a_run_as_baseline_keeps_the_one_line_errors(runs, tmp_path):
    with pytest.raises(InputError, match=r"summary.json: baseline is for profile 'smoke', not 'load'"):
        load_baseline(runs["smoke"], profile="load", baselines_root=tmp_path)
    with pytest.raises(InputError, match=r"summary.json: no such summary file"):
        load_baseline(tmp_path, profile="load", baselines_root=tmp_path)  # a directory without a run
    broken = tmp_path / "broken"
    broken.mkdir()
    data = json.loads((runs["a"] / "summary.json").read_text())
    del data["totals"]
    (broken / "summary.json").write_text(json.dumps(data))
    for given in (broken, broken / "summary.json"):
        with pytest.raises(InputError, match=r"summary.json: totals: Field required") as info:
            load_baseline(given, profile="load", baselines_root=tmp_path)
        assert info.value.exit_code == BAD_INPUT
    other = tmp_path / "other.json"
    other.write_text('{"schema": "pytest-benchmark"}')
    with pytest.raises(InputError, match=r"other.json: neither a bss-loadtest baseline nor a run summary"):
        load_baseline(other, profile="load", baselines_root=tmp_path)


def test_a_partial_run_is_a_baseline_with_a_warning(runs, tmp_path):
    comparison, _ = run_compare(runs["b"], runs["partial"], baselines_root=tmp_path, out_dir=tmp_path / "out")
    assert any("partial" in w for w in comparison.warnings)
