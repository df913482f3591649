"""Baselines: append-only, self-describing JSON copies of a run's summary, one directory per profile.

``reports/baselines/<profile>/<UTC timestamp>-<run id>.json``::

    {"schema": "bss-loadtest/baseline", "schema_version": 1, "profile", "profile_hash", "host",
     "suite_version", "git_commit", "saved_at", "run_id", "note",
     "endpoints": [{"key", "method", "name", "count", "error_rate", "p50_ms", "p95_ms", "p99_ms", "rps"}],
     "aggregated_history": {"elapsed_s": [...], "p50_ms": [...], "p95_ms": [...], "p99_ms": [...], "rps": [...]} | null,
     "summary": {... the run's summary.json ...}}

Files are never overwritten (the name is claimed with a hard link, which fails if it exists), so
the directory is the history of accepted baselines, as pytest-benchmark's storage is. The
timestamp prefix makes the file names sort by age, so ``latest`` is the last name.

``load_baseline`` also takes a run (its directory or its ``summary.json``): the run is read as
the baseline it would be if it were saved (:func:`baseline_of_run`), so two runs compare without
a ``baseline save`` first.

This module does not import locust.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from bss_loadtest.core.errors import InputError
from bss_loadtest.core.files import os_reason
from bss_loadtest.core.tables import text_table
from bss_loadtest.reports.results import (
    AGGREGATED,
    HISTORY_FILE,
    SERIES_COLUMNS,
    SERIES_INT_COLUMNS,
    SUMMARY_SCHEMA,
    AggregatedSeries,
    ResultsWriteError,
    Summary,
    _display,
    atomic_write_bytes,
    first_error,
    json_text,
    load_aggregated_history,
    load_summary,
    parse_json_bytes,
    read_json_file,
    summary_path,
    validate_summary,
)

BASELINE_SCHEMA = "bss-loadtest/baseline"
BASELINE_SCHEMA_VERSION = 1
DEFAULT_BASELINES_ROOT = Path("reports/baselines")
LATEST = "latest"


class EndpointRow(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    key: str = Field(description='"GET /api/v1/customers/{id}" or "Aggregated".')
    method: str = Field(description="HTTP method; empty for Aggregated.")
    name: str = Field(description="Path template or Aggregated.")
    count: int = Field(description="Requests.")
    error_rate: float = Field(description="failures / count.")
    p50_ms: float | None = Field(description="Median.")
    p95_ms: float | None = Field(description="95th percentile.")
    p99_ms: float | None = Field(description="99th percentile.")
    rps: float = Field(description="Requests per second.")


class AggregatedHistory(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    elapsed_s: list[float] = Field(description="Seconds since the start of the run.")
    p50_ms: list[float | None] = Field(description="Aggregated median per second.")
    p95_ms: list[float | None] = Field(description="Aggregated p95 per second.")
    p99_ms: list[float | None] = Field(description="Aggregated p99 per second.")
    rps: list[float] = Field(description="Requests per second.")

    @model_validator(mode="after")
    def _columns_of_one_length(self) -> AggregatedHistory:
        lengths = {name: len(getattr(self, name)) for name in ("elapsed_s", "p50_ms", "p95_ms", "p99_ms", "rps")}
        if len(set(lengths.values())) > 1:
            raise ValueError("columns differ in length (" + ", ".join(f"{k} {v}" for k, v in lengths.items()) + ")")
        return self


class Baseline(BaseModel):
    """One stored baseline (the file's content); ``path`` is where it was read from."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    schema_: Literal["bss-loadtest/baseline"] = Field(alias="schema", description="Always bss-loadtest/baseline.")
    schema_version: Literal[1] = Field(description="Version of this schema.")
    profile: str = Field(description="Profile of the run.")
    profile_hash: str | None = Field(description="Hash of the resolved profile.")
    host: str | None = Field(description="Target of the run.")
    suite_version: str = Field(description="Suite version that made the run.")
    git_commit: str | None = Field(description="Commit of the suite when the baseline was saved.")
    saved_at: datetime = Field(description="When it was saved (UTC).")
    run_id: str = Field(description="The run's id.")
    note: str | None = Field(default=None, description="Free text given at save time.")
    endpoints: list[EndpointRow] = Field(description="Compact per-endpoint table (business endpoints + Aggregated).")
    aggregated_history: AggregatedHistory | None = Field(default=None, description="Aggregated series over time, for charts.")
    summary: Summary = Field(description="The run's summary.json.")

    path: Path | None = Field(default=None, exclude=True, description="Where it was loaded from (not stored).")
    _history_text: bytes | None = PrivateAttr(default=None)
    """The file's ``aggregated_history`` as it was read, not yet parsed (:func:`read_baseline` with
    ``history=False``); :meth:`history` parses it on first use."""

    def history(self) -> AggregatedHistory | None:
        """The aggregated history, parsed now if it was left unread (a bad one: :class:`InputError`)."""
        if self.aggregated_history is None and self._history_text is not None:
            text, self._history_text = self._history_text, None
            shown = _display(self.path) if self.path else "baseline"
            data = parse_json_bytes(text, shown, what="baseline file")
            try:
                self.aggregated_history = None if data is None else AggregatedHistory.model_validate(data)
            except ValidationError as exc:
                raise InputError(f"{shown}: aggregated_history.{first_error(exc)}") from None
        return self.aggregated_history

    def history_series(self) -> AggregatedSeries | None:
        """The aggregated history as the series the charts draw (no pandas), or None."""
        h = self.history()
        if h is None:
            return None
        import numpy as np

        columns = {name: np.array(getattr(h, name), dtype="float64") for name in ("elapsed_s", "p50_ms", "p95_ms", "p99_ms", "rps")}
        for name in SERIES_COLUMNS:
            if name not in columns:
                columns[name] = (np.zeros(len(h.elapsed_s), dtype="int64") if name in SERIES_INT_COLUMNS
                                 else np.full(len(h.elapsed_s), np.nan))
        elapsed = columns["elapsed_s"]
        if len(elapsed) > 1 and not np.all(elapsed[1:] >= elapsed[:-1]):
            order = np.argsort(elapsed, kind="stable")
            columns = {name: column[order] for name, column in columns.items()}
        return AggregatedSeries(columns)

    def history_frame(self):  # -> pandas.DataFrame | None
        """The aggregated history as a DataFrame shaped like ``results.load_history`` (Aggregated rows)."""
        if self.history() is None:
            return None
        import pandas as pd

        h = self.aggregated_history
        frame = pd.DataFrame({"elapsed_s": h.elapsed_s, "p50_ms": h.p50_ms, "p95_ms": h.p95_ms,
                              "p99_ms": h.p99_ms, "rps": h.rps})
        frame["method"] = ""
        frame["name"] = AGGREGATED
        return frame.astype({"p50_ms": "float64", "p95_ms": "float64", "p99_ms": "float64"})


@dataclass(frozen=True)
class BaselineInfo:
    """One line of ``bss-loadtest baseline list``; ``error`` is set for an unreadable file."""

    path: Path
    profile: str
    run_id: str | None = None
    saved_at: str | None = None
    host: str | None = None
    suite_version: str | None = None
    git_commit: str | None = None
    note: str | None = None
    requests: int | None = None
    p95_ms: float | None = None
    error_rate: float | None = None
    status: str | None = None
    error: str | None = None


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """``git rev-parse HEAD`` of ``cwd`` (default: the current directory), or None."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def endpoint_table(summary: Summary) -> list[dict[str, Any]]:
    rows = []
    for r in [*summary.endpoint_rows(), summary.totals]:
        rows.append({"key": r.key, "method": r.method, "name": r.name, "count": r.count, "error_rate": r.error_rate,
                     "p50_ms": r.p50_ms, "p95_ms": r.p95_ms, "p99_ms": r.p99_ms, "rps": r.rps})
    return rows


def _compact_history(run_dir: Path) -> dict[str, list] | None:
    if not (run_dir / HISTORY_FILE).exists():
        return None
    agg = load_aggregated_history(run_dir)
    if agg is None or len(agg) == 0:
        return None

    def column(name: str) -> list:
        return [None if v != v else float(v) for v in agg[name].tolist()]  # NaN -> None

    return {"elapsed_s": column("elapsed_s"), "p50_ms": column("p50_ms"), "p95_ms": column("p95_ms"),
            "p99_ms": column("p99_ms"), "rps": [float(v) for v in agg["rps"].tolist()]}


def _safe_component(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "_"


def _baseline_data(summary: Summary, run_dir: Path, *, saved: datetime, note: str | None,
                   git_commit: str | None) -> dict[str, Any]:
    """The content of a baseline file for the run ``summary`` of ``run_dir``."""
    return {
        "schema": BASELINE_SCHEMA,
        "schema_version": BASELINE_SCHEMA_VERSION,
        "profile": summary.profile,
        "profile_hash": summary.profile_hash,
        "host": summary.host,
        "suite_version": summary.suite_version,
        "git_commit": git_commit,
        "saved_at": saved.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "run_id": summary.run_id,
        "note": note,
        "endpoints": endpoint_table(summary),
        "aggregated_history": _compact_history(run_dir),
        "summary": summary.to_json_dict(),
    }


def save_baseline(
    run_dir: str | os.PathLike[str],
    baselines_root: str | os.PathLike[str] = DEFAULT_BASELINES_ROOT,
    *,
    note: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> Path:
    """Store the run in ``run_dir`` as a new baseline of its profile; returns the new file.

    A partial run is refused unless ``force``. Never overwrites: if the file name exists already
    (same second, same run), :class:`InputError` is raised.
    """

    run_path = Path(run_dir)
    summary = load_summary(run_path)
    if summary.status == "partial" and not force:
        raise InputError(f"{_display(summary_path(run_path))}: run is partial ({summary.partial_reason}); "
                         "refusing to save it as a baseline (use --force to save anyway)")
    saved = (now or datetime.now(UTC)).astimezone(UTC)
    directory = Path(baselines_root) / _safe_component(summary.profile)
    data = _baseline_data(summary, run_path if run_path.is_dir() else run_path.parent, saved=saved, note=note,
                          git_commit=summary.git_commit or git_commit())
    Baseline.model_validate(data)  # what we store must load again
    target = directory / f"{saved.strftime('%Y%m%dT%H%M%SZ')}-{_safe_component(summary.run_id)}.json"
    payload = json_text(data, source=target).encode("utf-8")
    _write_new(target, payload)
    return target


def baseline_of_run(path: str | os.PathLike[str], *, profile: str | None = None,
                    summary: Summary | None = None) -> Baseline:
    """A run, given as its directory or its ``summary.json``, as the baseline saving it would store.

    Nothing is written. ``saved_at`` is the run's end; the Aggregated history comes from the
    ``history.csv`` beside the summary, when there is one. A partial run is accepted (compare
    warns about it). Bad input is a one-line :class:`InputError` naming the file.
    """
    file = summary_path(path)
    run = summary if summary is not None else load_summary(file)
    if profile is not None and run.profile != profile:
        raise InputError(f"{_display(file)}: baseline is for profile {run.profile!r}, not {profile!r}")
    data = _baseline_data(run, file.parent, saved=run.ended_at, note=None, git_commit=run.git_commit)
    baseline = Baseline.model_validate(data)
    baseline.path = file
    return baseline


def _write_new(target: Path, payload: bytes) -> None:
    """Write ``target`` only if it does not exist (atomic, never an overwrite)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, payload, replace=False)
    except FileExistsError:
        raise InputError(f"{target}: a baseline with this name exists already; baselines are never overwritten") from None
    except OSError as exc:
        raise ResultsWriteError(f"{target}: cannot write: {os_reason(exc)}") from exc


