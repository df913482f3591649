"""results.py: atomic writes, the summary schema, write_run and the readers."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from synthetic import T0, make_run_dir, make_stats, make_summary

from bss_loadtest.core.errors import InputError, SuiteError
from bss_loadtest.reports.results import (
    HISTORY_COLUMNS,
    Summary,
    atomic_write_bytes,
    atomic_write_text,
    load_history,
    load_summary,
    validate_summary,
    write_run,
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("runs"), "run-1", duration_s=40, total_requests=4_000)


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message, message
    return message


# -- atomic writes ---------------------------------------------------------------------------


def test_atomic_write_replaces_content(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_disk_full_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    target.write_text('{"old": true}')

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(SuiteError) as info:
        atomic_write_text(target, '{"new": true}')
    message = _one_line(info.value)
    assert str(target) in message and "No space left on device" in message
    assert target.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["summary.json"]


def test_disk_full_during_write(tmp_path, monkeypatch):
    target = tmp_path / "history.csv"
    real_fsync = os.fsync

    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(SuiteError, match="No space left on device"):
        atomic_write_bytes(target, b"x" * 1000)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert os.listdir(tmp_path) == []


def test_permission_denied_is_one_line(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(SuiteError) as info:
        atomic_write_text(tmp_path / "report.html", "<html>")
    assert _one_line(info.value) == f"{tmp_path / 'report.html'}: cannot write: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only directory")
def test_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "summary.json").write_text("old")
    locked.chmod(0o500)
    try:
        with pytest.raises(SuiteError, match="Permission denied"):
            atomic_write_text(locked / "summary.json", "new")
        assert (locked / "summary.json").read_text() == "old"
    finally:
        locked.chmod(0o700)


def test_directory_that_is_a_file(tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("not a directory")
    with pytest.raises(SuiteError) as info:
        write_run(blocker / "runs" / "r1", _summary(), [], {}, started_at=T0)
    assert "reports" in _one_line(info.value)


def test_write_run_failure_never_leaves_a_summary(tmp_path, monkeypatch):
    stats, stages = make_stats(duration_s=10, total_requests=300)
    summary = make_summary(stats, stages, duration_s=10)
    real_replace = os.replace

    def fail_on_html(src, dst):
        if str(dst).endswith("report.html"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_html)
    with pytest.raises(SuiteError, match="report.html"):
        write_run(tmp_path / "r", summary, stats.history, stats.users_at, started_at=T0)
    assert sorted(os.listdir(tmp_path / "r")) == ["history.csv"]


# -- the run directory -----------------------------------------------------------------------


def _summary(**changes):
    stats, stages = make_stats(duration_s=10, total_requests=300)
    summary = make_summary(stats, stages, duration_s=10)
    summary.update(changes)
    return summary


def test_write_run_files_and_order(tmp_path):
    stats, stages = make_stats(duration_s=10, total_requests=300)
    summary = make_summary(stats, stages, duration_s=10)
    paths = write_run(tmp_path / "r", summary, stats.history, stats.users_at, started_at=T0)
    assert [p.name for p in paths] == ["history.csv", "report.html", "summary.json"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_summary_round_trip(run_dir):
    loaded = load_summary(run_dir)
    again = validate_summary(json.loads(json.dumps(loaded.to_json_dict())))
    assert again == loaded
    raw = json.loads((run_dir / "summary.json").read_text())
    assert raw["schema"] == "bss-loadtest/summary" and raw["schema_version"] == 1
    assert set(raw) == set(Summary.model_fields) - {"schema_"} | {"schema"}
    assert raw["totals"]["name"] == "Aggregated" and raw["totals"]["method"] == ""
    assert loaded.totals.count == sum(r.count for r in loaded.requests if r.method != "AUTH")


def test_history_csv(run_dir):
    frame = load_history(run_dir)
    assert tuple(frame.columns) == HISTORY_COLUMNS
    header = (run_dir / "history.csv").read_text().splitlines()[0]
    assert header == ",".join(HISTORY_COLUMNS)
    agg = frame[frame["name"] == "Aggregated"]
    assert len(agg) == 40 and (agg["method"] == "").all()
    # every second: Aggregated equals the sum of the endpoints, rps = requests per 1 s interval
    per_second = frame[frame["name"] != "Aggregated"].groupby("timestamp")["requests"].sum()
    assert (agg.set_index("timestamp")["requests"] == per_second).all()
    assert (frame["rps"] == frame["requests"]).all()
    assert (frame["elapsed_s"] == frame["timestamp"] - T0).all()
    assert agg["users"].iloc[0] >= 0 and agg["users"].max() == 20
    assert agg["p95_ms"].notna().all()


def test_users_are_the_last_known_before_each_second(tmp_path):
    stats, stages = make_stats(duration_s=6, total_requests=200)
    stats.users_at = {int(T0) + 1: 3, int(T0) + 4: 7}
    summary = make_summary(stats, stages, duration_s=6)
    write_run(tmp_path, summary, stats.history, stats.users_at, started_at=T0)
    agg = load_history(tmp_path).query("name == 'Aggregated'")
    assert agg["users"].tolist() == [0, 3, 3, 3, 7, 7]


def test_partial_run_needs_a_reason():
    with pytest.raises(InputError, match="partial_reason"):
        validate_summary(_summary(status="partial", partial_reason=None))
    ok = validate_summary(_summary(status="partial", partial_reason="interrupted (SIGINT)"))
    assert ok.status == "partial"


def test_write_run_rejects_an_invalid_summary(tmp_path):
    with pytest.raises(SuiteError, match=r"invalid summary: totals: Field required"):
        bad = _summary()
        del bad["totals"]
        write_run(tmp_path, bad, [], {}, started_at=T0)
    assert not (tmp_path / "summary.json").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "summary.json: no such summary file"),
        ("", "summary.json: file is empty"),
        ("{not json", "summary.json: not valid JSON (line 1)"),
        ("[1, 2]", "summary.json: not a JSON object"),
        ('{"schema": "other"}', "summary.json: not a bss-loadtest summary"),
        ('{"schema": "bss-loadtest/summary", "schema_version": 7}', "summary.json: schema_version 7 is not supported (expected 1)"),
    ],
)
def test_load_summary_errors_are_one_line(tmp_path, content, expected):
    if content is not None:
        (tmp_path / "summary.json").write_text(content)
    with pytest.raises(InputError) as info:
        load_summary(tmp_path)
    message = _one_line(info.value)
    assert expected in message and str(tmp_path.name) in message
    assert info.value.exit_code == 2


def test_wrong_schema_names_the_field(tmp_path):
    data = _summary()
    data["requests"][2]["count"] = "many"
    data["surprise"] = 1
    (tmp_path / "summary.json").write_text(json.dumps(data))
    with pytest.raises(InputError) as info:
        load_summary(tmp_path / "summary.json")
    assert "summary.json: requests[2].count: Input should be a valid integer" in _one_line(info.value)


def test_extra_keys_only_in_dict_fields(tmp_path):
    data = _summary(reconciliation={"ok": True, "client": 10, "server": 10, "anything": "goes"},
                    tolerances={"p95_ms": {"relative": 0.2}})
    assert validate_summary(data).reconciliation["anything"] == "goes"
    data["generator"]["extra"] = 1
    with pytest.raises(InputError, match=r"generator.extra: Extra inputs are not permitted"):
        validate_summary(data)


@pytest.mark.parametrize("content", [None, "", "a,b\n1,2\n", "\x00\x01garbage"])
def test_load_history_errors(tmp_path, content):
    if content is not None:
        (tmp_path / "history.csv").write_text(content)
    with pytest.raises(InputError) as info:
        load_history(tmp_path)
    assert "history.csv" in _one_line(info.value)


def test_render_failure_still_writes_the_numbers(tmp_path, monkeypatch):
    from bss_loadtest.reports import report

    def broken(summary, history):
        raise RuntimeError("chart exploded")

    monkeypatch.setattr(report, "render_run_report", broken)
    stats, stages = make_stats(duration_s=5, total_requests=100)
    with pytest.warns(RuntimeWarning, match="chart exploded"):
        write_run(tmp_path, make_summary(stats, stages, duration_s=5), stats.history, stats.users_at, started_at=T0)
    assert "chart exploded" in (tmp_path / "report.html").read_text()
    assert load_summary(tmp_path).run_id == "run-1"
    assert isinstance(load_history(tmp_path), pd.DataFrame)
