"""The example nightly workflow is valid YAML and does what docs/reports.md says."""

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "nightly.yml"


def test_nightly_workflow():
    data = yaml.safe_load(WORKFLOW.read_text())
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"][0]["cron"].count(" ") == 4
    steps = data["jobs"]["nightly"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "bss-loadtest nightly --profile load --host \"${{ vars.BSS_HOST }}\"" in runs
    assert "$GITHUB_STEP_SUMMARY" in runs
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