def _baseline_files(root: Path, profile: str | None) -> list[Path]:
    if profile is not None:
        directories = [root / _safe_component(profile)]
    else:
        directories = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    files: list[Path] = []
    for directory in directories:
        if directory.is_dir():
            files.extend(sorted(p for p in directory.glob("*.json") if not p.name.startswith(".")))
    return files


_HISTORY_KEY = b'\n  "aggregated_history": '
_NEXT_KEY = b'\n  "'


def _without_history(raw: bytes) -> tuple[bytes, bytes] | None:
    """``raw`` (a baseline file as :func:`save_baseline` writes it: two-space indent, so a top-level
    key is the only thing on a line that starts with exactly two spaces and a quote; JSON text holds
    no raw newline) with its ``aggregated_history`` value cut out and replaced by null, and that
    value; None when the layout is not that one."""
    start = raw.find(_HISTORY_KEY)
    if start < 0 or raw.find(_HISTORY_KEY, start + 1) >= 0:
        return None
    value_start = start + len(_HISTORY_KEY)
    end = raw.find(_NEXT_KEY, value_start)
    if end < 0:
        return None
    value = raw[value_start:end].rstrip()
    if not value.endswith(b","):
        return None
    return raw[:value_start] + b"null," + raw[end:], value[:-1]


