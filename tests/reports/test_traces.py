"""The slowest requests and failure samples with their trace ids: summary.json, report.html, compare."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime

import pytest
from synthetic import T0

from bss_loadtest.core.errors import InputError
from bss_loadtest.core.stats import FAILURE_SAMPLES_N, SLOWEST_N, RunStats
from bss_loadtest.reports.baseline import read_baseline, save_baseline
from bss_loadtest.reports.compare import compare, to_html, to_markdown
from bss_loadtest.reports.report import REPORT_SLOWEST_ROWS, render_run_report
from bss_loadtest.reports.results import (
    load_summary,
    summary_from_stats,
    trace_link,
    trace_url_problem,
    validate_summary,
    write_run,
)

JAEGER = "http://localhost:16686/trace/{trace_id}"
TEMPO = ('https://grafana.example/explore?left={"datasource":"tempo","queries":[{"query":"{trace_id}",'
         '"queryType":"traceql"}]}')
ENDPOINTS = [("GET", "/api/v1/customers/{id}", 20.0), ("POST", "/api/v1/orders", 60.0), ("GET", "/api/products", 10.0)]


def traced_stats(*, seed: int = 1, n: int = 3000, slow: dict[str, float] | None = None,
                 endpoints=ENDPOINTS) -> tuple[RunStats, list[tuple[str, float, str]]]:
    """A RunStats of traced requests (every 50th fails); also every (endpoint, ms, trace id)."""
    rng = random.Random(seed)
    stats = RunStats()
    made = []
    for i in range(n):
        method, name, base = endpoints[i % len(endpoints)]
        key = f"{method} {name}"
        ms = rng.lognormvariate(0, 0.5) * base + (slow or {}).get(key, 0.0)
        failed = i % 50 == 49
        trace_id = f"{rng.getrandbits(128):032x}"
        stats.record(method, name, ms, "server_error" if failed else None, user_class="CustomerUser",
                     now=T0 + i * 0.01, trace_id=trace_id, status=503 if failed else 200)
        made.append((key, ms, trace_id))
    stats.ended_at = T0 + n * 0.01
    return stats, made


def summary_of(stats: RunStats, run_id: str = "run-1", **meta) -> dict:
    return summary_from_stats(stats, run_id=run_id, profile="load", started_at=T0, ended_at=stats.ended_at, **meta)


def test_summary_holds_the_slowest_per_endpoint_and_the_latest_failures():
    stats, made = traced_stats()
    summary = validate_summary(summary_of(stats, trace_url=JAEGER))
    for row in summary.endpoint_rows():
        want = sorted((m for m in made if m[0] == row.key), key=lambda m: -m[1])[:SLOWEST_N]
        assert [s.trace_id for s in row.slowest] == [m[2] for m in want]
        assert [s.ms for s in row.slowest] == [round(m[1], 2) for m in want]
    assert summary.totals.slowest == []
    samples = summary.failure_samples["server_error"]
    assert len(samples) == FAILURE_SAMPLES_N and {s.status for s in samples} == {503}
    assert [s.trace_id for s in samples] == [made[i][2] for i in range(len(made)) if i % 50 == 49][-FAILURE_SAMPLES_N:]
    assert samples[-1].endpoint == made[2999][0] and samples[0].at < samples[-1].at
    assert summary.trace_url == JAEGER
    # summary.json round trip: same schema version, the new fields optional
    data = summary.to_json_dict()
    assert data["schema_version"] == 1 and data["requests"][0]["slowest"][0]["at"].startswith("2025-11-24T")
    old = {k: v for k, v in data.items() if k not in ("failure_samples", "trace_url")}
    old["requests"] = [{k: v for k, v in r.items() if k != "slowest"} for r in old["requests"]]
    assert validate_summary(old).failure_samples == {} and validate_summary(old).requests[0].slowest == []


@pytest.mark.parametrize("template, problem", [
    (JAEGER, None),
    (TEMPO, None),
    ("https://tempo.example:3200/api/traces/{trace_id}", None),
    ("http://localhost:16686/trace/", "must contain {trace_id}"),
    ("javascript:alert(1)//{trace_id}", "http:// or https://"),
    ("file:///tmp/{trace_id}", "http:// or https://"),
    ("http:///{trace_id}", "with a host"),
    ("http://a b/{trace_id}", "without spaces"),
    ("http://[::1/{trace_id}", "http:// or https://"),
])
def test_trace_url_templates(template, problem):
    found = trace_url_problem(template)
    assert (found is None) if problem is None else (problem in found)


def test_links_replace_only_the_placeholder_and_only_hex_ids():
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    assert trace_link(JAEGER, trace_id) == f"http://localhost:16686/trace/{trace_id}"
    assert trace_link(TEMPO, trace_id) == TEMPO.replace("{trace_id}", trace_id)
    assert trace_link(JAEGER, "x" * 32) is None and trace_link(JAEGER, trace_id.upper()) is None
    assert trace_link("javascript:{trace_id}", trace_id) is None and trace_link(None, trace_id) is None


def test_a_summary_with_a_bad_template_or_trace_id_is_refused_in_one_line():
    stats, _ = traced_stats(n=100)
    data = summary_of(stats)
    with pytest.raises(InputError, match=r"^summary.json: trace_url: Value error, must contain \{trace_id\}$"):
        validate_summary({**data, "trace_url": "http://x/"})
    data["requests"][0]["slowest"][0]["trace_id"] = "<script>"
    with pytest.raises(InputError, match=r"requests\[0\]\.slowest\[0\]\.trace_id"):
        validate_summary(data)


def test_the_builder_drops_a_bad_template_rather_than_the_run():
    stats, _ = traced_stats(n=100)
    with pytest.warns(RuntimeWarning, match="--trace-url"):
        data = summary_of(stats, trace_url="ftp://x/{trace_id}")
    assert validate_summary(data).trace_url is None


def trace_links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)" rel="noreferrer">([0-9a-f]{32})</a>', html)


def test_report_lists_and_links_the_slowest_requests(tmp_path):
    stats, made = traced_stats()
    run_dir = tmp_path / "run-1"
    write_run(run_dir, summary_of(stats, trace_url=JAEGER), started_at=T0)
    html = (run_dir / "report.html").read_text()
    assert "Slowest requests" in html and "Latest failed requests per class" in html
    links = trace_links(html)
    overall = sorted(made, key=lambda m: -m[1])[0]
    assert links[0] == (JAEGER.replace("{trace_id}", overall[2]), overall[2])
    summary = json.loads((run_dir / "summary.json").read_text())
    kept = {s["trace_id"] for r in summary["requests"] for s in r["slowest"]}
    kept |= {s["trace_id"] for samples in summary["failure_samples"].values() for s in samples}
    assert kept <= {trace_id for _, trace_id in links}
    # the slowest row: endpoint, ms, status
    assert re.search(rf'<td class="l">{re.escape(overall[0])}</td><td>{overall[1]:,.1f}</td><td>200</td>', html)


def test_report_without_a_template_shows_the_ids_and_how_to_link_them():
    stats, made = traced_stats(n=300)
    html = render_run_report(validate_summary(summary_of(stats)))
    assert trace_links(html) == [] and "give --trace-url" in html
    assert sorted(made, key=lambda m: -m[1])[0][2] in html


def test_report_of_a_run_without_traces_has_no_section():
    stats = RunStats()
    stats.record("GET", "/x", 5.0, None, now=T0)
    stats.ended_at = T0 + 1
    assert "Slowest requests" not in render_run_report(validate_summary(summary_of(stats, trace_url=JAEGER)))


def test_many_endpoints_keep_every_kept_id_in_the_report_folded():
    endpoints = [("GET", f"/api/e{i}", 10.0 + i) for i in range(8)]
    stats, _ = traced_stats(n=800, endpoints=endpoints)
    summary = validate_summary(summary_of(stats, trace_url=JAEGER))
    html = render_run_report(summary)
    assert SLOWEST_N * len(endpoints) > REPORT_SLOWEST_ROWS and "<details>" in html
    kept = {s.trace_id for r in summary.requests for s in r.slowest}
    assert kept <= {trace_id for _, trace_id in trace_links(html)}


def test_links_and_names_are_escaped():
    evil = '"><script>alert(1)</script>'
    stats, _ = traced_stats(n=300, endpoints=[("GET", f"/api/{evil}", 10.0)])
    template = 'https://tempo.example/search?q="><img src=x onerror=alert(1)>{trace_id}'
    assert trace_url_problem(template) is not None  # spaces: refused
    template = 'https://tempo.example/search?q="><script>{trace_id}'
    assert trace_url_problem(template) is None  # a URL, but one whose text must be escaped in the page
    html = render_run_report(validate_summary(summary_of(stats, trace_url=template)))
    assert "<script" not in html
    assert 'href="https://tempo.example/search?q=&#34;&gt;&lt;script&gt;' in html
    assert "/api/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.fixture
def regressed(tmp_path):
    """A baseline run and a run whose GET /api/products is 80 ms slower, both traced."""
    base_stats, base_made = traced_stats(seed=1)
    run_stats, run_made = traced_stats(seed=2, slow={"GET /api/products": 80.0})
    base_dir, run_dir = tmp_path / "base", tmp_path / "run"
    write_run(base_dir, summary_of(base_stats, run_id="base", trace_url=JAEGER), started_at=T0)
    write_run(run_dir, summary_of(run_stats, run_id="run", trace_url=TEMPO), started_at=T0)
    baseline = read_baseline(save_baseline(base_dir, tmp_path / "baselines", now=datetime(2026, 11, 1, tzinfo=UTC)))
    return compare(load_summary(run_dir), baseline), run_made, base_made


def test_compare_links_the_slowest_traces_of_a_regressed_endpoint_in_both_runs(regressed):
    comparison, run_made, base_made = regressed
    key = "GET /api/products"
    assert key in {r.endpoint for r in comparison.regressions}
    traces = {t.endpoint: t for t in comparison.traces}
    assert set(traces) == {r.endpoint for r in comparison.regressions}
    slowest_run = sorted((m for m in run_made if m[0] == key), key=lambda m: -m[1])[0][2]
    slowest_base = sorted((m for m in base_made if m[0] == key), key=lambda m: -m[1])[0][2]
    assert traces[key].run[0].trace_id == slowest_run and traces[key].baseline[0].trace_id == slowest_base
    # each run links by its own template
    assert traces[key].run[0].href == TEMPO.replace("{trace_id}", slowest_run)
    assert traces[key].baseline[0].href == JAEGER.replace("{trace_id}", slowest_base)

    html = to_html(comparison)
    assert "Slowest requests of the regressed endpoints" in html
    links = {trace_id for _, trace_id in trace_links(html)}
    assert {slowest_run, slowest_base} <= links
    markdown = to_markdown(comparison)
    assert f"[`{slowest_base}`](http://localhost:16686/trace/{slowest_base})" in markdown
    tempo_link = TEMPO.replace("{trace_id}", slowest_run).replace("(", "%28").replace(")", "%29")
    assert f"[`{slowest_run}`]({tempo_link})" in markdown
    assert json.loads(json.dumps(comparison.to_dict()))["traces"][0]["run"][0]["trace_id"]


def test_compare_without_a_regression_lists_no_traces(tmp_path):
    stats, _ = traced_stats(seed=1)
    run_dir = tmp_path / "run"
    write_run(run_dir, summary_of(stats, trace_url=JAEGER), started_at=T0)
    baseline = read_baseline(save_baseline(run_dir, tmp_path / "baselines", now=datetime(2026, 11, 1, tzinfo=UTC)))
    comparison = compare(load_summary(run_dir), baseline)
    assert not comparison.regressed and comparison.traces == []
    assert "Slowest requests" not in to_html(comparison) and "Slowest requests" not in to_markdown(comparison)
