"""Safety: the client secret and the bearer tokens never reach any artefact of a run: console
output, summary.json, history.csv, report.html, compare outputs, the live /metrics text or what
was pushed to a real Pushgateway."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from tests.e2e.runs import ROOT, free_port
from tests.faults.faultkit import assert_results_whole, start_locust, write_profile
from tests.prometheus.prom_servers import start_pushgateway

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SECRET = "s3cr3t-Fault-Matrix-7d1e0b9c"
JWT_PREFIX = "eyJ"  # base64 of '{"' : the start of every JWT header and payload
# A JWT: base64url header and payload, both JSON objects, joined by dots. (A bare "eyJ" also occurs
# by chance inside the base64 of the report's PNG charts, which hold no dots.)
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8", "replace")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bss_loadtest", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def test_secret_and_tokens_appear_in_no_artefact(tmp_path, reference_server_factory):
    server = reference_server_factory(client_secret=SECRET, extra_args=["--client-secret", SECRET])
    token = server.token()  # one the server issues for these credentials: same shape as the suite's
    assert token.startswith(JWT_PREFIX)
    gateway = start_pushgateway(tmp_path / "pushgateway")
    port = free_port()
    scraped: list[str] = []
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(0.5):
            try:
                scraped.append(_get(f"http://127.0.0.1:{port}/metrics"))
            except OSError:
                pass

    scraper = threading.Thread(target=scrape, daemon=True)
    try:
        run = start_locust(
            ["--profile", str(write_profile(tmp_path, seconds=5)), "--host", server.url,
             "--prometheus-port", str(port), "--pushgateway", gateway.url, "--push-interval", "1",
             "--loglevel", "DEBUG"],
            tmp_path / "reports", env={"BSS_CLIENT_SECRET": SECRET},
        )
        scraper.start()
        run.wait()
        stop.set()
        scraper.join(timeout=5)
        pushed = _get(gateway.url + "/metrics")
    finally:
        stop.set()
        gateway.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert_results_whole(run.run_dir, status="complete")
    assert scraped and any("bss_" in text for text in scraped), "the live endpoint was never scraped"
    assert run.summary["run_id"] in pushed, "nothing of this run reached the Pushgateway"

    saved = _cli("baseline", "save", str(run.run_dir), "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    compared = _cli("compare", str(run.run_dir), "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert compared.returncode == 0, compared.stdout[-2000:] + compared.stderr[-2000:]

    artefacts = {
        "console": run.output,
        "baseline save": saved.stdout + saved.stderr,
        "compare": compared.stdout + compared.stderr,
        "pushgateway /metrics": pushed,
        **{f"scrape {i}": text for i, text in enumerate(scraped)},
    }
    files = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    assert {"summary.json", "history.csv", "report.html"} <= {p.name for p in files}
    assert any("compare" in p.parts for p in files), "compare wrote no files"
    for path in files:
        artefacts[str(path.relative_to(tmp_path))] = path.read_text(errors="replace")
    for name, text in artefacts.items():
        assert SECRET not in text, f"the client secret appears in {name}"
        assert token not in text, f"a bearer token appears in {name}"
        assert not JWT_SHAPE.search(text), f"something shaped like a JWT appears in {name}"
