"""What a run leaves for a CI system: a JUnit XML file and a Markdown job summary.

Both are rendered from the run's summary (the dict ``results.summary_from_stats`` builds, or a
:class:`~bss_loadtest.reports.results.Summary`):

* :func:`to_junit`: one ``testsuite`` for the run, one ``testcase`` per threshold with its observed
  value and its limit (in the message and as ``properties``); a crossed threshold is a
  ``<failure>``. The run's id, profile, host, status and exit code are the suite's properties.
* :func:`to_markdown`: the verdict, the thresholds, and the top endpoints by request count and by
  p95, for ``$GITHUB_STEP_SUMMARY``.

:func:`write_ci_outputs` writes them (the JUnit file replaced atomically, the job summary appended
to by an atomic replace of the whole file); a path that cannot be written is a one-line
:class:`~bss_loadtest.core.errors.ConfigError`. This module does not import locust.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bss_loadtest.core.errors import ConfigError, SuiteError
from bss_loadtest.core.thresholds import Scope, Threshold, format_number, format_value, parse_expression
from bss_loadtest.reports.report import measured_rate
from bss_loadtest.reports.results import Summary, ThresholdRow, atomic_write_text

JUNIT_SUITE = "bss-loadtest"
"""The JUnit suite name; each run's suite is ``bss-loadtest.<profile>``."""
TOP_ENDPOINTS = 10
"""Endpoints in each table of the Markdown summary."""
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
"""The environment variable GitHub Actions names the job summary file with."""


def _summary(summary: Summary | Mapping[str, Any]) -> Summary:
    return summary if isinstance(summary, Summary) else Summary.model_validate(dict(summary))


# -- a threshold's limit and observed value -----------------------------------------------------


def _parsed(row: ThresholdRow) -> Threshold | None:
    try:
        statistic, percentile, op, limit = parse_expression(row.metric, row.expression)
    except (KeyError, ValueError):
        return None  # not written by this suite's parser; shown as written
    return Threshold(metric=row.metric, scope=Scope(), expression=row.expression, statistic=statistic,
                     op=op, limit=limit, percentile=percentile)


def threshold_name(row: ThresholdRow) -> str:
    """``http_req_duration{name:GET /api/v1/customers/{id}} p(95)<500``: the key as written and the expression."""
    return f"{row.metric}{{{row.scope}}} {row.expression}" if row.scope else f"{row.metric} {row.expression}"


def threshold_limit(row: ThresholdRow) -> str:
    """The limit with its unit: ``< 500 ms``, ``< 0.05 (5%)``, ``> 10/s``; the expression if unparsable."""
    threshold = _parsed(row)
    if threshold is None:
        return row.expression
    number = format_number(threshold.limit)
    unit = threshold.unit
    if unit == "ms":
        return f"{threshold.op} {number} ms"
    if unit == "rate":
        return f"{threshold.op} {number} ({threshold.limit * 100:g}%)"
    return f"{threshold.op} {number}{unit}"


def threshold_observed(row: ThresholdRow) -> str:
    """The observed value with its unit (``612 ms``, ``0.012 (1.20%)``), or ``-`` when there is none."""
    threshold = _parsed(row)
    return format_value(row.observed, threshold.unit if threshold is not None else "")


# -- JUnit XML ------------------------------------------------------------------------------------


