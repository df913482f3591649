"""``--summary-export FILE``: a run's numbers as k6's summary-export JSON (``k6 run --summary-export``).

Made from the run's ``summary.json`` (its ``metrics`` block, k6's names and keys), with k6's
meanings, so that the tools that read k6's file keep working:

- ``root_group``: ``name``, ``path``, ``id`` (the md5 of the path), ``groups``, ``checks``;
- ``metrics``: per metric its statistics flattened: a Trend (``http_req_duration``,
  ``iteration_duration``, milliseconds) ``avg``, ``min``, ``med``, ``max``, ``p(90)``, ``p(95)``,
  ``p(99)``; a Counter (``http_reqs``, ``iterations``, ``dropped_iterations``) ``count`` and
  ``rate`` per second; a Rate (``http_req_failed``, ``checks``, ``errors``) ``passes`` (the true
  samples: for ``http_req_failed`` the FAILED requests), ``fails`` and ``value``; a Gauge (``vus``,
  ``vus_max``) ``value``, ``min``, ``max``. As in k6, a metric without samples is left out.
- ``thresholds`` under the metric (a tagged one under its submetric, ``http_req_duration{name:...}``),
  expression → ``true`` when the threshold was CROSSED (k6's legacy file stores whether it failed).

This module does not import locust.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bss_loadtest.core.errors import ConfigError

TREND_KEYS = ("avg", "min", "med", "max", "p(90)", "p(95)", "p(99)")
COUNTER_KEYS = ("count", "rate")
RATE_KEYS = ("passes", "fails", "value")
GAUGE_KEYS = ("value", "min", "max")
METRIC_KINDS: dict[str, tuple[str, ...]] = {
    "http_req_duration": TREND_KEYS,
    "iteration_duration": TREND_KEYS,
    "http_reqs": COUNTER_KEYS,
    "iterations": COUNTER_KEYS,
    "dropped_iterations": COUNTER_KEYS,
    "http_req_failed": RATE_KEYS,
    "checks": RATE_KEYS,
    "errors": RATE_KEYS,
    "vus": GAUGE_KEYS,
    "vus_max": GAUGE_KEYS,
}
"""k6's metrics the suite measures, with the keys k6's file gives each."""

_STATISTIC = re.compile(r"^\s*(p\(\s*[0-9.]+\s*\)|avg|min|med|max|rate|count|value|rps)\s*(?:<=|>=|==|!=|<|>)")


def check_export_path(text: str, option: str = "--summary-export") -> Path:
    """The file ``--summary-export`` names, checked before a run starts: its directory exists and
    takes a new file, and the name is not a directory. :class:`ConfigError` (exit 104) otherwise."""
    if not text or not text.strip():
        raise ConfigError(f"{option}: name the JSON file to write")
    path = Path(text)
    if path.is_dir():
        raise ConfigError(f"{option} {text}: is a directory; name the JSON file to write")
    parent = path.parent
    if not parent.exists():
        raise ConfigError(f"{option} {text}: directory {parent} does not exist")
    if not parent.is_dir():
        raise ConfigError(f"{option} {text}: {parent} is not a directory")
    try:  # the write is a temporary file in the same directory, renamed: try exactly that
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{option} {text}: cannot write in {parent}: {exc.strerror or exc}") from None
    return path


def _group_id(path: str) -> str:
    return hashlib.md5(path.encode("utf-8"), usedforsecurity=False).hexdigest()


def _present(kind: tuple[str, ...], values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The metric's k6 keys that have a value; None when it had no samples (k6 leaves it out)."""
    entry = {key: values[key] for key in kind if values.get(key) is not None}
    if kind == COUNTER_KEYS and not entry.get("count"):
        return None
    if kind == RATE_KEYS and entry.get("value") is None:
        return None
    if kind in (TREND_KEYS, GAUGE_KEYS) and not entry:
        return None
    return entry


