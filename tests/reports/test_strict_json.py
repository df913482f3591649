"""Every JSON file the suite writes is strict (RFC 8259): no NaN, no Infinity, no integer a JSON
reader cannot hold. Input that holds one is a one-line InputError naming the file and the field;
a comparison of extreme (finite) values writes null where a difference overflows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import make_run_dir

from bss_loadtest import cli
from bss_loadtest.core.errors import BAD_INPUT, InputError
from bss_loadtest.reports.baseline import read_baseline, save_baseline
from bss_loadtest.reports.compare import run_compare
from bss_loadtest.reports.results import (
    ResultsWriteError,
    atomic_write_json,
    json_text,
    load_summary,
    non_finite_path,
)


def strict_load(path: Path):
    """json.loads that refuses what Python's json accepts beyond RFC 8259 (NaN, Infinity)."""

    def refuse(constant: str):
        raise AssertionError(f"{path}: {constant} is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture
def runs(tmp_path) -> Path:
    root = tmp_path / "runs"
    make_run_dir(root, "base", duration_s=10, total_requests=2000, seed=1)
    make_run_dir(root, "run", duration_s=10, total_requests=2000, seed=2)
    return root


def _edit(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))  # Python writes NaN / Infinity / huge ints as asked


def test_json_text_refuses_what_json_cannot_hold():
    assert json.loads(json_text({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
    for bad, where in (({"a": {"b": [1.0, float("nan")]}}, "a.b[1]"), ({"x": float("inf")}, "x"), ({"n": 10**400}, "n")):
        assert non_finite_path(bad) == where
        with pytest.raises(ResultsWriteError) as raised:
            json_text(bad)
        assert f"{where}: not a usable number" in raised.value.message


def test_atomic_write_json_writes_nothing_when_a_value_is_not_finite(tmp_path):
    with pytest.raises(ResultsWriteError):
        atomic_write_json(tmp_path / "x.json", {"p95_ms": float("-inf")})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("count", 10**400, "requests[0].count: not a usable number"),
        ("p95_ms", float("inf"), "requests[0].p95_ms: not a usable number"),
        ("p95_ms", float("nan"), "requests[0].p95_ms: not a usable number"),
        ("p95_ms", -1.7e308, "requests[0].p95_ms"),
    ],
)
def test_a_summary_with_a_number_that_is_not_usable_is_one_input_error(runs, field, value, fragment):
    path = runs / "run" / "summary.json"
    _edit(path, lambda data: data["requests"][0].__setitem__(field, value))
    with pytest.raises(InputError) as raised:
        load_summary(path)
    assert "summary.json" in raised.value.message and fragment in raised.value.message, raised.value.message


def test_a_huge_count_in_the_run_compared_is_one_line_exit_2(runs, tmp_path, capsys):
    save_baseline(runs / "base", tmp_path / "baselines")
    _edit(runs / "run" / "summary.json", lambda data: data["totals"].__setitem__("count", 10**400))
    code = cli.main(["compare", str(runs / "run"), "--report-dir", str(tmp_path)])
    assert code == BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "totals.count" in err and "Traceback" not in err


def test_extreme_latencies_compare_to_strict_json_with_null_where_a_change_overflows(runs, tmp_path):
    def extreme(value: float):
        def edit(data):
            for row in [*data["requests"], data["totals"]]:
                row["p95_ms"] = row["p99_ms"] = value
        return edit

    _edit(runs / "base" / "summary.json", extreme(1e-300))
    _edit(runs / "run" / "summary.json", extreme(1.7e308))
    baseline = save_baseline(runs / "base", tmp_path / "baselines")
    strict_load(baseline)
    comparison, paths = run_compare(runs / "run", str(baseline), baselines_root=tmp_path / "baselines",
                                    out_dir=tmp_path / "out")
    data = strict_load(paths["json"])
    p95 = [row for row in data["rows"] if row["metric"] == "p95_ms"]
    assert p95 and all(row["delta_pct"] is None for row in p95)  # 1.7e308 / 1e-300 overflows: null, not Infinity
    assert comparison.regressed


def test_a_baseline_whose_history_columns_differ_in_length_is_one_input_error(runs, tmp_path):
    baseline = save_baseline(runs / "base", tmp_path / "baselines")
    _edit(baseline, lambda data: data["aggregated_history"]["rps"].pop())
    with pytest.raises(InputError) as raised:
        read_baseline(baseline)
    assert baseline.name in raised.value.message and "aggregated_history" in raised.value.message
    assert "differ in length" in raised.value.message


def test_infinity_in_a_baseline_is_one_input_error_naming_the_field(runs, tmp_path):
    baseline = save_baseline(runs / "base", tmp_path / "baselines")
    _edit(baseline, lambda data: data["endpoints"][0].__setitem__("rps", float("inf")))
    with pytest.raises(InputError, match=r"endpoints\[0\]\.rps: not a usable number"):
        read_baseline(baseline)


def test_every_json_file_of_a_run_and_its_compare_is_strict(runs, tmp_path):
    baseline = save_baseline(runs / "base", tmp_path / "baselines")
    _, paths = run_compare(runs / "run", str(baseline), baselines_root=tmp_path / "baselines", out_dir=tmp_path / "out")
    for path in [runs / "run" / "summary.json", baseline, paths["json"]]:
        strict_load(path)


def test_a_summary_with_an_infinite_stage_is_not_written(runs, tmp_path):
    """--time-scale 1e308 is refused at start-up; were a scaled stage infinite, no summary.json holds it."""
    from synthetic import T0, make_stats, make_summary

    from bss_loadtest.reports.results import write_run

    stats, stages = make_stats(duration_s=10, total_requests=200)
    summary = make_summary(stats, stages, duration_s=10)
    summary["stages"][0]["end_s"] = float("inf")
    with pytest.raises(ResultsWriteError, match=r"stages\[0\]\.end_s"):
        write_run(tmp_path / "r", summary, stats.history, stats.users_at, started_at=T0)
    assert not (tmp_path / "r" / "summary.json").exists()
