"""A real run's trace context end to end: the slowest requests in summary.json and report.html are
the server's own log lines for those requests, and the server's log filtered by the run id holds
exactly the run's requests."""

from __future__ import annotations

import html as htmllib
import json
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

JAEGER = "http://localhost:16686/trace/{trace_id}"
LINK = re.compile(r'<a href="([^"]*)" rel="noreferrer">([0-9a-f]{32})</a>')
SLOWEST_ROW = re.compile(r'<tr><td class="l">([^<]*)</td><td>[^<]*</td><td>(\d+|–)</td>\s*<td class="l trace"><a href="[^"]*"'
                         r' rel="noreferrer">([0-9a-f]{32})</a>')


def server_has_access_log() -> bool:
    result = subprocess.run([sys.executable, "-m", "bss_reference", "--help"], capture_output=True, text=True,
                            timeout=60)
    return "--access-log" in result.stdout


def field(line: dict, *names: str):
    """The first of ``names`` the log line has (``traceId`` or ``trace_id``, ...)."""
    return next((line[n] for n in names if n in line), None)


@pytest.mark.parametrize("processes", [None, 2])
def test_slowest_requests_link_to_the_traces_the_server_logged(reference_server_factory, locust, tmp_path, processes):
    logged = server_has_access_log()
    access_log = tmp_path / "access.jsonl"
    extra = ["--latency-ms", "3"] + (["--access-log", str(access_log)] if logged else [])
    server = reference_server_factory(extra_args=extra)
    args = ["--profile", "load", "--time-scale", "0.02", "--host", server.url, "--trace-url", JAEGER]
    result = locust(args + (["--processes", str(processes)] if processes else []))
    assert result.returncode == 0, result.output[-3000:]
    summary = result.summary
    assert summary["trace_url"] == JAEGER

    # summary.json: per endpoint its slowest, well-formed, slowest first; never more than a few
    kept = {}
    for row in summary["requests"]:
        if row["method"] in ("AUTH", "CONNECT"):
            assert row["slowest"] == []  # token requests and connection setups carry no trace context
            continue
        assert row["slowest"], row["name"]
        assert len(row["slowest"]) <= min(5, row["count"])
        assert [s["ms"] for s in row["slowest"]] == sorted((s["ms"] for s in row["slowest"]), reverse=True)
        assert abs(row["slowest"][0]["ms"] - row["max_ms"]) <= max(0.01 * row["max_ms"], 0.02)
        for sample in row["slowest"]:
            assert re.fullmatch(r"[0-9a-f]{32}", sample["trace_id"]) and sample["trace_id"] != "0" * 32
            kept[sample["trace_id"]] = (f"{row['method']} {row['name']}", sample)

    # report.html: each of them is a link to its trace
    page = (result.run_dir / "report.html").read_text()
    links = {trace_id: htmllib.unescape(href) for href, trace_id in LINK.findall(page)}
    for trace_id in kept:
        assert links.get(trace_id) == JAEGER.replace("{trace_id}", trace_id)
    endpoint, status, slowest_id = SLOWEST_ROW.search(page).groups()
    assert slowest_id == max(kept, key=lambda t: kept[t][1]["ms"])

    if not logged:
        pytest.skip("the reference server has no --access-log yet (python -m bss_reference --help)")
    lines = [json.loads(line) for line in access_log.read_text().splitlines() if line.strip()]
    by_trace = {field(line, "traceId", "trace_id"): line for line in lines}

    # the slowest request of the report is the server's log line for that request
    line = by_trace[slowest_id]
    assert field(line, "runId", "run_id") == summary["run_id"]
    assert f"{line['method']} {line['route']}" == htmllib.unescape(endpoint)
    assert str(line["status"]) == status
    # and so is every other kept request
    for trace_id, (key, sample) in kept.items():
        line = by_trace[trace_id]
        assert f"{line['method']} {line['route']}" == key and line["status"] == sample["status"]

    # the server's log filtered by the run id: exactly the run's requests
    of_run = [line for line in lines if field(line, "runId", "run_id") == summary["run_id"]]
    assert len(of_run) == summary["totals"]["count"]
    assert len({field(line, "traceId", "trace_id") for line in of_run}) == len(of_run)  # a fresh trace per request


def test_a_bad_trace_url_is_one_error_line(locust):
    result = locust(["--profile", "smoke", "--host", "http://127.0.0.1:9", "--trace-url", "ftp://jaeger/{trace_id}"],
                    timeout=60)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.returncode == 104, result.output[-2000:]
    assert errors == ["error: --trace-url 'ftp://jaeger/{trace_id}': must be an http:// or https:// URL with a host, "
                      "e.g. http://localhost:16686/trace/{trace_id}"], result.output[-2000:]
    assert "Traceback" not in result.output and "usage:" not in result.output