def read_baseline(path: str | os.PathLike[str], *, profile: str | None = None, history: bool = True) -> Baseline:
    """Load one baseline file; any problem is a one-line :class:`InputError` naming the file.

    ``history=False``: its ``aggregated_history`` (86,400 points per series for a 24-hour run;
    only compare's chart of the chosen baseline draws it) is cut out unparsed, and parsed when
    :meth:`Baseline.history` is first called; everything else is read and checked as always.
    """
    file = Path(path)
    shown = _display(file)
    if history:
        data = read_json_file(file, what="baseline file")
        history_text = None
    else:
        try:
            raw = file.read_bytes()
        except OSError:
            raw = None
        cut = None if raw is None else _without_history(raw)
        if cut is None:
            data, history_text = read_json_file(file, what="baseline file"), None
        else:
            data, history_text = parse_json_bytes(cut[0], shown, what="baseline file"), cut[1]
    if not isinstance(data, dict):
        raise InputError(f"{shown}: not a JSON object")
    if data.get("schema") != BASELINE_SCHEMA:
        raise InputError(f"{shown}: not a bss-loadtest baseline (schema is {data.get('schema')!r}, expected {BASELINE_SCHEMA!r})")
    if data.get("schema_version") != BASELINE_SCHEMA_VERSION:
        raise InputError(f"{shown}: schema_version {data.get('schema_version')} is not supported (expected {BASELINE_SCHEMA_VERSION})")
    summary = data.get("summary")
    if isinstance(summary, dict) and summary.get("schema_version") not in (None, 1):
        raise InputError(f"{shown}: summary.schema_version {summary.get('schema_version')} is not supported (expected 1)")
    try:
        baseline = Baseline.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{shown}: {first_error(exc)}") from None
    if profile is not None and baseline.profile != profile:
        raise InputError(f"{shown}: baseline is for profile {baseline.profile!r}, not {profile!r}")
    baseline.path = file
    if history_text is not None and history_text != b"null":
        baseline._history_text = history_text
    return baseline


