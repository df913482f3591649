"""`bss-loadtest run -- LOCUST OPTIONS`: an option Locust refuses is one error line and exit 104."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.e2e.runs import ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("command", ["run", "nightly"])
def test_a_locust_option_locust_refuses_is_one_error_line(command, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bss_loadtest", command, "--profile", "smoke", "--host", "http://127.0.0.1:9",
         "--report-dir", str(tmp_path / "reports"), "--", "--bogus"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 104, done.stdout[-2000:] + done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: locust: unrecognized arguments: --bogus"), done.stderr
    assert "usage:" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "reports" / "history.csv").exists()
