"""docs/observability.md: its configuration snippets are valid and agree with what the suite exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prom_servers import PROMTOOL_BINARY, require_binary

from bss_loadtest.reports.results import trace_url_problem
from bss_loadtest.run import prometheus as prom

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "observability.md"
DASHBOARD = ROOT / "dashboards" / "bss-loadtest.json"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def yaml_block(first_line_contains: str) -> dict:
    (block,) = [b for b in blocks("yaml") if first_line_contains in b.splitlines()[0]]
    return yaml.safe_load(block)


def test_every_yaml_snippet_parses():
    snippets = blocks("yaml")
    assert len(snippets) >= 5
    for snippet in snippets:
        assert isinstance(yaml.safe_load(snippet), dict), snippet


def test_the_prometheus_config_passes_promtool(tmp_path):
    promtool = require_binary(PROMTOOL_BINARY)
    (block,) = [b for b in blocks("yaml") if b.startswith("# prometheus.yml")]
    config = tmp_path / "prometheus.yml"
    config.write_text(block)
    result = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_exemplar_links_name_the_suites_exemplar_label_and_a_provisioned_trace_source():
    provisioned = yaml_block("datasources/")["datasources"]
    by_uid = {d["uid"]: d for d in provisioned}
    (prometheus,) = [d for d in provisioned if d["type"] == "prometheus"]
    destinations = prometheus["jsonData"]["exemplarTraceIdDestinations"]
    assert [d["name"] for d in destinations] == [prom.EXEMPLAR_TRACE_LABEL]
    for destination in destinations:
        assert by_uid[destination["datasourceUid"]]["type"] in {"tempo", "jaeger"}
    # The dashboard's traces variable picks among data sources of a type provisioned here.
    dashboard = json.loads(DASHBOARD.read_text())
    (traces,) = [v for v in dashboard["templating"]["list"] if v["name"] == "traces"]
    assert traces["query"] in {d["type"] for d in provisioned}
    # Grafana expands $VAR in provisioning files: its own ${__...} variables are written $${...}.
    text = [b for b in blocks("yaml") if "datasources/" in b.splitlines()[0]][0]
    assert not re.search(r"(?<!\$)\$\{__", text)


@pytest.mark.parametrize("template", re.findall(r"--trace-url '([^']+)'", DOC.read_text()))
def test_the_trace_url_examples_are_valid_templates(template):
    assert trace_url_problem(template) is None


def test_the_trace_url_examples_are_there():
    assert len(re.findall(r"--trace-url '([^']+)'", DOC.read_text())) == 2