def to_junit(summary: Summary | Mapping[str, Any]) -> str:
    """The run as a JUnit XML document: one test case per threshold, a crossed one a ``<failure>``."""
    s = _summary(summary)
    failed = sum(1 for t in s.thresholds if not t.passed)
    suite_name = f"{JUNIT_SUITE}.{s.profile}"
    duration = f"{s.duration_s:.3f}"
    root = ET.Element("testsuites", name=JUNIT_SUITE, tests=str(len(s.thresholds)), failures=str(failed),
                      errors="0", time=duration)
    suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(s.thresholds)), failures=str(failed),
                          errors="0", skipped="0", time=duration,
                          timestamp=s.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("run_id", s.run_id), ("profile", s.profile), ("host", s.host or ""),
                        ("status", s.status), ("partial_reason", s.partial_reason or ""),
                        ("exit_code", str(s.exit_code)), ("requests", str(s.totals.count))):
        ET.SubElement(properties, "property", name=name, value=value)
    for row in s.thresholds:
        observed, limit = threshold_observed(row), threshold_limit(row)
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=threshold_name(row), time="0")
        case_properties = ET.SubElement(case, "properties")
        for name, value in (("observed", "" if row.observed is None else repr(row.observed)), ("limit", limit)):
            ET.SubElement(case_properties, "property", name=name, value=value)
        line = f"observed {observed}, limit {limit}"
        if not row.passed:
            failure = ET.SubElement(case, "failure", type="threshold", message=line)
            failure.text = row.reason or line
        ET.SubElement(case, "system-out").text = line
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# -- Markdown ------------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def to_markdown(summary: Summary | Mapping[str, Any]) -> str:
    """The run for a CI job summary: verdict, thresholds, top endpoints by requests and by p95."""
    s = _summary(summary)
    passed = s.exit_code == 0
    verdict = "PASSED" if passed else f"FAILED (exit code {s.exit_code})"
    scale = f" (time scale {s.time_scale:g})" if s.time_scale != 1 else ""
    out = [f"## {'✅' if passed else '❌'} bss-loadtest {_md(s.profile)}: {verdict}", "",
           f"Run `{_md(s.run_id)}` against `{_md(s.host or '–')}`: {s.duration_s:,.1f} s{scale}, "
           f"{s.totals.count:,} requests, {s.totals.failures:,} failed ({s.totals.error_rate * 100:.2f} %).", ""]
    if s.status == "partial":
        out += [f"> ⚠️ Partial run: {_md(s.partial_reason or 'unknown reason')}", ""]
    out += ["### Thresholds", ""]
    if s.thresholds:
        out += ["| result | threshold | observed | limit |", "|---|---|---:|---:|"]
        out += [f"| {'PASS' if t.passed else '**FAIL**'} | {_md(threshold_name(t))} | {_md(threshold_observed(t))} | "
                f"{_md(threshold_limit(t))} |" for t in s.thresholds]
    else:
        out.append("The profile declares no thresholds.")
    out.append("")
    endpoints = s.endpoint_rows()
    if endpoints:
        rated = measured_rate(s)
        busiest = sorted(endpoints, key=lambda r: (-r.count, r.key))[:TOP_ENDPOINTS]
        out += [f"### Top endpoints by requests{'' if rated else ' (run under 1 s: no rates)'}", "",
                "| endpoint | requests | failures | p95 ms | req/s |", "|---|---:|---:|---:|---:|"]
        out += [f"| {_md(r.key)} | {r.count:,} | {r.failures:,} | {_ms(r.p95_ms)} | "
                f"{f'{r.rps:,.2f}' if rated else '–'} |" for r in busiest]
        slowest = sorted((r for r in endpoints if r.p95_ms is not None), key=lambda r: (-(r.p95_ms or 0.0), r.key))
        out += ["", "### Top endpoints by p95", "", "| endpoint | p95 ms | p99 ms | requests |", "|---|---:|---:|---:|"]
        out += [f"| {_md(r.key)} | {_ms(r.p95_ms)} | {_ms(r.p99_ms)} | {r.count:,} |" for r in slowest[:TOP_ENDPOINTS]]
        out.append("")
    return "\n".join(out) + "\n"


# -- writing -------------------------------------------------------------------------------------


def _write(path: Path, text: str, *, what: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        in_the_way = isinstance(error, (FileExistsError, NotADirectoryError))
        reason = "a file is in the way" if in_the_way else (error.strerror or str(error))
        raise ConfigError(f"{what}: {path}: cannot create the directory {path.parent}: {reason}") from None
    try:
        atomic_write_text(path, text)
    except SuiteError as error:  # ResultsWriteError: "<path>: cannot write: <reason>"
        raise ConfigError(f"{what}: {error.message}") from None


def write_ci_outputs(
    summary: Summary | Mapping[str, Any], *, junit_path: str | None, step_summary_path: str | None
) -> list[str]:
    """Write the JUnit file (``--junit``) and append the Markdown summary to the job summary file.

    Either path may be None (nothing written for it). Returns the paths written. The job summary
    is read, extended and replaced atomically, so a reader never sees half of it. A path that
    cannot be written raises :class:`ConfigError` with one line naming the option and the file.
    """
    s = _summary(summary)
    written: list[str] = []
    if junit_path:
        _write(Path(junit_path), to_junit(s), what="--junit")
        written.append(str(junit_path))
    if step_summary_path:
        path = Path(step_summary_path)
        try:
            before = path.read_text(encoding="utf-8") if path.exists() else ""
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ConfigError(f"{STEP_SUMMARY_ENV}: {path}: cannot read: {reason}") from None
        separator = "\n" if before and not before.endswith("\n") else ""
        _write(path, before + separator + to_markdown(s), what=STEP_SUMMARY_ENV)
        written.append(str(step_summary_path))
    return written


def step_summary_path(environ: Mapping[str, str] = os.environ) -> str | None:
    """``$GITHUB_STEP_SUMMARY`` when set and not empty, else None."""
    return environ.get(STEP_SUMMARY_ENV) or None