def load_baseline(
    path_or_latest: str | os.PathLike[str] = LATEST,
    *,
    profile: str,
    baselines_root: str | os.PathLike[str] = DEFAULT_BASELINES_ROOT,
) -> Baseline:
    """The baseline at a path, or ``"latest"``: the newest stored for ``profile``.

    The path is a baseline file, a run directory or a run's ``summary.json`` (read with
    :func:`baseline_of_run`). ``InputError`` (one line, naming the file or directory) when there is
    none, or it is missing, empty, corrupt, of another schema or version, or of another profile.
    """
    if str(path_or_latest) == LATEST:
        files = _baseline_files(Path(baselines_root), profile)
        if not files:
            raise NoBaselineError(f"{_display(Path(baselines_root) / _safe_component(profile))}: "
                                  f"no baseline stored for profile {profile!r}")
        return read_baseline(files[-1], profile=profile)
    path = Path(path_or_latest)
    if path.is_dir():
        return baseline_of_run(path, profile=profile)
    data = read_json_file(path, what="baseline file")
    if isinstance(data, dict) and data.get("schema") == SUMMARY_SCHEMA:
        return baseline_of_run(path, profile=profile, summary=validate_summary(data, source=_display(path)))
    if isinstance(data, dict) and data.get("schema") != BASELINE_SCHEMA:
        raise InputError(f"{_display(path)}: neither a bss-loadtest baseline nor a run summary (schema is "
                         f"{data.get('schema')!r}, expected {BASELINE_SCHEMA!r} or {SUMMARY_SCHEMA!r})")
    return read_baseline(path, profile=profile)