def _from_totals(totals: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What an older summary.json (no ``metrics`` block) gives: the request metrics from ``totals``."""
    count, failures = int(totals.get("count") or 0), int(totals.get("failures") or 0)
    trend = {"avg": totals.get("avg_ms"), "min": totals.get("min_ms"), "med": totals.get("p50_ms"),
             "max": totals.get("max_ms"), "p(90)": totals.get("p90_ms"), "p(95)": totals.get("p95_ms"),
             "p(99)": totals.get("p99_ms")}
    return {
        "http_req_duration": trend,
        "http_reqs": {"count": count, "rate": totals.get("rps")},
        "http_req_failed": {"passes": failures, "fails": count - failures,
                            "value": failures / count if count else None},
    }


def _submetric_stats(metric: str, scope: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    """A tagged submetric's statistics where summary.json has them: one endpoint's row (``name:``)."""
    tag, _, value = scope.partition(":")
    if tag != "name" or metric not in ("http_req_duration", "http_req_failed", "http_reqs"):
        return {}
    rows = [row for row in summary.get("requests") or []
            if f"{row.get('method')} {row.get('name')}" == value]
    if not rows:
        return {}
    return _present(METRIC_KINDS[metric], _from_totals(rows[0])[metric]) or {}


def _observed_key(metric: str, expression: str) -> str | None:
    """Under which k6 key a threshold's observed value belongs: ``p(95)<500`` → ``p(95)``."""
    match = _STATISTIC.match(expression)
    if not match:
        return None
    stat = re.sub(r"\s+", "", match.group(1))
    kind = METRIC_KINDS.get(metric)
    if kind == RATE_KEYS:
        return {"rate": "value", "count": "passes"}.get(stat)
    if kind == COUNTER_KEYS:
        return {"rps": "rate"}.get(stat, stat) if stat in ("count", "rate", "rps") else None
    return stat if kind is not None and stat in kind else None


def summary_export(summary: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(k6's summary-export document, notes on what it lacks) for a ``summary.json`` dict."""
    notes: list[str] = []
    block = summary.get("metrics")
    if isinstance(block, Mapping):
        source: Mapping[str, Any] = block
    else:
        source = _from_totals(summary.get("totals") or {})
        notes.append("summary.json has no metrics block (written before the suite kept k6's metrics): "
                     "the export has http_req_duration, http_reqs and http_req_failed only")
    metrics: dict[str, dict[str, Any]] = {}
    for name, kind in METRIC_KINDS.items():
        values = source.get(name)
        if isinstance(values, Mapping):
            entry = _present(kind, values)
            if entry is not None:
                metrics[name] = entry
    for row in summary.get("thresholds") or []:
        metric, expression, scope = row.get("metric"), row.get("expression"), row.get("scope")
        if not metric or not expression:
            continue
        key = f"{metric}{{{scope}}}" if scope else metric
        entry = metrics.setdefault(key, _submetric_stats(metric, scope, summary) if scope else {})
        observed_key = _observed_key(metric, expression)
        if scope and observed_key and observed_key not in entry and row.get("observed") is not None \
                and row.get("window_s") is None and row.get("stage") is None:
            entry[observed_key] = row["observed"]  # the submetric's statistic the threshold measured
        verdicts = entry.setdefault("thresholds", {})
        verdicts[expression] = bool(verdicts.get(expression)) or not row.get("passed", False)
    document = {
        "root_group": {"name": "", "path": "", "id": _group_id(""), "groups": {}, "checks": {}},
        "metrics": metrics,
    }
    return document, notes


def write_summary_export(run_dir: str | os.PathLike[str], path: str | os.PathLike[str]) -> list[str]:
    """Write ``path`` atomically from ``run_dir``'s summary.json; the notes on what it lacks."""
    from bss_loadtest.reports.results import atomic_write_json, read_json_file, summary_path

    summary = read_json_file(summary_path(run_dir), what="summary file")
    if not isinstance(summary, Mapping):
        raise ConfigError(f"{summary_path(run_dir)}: not a JSON object")
    document, notes = summary_export(summary)
    atomic_write_json(path, document)
    return notes
