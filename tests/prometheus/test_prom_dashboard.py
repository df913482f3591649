"""dashboards/bss-loadtest.json: valid, filtered by run_id, naming only metrics the suite exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bss_loadtest.run import prometheus as prom

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "bss-loadtest.json"

PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
FUNCTIONS_USED = {"sum", "rate", "histogram_quantile", "count", "vector", "max", "label_values"}


def load() -> dict:
    return json.loads(DASHBOARD.read_text())


def all_panels(dashboard: dict) -> list[dict]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # rows
    return panels


def dashboard_exprs(dashboard: dict | None = None) -> list[str]:
    """Every PromQL expression: panel targets and query variables."""
    dashboard = dashboard or load()
    exprs = [t["expr"] for p in all_panels(dashboard) for t in p.get("targets", []) if t.get("expr")]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            exprs.append(query["query"] if isinstance(query, dict) else query)
    return exprs


def names_in(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, function names) in a PromQL expression."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^{}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    functions = set(re.findall(r"\b([a-zA-Z_][\w]*)\s*\(", text))
    identifiers = set(re.findall(r"(?<![\w$.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text))
    # label_values(metric, label): the second argument is a label name, not a metric
    identifiers -= set(re.findall(r"label_values\s*\([^,]*,\s*(\w+)\s*\)", text))
    return identifiers - PROMQL_KEYWORDS, functions


def exported_names(fake_state) -> set[str]:
    fake_state.stats.record("GET", "/api/v1/customers/{id}", 12.0, "timeout")
    text = generate_latest(prom.build_registry(fake_state)).decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def test_dashboard_is_valid_grafana_json():
    dashboard = load()
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    run_id = variables["run_id"]
    assert run_id["type"] == "query"
    query = run_id["query"]["query"] if isinstance(run_id["query"], dict) else run_id["query"]
    assert query == "label_values(bss_loadtest_run_info, run_id)"
    ids = [p["id"] for p in all_panels(dashboard)]
    assert len(ids) == len(set(ids))
    for panel in all_panels(dashboard):
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel.get("targets"):
            assert panel["datasource"]["uid"] == "${datasource}"


def test_every_panel_is_filtered_by_run_id():
    for panel in all_panels(load()):
        for target in panel.get("targets", []):
            assert 'run_id="$run_id"' in target["expr"], (panel["title"], target["expr"])


def test_dashboard_shows_what_the_brief_asks_for():
    exprs = " ".join(dashboard_exprs())
    for needed in (
        "bss_loadtest_requests_total",
        "bss_loadtest_request_duration_seconds_bucket",
        "bss_loadtest_users",
        "bss_loadtest_threshold_passing",
        "bss_loadtest_run_info",
        "histogram_quantile(0.5,",
        "histogram_quantile(0.95,",
        "histogram_quantile(0.99,",
        'outcome!="success"',
    ):
        assert needed in exprs, needed


def test_every_expression_names_only_exported_metrics(fake_state):
    exported = exported_names(fake_state)
    for expr in dashboard_exprs():
        metrics, functions = names_in(expr)
        assert metrics, f"no metric found in {expr!r}"
        assert metrics <= exported, f"{expr!r} names {sorted(metrics - exported)}, not exported"
        assert functions <= FUNCTIONS_USED, f"{expr!r}: unexpected functions {sorted(functions - FUNCTIONS_USED)}"


@pytest.mark.parametrize(
    "expr, metrics",
    [
        ('sum by (le) (rate(foo_bucket{a="x{y}"}[5m]))', {"foo_bucket"}),
        ("label_values(bss_loadtest_run_info, run_id)", {"bss_loadtest_run_info"}),
        ("count(x == 0) or vector(0)", {"x"}),
        ("a / on(b) c", {"a", "c"}),
    ],
)
def test_names_in(expr, metrics):
    assert names_in(expr)[0] == metrics


TRACE_DATASOURCE_TYPES = {"tempo", "jaeger"}


def latency_panels(dashboard: dict) -> list[dict]:
    return [
        p for p in all_panels(dashboard)
        if p["type"] == "timeseries" and any("_duration_seconds_bucket" in t.get("expr", "") for t in p.get("targets", []))
    ]


def test_latency_panels_show_exemplars():
    panels = latency_panels(load())
    assert panels, "no latency time series panel"
    for panel in panels:
        flagged = [t for t in panel["targets"] if t.get("exemplar") is True]
        assert len(flagged) == 1, (panel["title"], "one query with exemplars: one set of dots")
        assert "bss_loadtest_request_duration_seconds_bucket" in flagged[0]["expr"]
    # Only time series show exemplars; no other query asks for them.
    for panel in all_panels(load()):
        if panel not in panels:
            assert not any(t.get("exemplar") for t in panel.get("targets", [])), panel["title"]


def test_a_traces_datasource_variable_is_used_by_the_latency_panels_links():
    dashboard = load()
    traces = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource" and v["query"] in TRACE_DATASOURCE_TYPES]
    assert len(traces) == 1, "one datasource variable of type tempo or jaeger"
    (variable,) = traces
    reference = "${" + variable["name"] + "}"
    for panel in latency_panels(dashboard):
        links = panel.get("links", [])
        assert links and all(set(link) >= {"title", "url"} for link in links), panel["title"]
        assert any(reference in link["url"] for link in links), (panel["title"], links)
        for link in links:
            assert link["url"].startswith("/explore?left="), link
            # The Explore state is URL-encoded JSON around Grafana's variables.
            state = unquote(link["url"].removeprefix("/explore?left="))
            for name in (variable["name"], "__from", "__to"):
                state = state.replace("${" + name + "}", "x")
            explore = json.loads(state)
            assert explore["datasource"] == "x" and explore["range"] == {"from": "x", "to": "x"}