class NoBaselineError(InputError):
    """No baseline exists yet for the profile (nightly treats this as 'nothing to compare', exit 0)."""


def has_baselines(baselines_root: str | os.PathLike[str] = DEFAULT_BASELINES_ROOT, profile: str | None = None) -> bool:
    """Whether any baseline file is stored (of ``profile``), readable or not: none is read."""
    return bool(_baseline_files(Path(baselines_root), profile))


def baseline_history(profile: str, baselines_root: str | os.PathLike[str] = DEFAULT_BASELINES_ROOT, *, last_n: int = 10,
                     known: Sequence[Baseline] = ()) -> list[Baseline]:
    """The newest ``last_n`` readable baselines of ``profile`` (unreadable ones are skipped), oldest first.

    They serve the noise estimate, which reads their endpoint tables: each one's aggregated history
    is left unparsed until asked for (:meth:`Baseline.history`). A baseline in ``known`` (already
    read, e.g. the one compared with) is taken as it is, not read again.
    """
    by_path = {b.path.resolve(): b for b in known if b.path is not None}
    out: list[Baseline] = []
    for file in reversed(_baseline_files(Path(baselines_root), profile)):
        reused = by_path.get(file.resolve())
        if reused is not None:
            out.append(reused)
        else:
            try:
                out.append(read_baseline(file, profile=profile, history=False))
            except InputError:
                continue
        if len(out) >= last_n:
            break
    return list(reversed(out))


def list_baselines(baselines_root: str | os.PathLike[str] = DEFAULT_BASELINES_ROOT, profile: str | None = None) -> list[BaselineInfo]:
    """Every stored baseline (of ``profile``, or all), oldest first per profile; unreadable files carry ``error``."""
    infos = []
    for file in _baseline_files(Path(baselines_root), profile):
        try:
            b = read_baseline(file)
        except InputError as exc:
            infos.append(BaselineInfo(path=file, profile=file.parent.name, error=exc.message))
            continue
        infos.append(BaselineInfo(
            path=file, profile=b.profile, run_id=b.run_id,
            saved_at=b.saved_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            host=b.host, suite_version=b.suite_version, git_commit=b.git_commit, note=b.note,
            requests=b.summary.totals.count, p95_ms=b.summary.totals.p95_ms,
            error_rate=b.summary.totals.error_rate, status=b.summary.status,
        ))
    return infos


def format_baseline_list(infos: list[BaselineInfo]) -> str:
    """A plain-text table for ``bss-loadtest baseline list`` (newest last; ``*`` marks each profile's latest)."""
    if not infos:
        return "no baselines stored"
    latest: dict[str, Path] = {}
    for info in infos:
        if info.error is None:
            latest[info.profile] = info.path
    headers = ("", "profile", "saved at", "run id", "host", "suite", "commit", "requests", "p95 ms", "errors", "note")
    rows = []
    for i in infos:
        if i.error is not None:
            rows.append(("!", i.profile, "-", i.path.name, "-", "-", "-", "-", "-", "-", f"unreadable: {i.error}"))
            continue
        rows.append((
            "*" if latest.get(i.profile) == i.path else "",
            i.profile, i.saved_at or "-", i.run_id or "-", i.host or "-", i.suite_version or "-",
            (i.git_commit or "-")[:10], f"{i.requests:,}" if i.requests is not None else "-",
            f"{i.p95_ms:.1f}" if i.p95_ms is not None else "-",
            f"{i.error_rate * 100:.2f}%" if i.error_rate is not None else "-",
            (i.note or "") + (" (partial)" if i.status == "partial" else ""),
        ))
    return text_table(headers, rows) + "\n(* = latest, used by compare --baseline latest)"
