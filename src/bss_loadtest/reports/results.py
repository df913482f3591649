"""A run's results on disk: ``summary.json``, ``history.csv`` and ``report.html``, written atomically.

The :class:`Summary` pydantic model *is* the schema of ``summary.json`` (schema_version 1, see
``docs/architecture.md``): ``write_run`` validates what it writes with it and ``load_summary``
validates what it reads. Every file is written to a temporary file in the same directory,
flushed to disk and renamed over the target, so a reader never sees half a file; ``summary.json``
is written last, so its presence means the run directory is complete.

This module does not import locust.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bss_loadtest.core.errors import InputError, SuiteError
from bss_loadtest.core.files import os_reason, read_named_file
from bss_loadtest.core.stats import HISTORY_INTERVAL_S, SIDE_REQUEST_TYPES, HistoryRow, TraceSample

SUMMARY_SCHEMA = "bss-loadtest/summary"
SUMMARY_SCHEMA_VERSION = 1
SUMMARY_FILE = "summary.json"
HISTORY_FILE = "history.csv"
REPORT_FILE = "report.html"
HISTORY_COLUMNS = (
    "timestamp",
    "elapsed_s",
    "method",
    "name",
    "users",
    "requests",
    "failures",
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
)
AGGREGATED = "Aggregated"
TRACE_ID_PLACEHOLDER = "{trace_id}"
TRACE_ID = re.compile(r"[0-9a-f]{32}")
"""A W3C trace id as the client makes them: 32 lower-case hex digits."""
TRACE_URL_MAX_CHARS = 2000


def trace_url_problem(template: str) -> str | None:
    """Why ``template`` is not a trace link template (an http(s) URL containing ``{trace_id}``), or None."""
    if TRACE_ID_PLACEHOLDER not in template:
        return f"must contain {TRACE_ID_PLACEHOLDER}"
    if len(template) > TRACE_URL_MAX_CHARS or any(c.isspace() or not c.isprintable() for c in template):
        return f"must be a URL of at most {TRACE_URL_MAX_CHARS} characters, without spaces or control characters"
    try:
        parts = urlsplit(template.replace(TRACE_ID_PLACEHOLDER, "0" * 32))
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        scheme = host = None
    if scheme not in ("http", "https") or not host:
        return "must be an http:// or https:// URL with a host, e.g. http://localhost:16686/trace/{trace_id}"
    return None


def trace_link(template: str | None, trace_id: str) -> str | None:
    """The trace's URL: ``template`` with ``{trace_id}`` replaced (literally: other braces, as in a
    Grafana Explore URL's JSON, stay), or None without a valid template or a well-formed id."""
    if not template or not TRACE_ID.fullmatch(trace_id) or trace_url_problem(template) is not None:
        return None
    return template.replace(TRACE_ID_PLACEHOLDER, trace_id)
MAX_COUNT = 2**53
"""The largest count a result file may hold: every count up to it is exact as a JSON number."""
UNUSABLE_NUMBER = "not a usable number (NaN, infinite, or an integer beyond 2**53)"


class ResultsWriteError(SuiteError):
    """A result file could not be written (disk full, permission denied, ...)."""


# -- atomic writes ---------------------------------------------------------------------------


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, replace: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically: temp file in the same directory, fsync, ``os.replace``.

    With ``replace=False`` the name is claimed with a hard link instead, which raises
    :class:`FileExistsError` if it exists: nothing is ever overwritten (baselines).
    On any other ``OSError`` the previous file (if any) is left intact, the temporary file is removed
    and :class:`ResultsWriteError` is raised with one line naming the path and the OS reason.
    """
    target = Path(path)
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp_name, target)
            tmp_name = None
        else:
            os.link(tmp_name, target)  # the temporary name is removed below
        _fsync_directory(target.parent)
    except FileExistsError:
        raise
    except OSError as exc:
        raise ResultsWriteError(f"{target}: cannot write: {os_reason(exc)}") from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """:func:`atomic_write_bytes` for text (UTF-8 by default)."""
    return atomic_write_bytes(path, text.encode(encoding))


def json_text(data: Any, *, source: str | os.PathLike[str] = "JSON") -> str:
    """``data`` as strict JSON (RFC 8259), the one writer of every JSON file the suite makes.

    NaN and infinities have no JSON form: the code that builds ``data`` makes its numbers finite
    or null first; one that is not is named in a :class:`ResultsWriteError` (nothing is written).
    """
    where = non_finite_path(data)
    if where is not None:
        raise ResultsWriteError(f"{source}: {where}: {UNUSABLE_NUMBER}; nothing written")
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def atomic_write_json(path: str | os.PathLike[str], data: Any, *, replace: bool = True) -> Path:
    """Write ``data`` as strict JSON (:func:`json_text`) atomically (:func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, json_text(data, source=path).encode("utf-8"), replace=replace)


def non_finite_path(data: Any, path: str = "") -> str | None:
    """The dotted path of the first number in ``data`` that JSON cannot hold or a reader cannot
    use (NaN, an infinity, an integer beyond :data:`MAX_COUNT`), or None when there is none."""
    if isinstance(data, bool) or data is None or isinstance(data, str):
        return None
    if isinstance(data, float):
        return None if math.isfinite(data) else path or "value"
    if isinstance(data, int):
        return None if -MAX_COUNT <= data <= MAX_COUNT else path or "value"
    if isinstance(data, Mapping):
        items = ((f"{path}.{key}" if path else str(key), value) for key, value in data.items())
    elif isinstance(data, (list, tuple)):
        # A baseline's series are lists of 86,400 floats: plain floats, None and text are checked
        # here, without a call per item (the same verdicts, a tenth of the time).
        isfinite = math.isfinite
        for index, value in enumerate(data):
            kind = type(value)
            if kind is float:
                if not isfinite(value):
                    return f"{path}[{index}]"
            elif value is not None and kind is not str:
                found = non_finite_path(value, f"{path}[{index}]")
                if found is not None:
                    return found
        return None
    else:
        return None
    for where, value in items:
        found = non_finite_path(value, where)
        if found is not None:
            return found
    return None


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and not worth failing for.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- the schema ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Stage(_Strict):
    start_s: float = Field(description="Start of the stage, seconds from the start of the run (time-scaled).")
    end_s: float = Field(description="End of the stage, seconds from the start of the run (time-scaled).")
    target: int = Field(description="Users at the end of the stage.")
    spawn_rate: float = Field(description="Users started (or stopped) per second during the stage.")


class ThresholdRow(_Strict):
    metric: str = Field(description="k6 metric: http_req_duration, http_req_failed, http_reqs, checks, errors, "
                        "iterations, iteration_duration, dropped_iterations, vus or vus_max.")
    expression: str = Field(description='The expression as written, e.g. "p(95)<500".')
    scope: str | None = Field(description="The scope tag as written, e.g. name:GET /x; null for the whole run.")
    observed: float | None = Field(description="The observed value (a windowed or stage threshold: its worst "
                                   "window's or stage's); null when the scope had no data.")
    passed: bool = Field(description="Whether the threshold held.")
    reason: str | None = Field(description="Why it failed (or why there is no value).")
    abort_on_fail: bool = Field(description="Whether crossing it aborts the run.")
    window_s: float | None = Field(None, gt=0, description="A windowed threshold: its window, seconds (time-scaled).")
    window_start_s: float | None = Field(
        None, ge=0, description="A windowed threshold: the worst window's start, seconds from the run's start.")
    stage: int | None = Field(None, ge=0, description="A stage scope: the stage judged (steady: the worst), 0-based.")


class TraceSampleRow(_Strict):
    """One request kept for its trace (``core.stats.TraceSample``)."""

    trace_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="W3C trace id the request carried (32 hex digits).")
    ms: float = Field(ge=0, description="Its response time.")
    status: int | None = Field(description="Its HTTP status; null when no answer came.")
    failure_class: str | None = Field(description="Its failure class; null when it succeeded.")
    at: datetime = Field(description="When it was recorded, ISO 8601 UTC.")


class FailureSampleRow(TraceSampleRow):
    endpoint: str = Field(description='The request\'s endpoint, "METHOD /template".')


class RequestRow(_Strict):
    method: str = Field(description='HTTP method ("AUTH" for token requests, "CONNECT" for connection setups '
                                    'named host:port, "" for the Aggregated row).')
    name: str = Field(description='Path template, or "Aggregated".')
    count: int = Field(ge=0, le=MAX_COUNT, description="Requests.")
    failures: int = Field(ge=0, le=MAX_COUNT, description="Failed requests.")
    error_rate: float = Field(ge=0, le=1, description="failures / count (0 when count is 0).")
    avg_ms: float | None = Field(ge=0, description="Mean response time.")
    min_ms: float | None = Field(ge=0, description="Fastest response.")
    p50_ms: float | None = Field(ge=0, description="Median response time.")
    p90_ms: float | None = Field(ge=0, description="90th percentile response time.")
    p95_ms: float | None = Field(ge=0, description="95th percentile response time.")
    p99_ms: float | None = Field(ge=0, description="99th percentile response time.")
    max_ms: float | None = Field(ge=0, description="Slowest response.")
    rps: float = Field(ge=0, description="Requests per second over the run's duration.")
    failures_by_class: dict[str, int] = Field(default_factory=dict, description="Failures per failure class.")
    slowest: list[TraceSampleRow] = Field(
        default_factory=list, description="Its slowest sampled requests with their trace ids, slowest first.")

    @property
    def key(self) -> str:
        """``"GET /api/v1/customers/{id}"``, or ``"Aggregated"`` for the totals row."""
        return f"{self.method} {self.name}" if self.method else self.name


class UserClassRow(_Strict):
    name: str = Field(description="User class name.")
    count: int = Field(ge=0, description="Requests made by users of this class.")
    failures: int = Field(ge=0, description="Failed requests made by users of this class.")
    p95_ms: float | None = Field(ge=0, description="95th percentile response time of this class's requests.")


class NotDeleted(_Strict):
    resource: str = Field(description="Resource type, e.g. customer.")
    id: str = Field(description="Identifier of the entity left behind.")
    reason: str = Field(description="Why it could not be deleted.")


class Cleanup(_Strict):
    deleted: int = Field(ge=0, description="Entities the run created and deleted again.")
    not_deleted: list[NotDeleted] = Field(
        default_factory=list, description="Entities left behind: the first 1,000 (all are counted in left_behind).")
    not_deleted_count: int | None = Field(
        default=None, ge=0, description="How many entities were left behind (None in summaries of older versions: "
        "then not_deleted lists them all).")
    left_behind: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Entities left behind, counted by reason, then by kind.")
    untracked: dict[str, int] = Field(
        default_factory=dict, description="Entities created past the limit a load process keeps track of for the "
        "cleanup (client.cleanup.REGISTRY_LIMIT), by kind: let go while the run went on, left on the target.")
    swept: int = Field(
        default=0, ge=0, description="Customers the run created that its registry did not hold (a create whose "
        "answer the stop cut off, or one let go past the limit), found by the cleanup's search and deleted; "
        "counted in deleted too.")
    requests: dict[str, int] = Field(
        default_factory=dict, description="Requests the cleanup sent, outside the run's statistics (its deletes "
        "and the sweep's searches), by endpoint (\"DELETE /api/v1/customers/{id}\").")

    @property
    def left_count(self) -> int:
        """How many entities were left behind (listed or not), untracked ones included."""
        listed = self.not_deleted_count if self.not_deleted_count is not None else len(self.not_deleted)
        return listed + sum(self.untracked.values())


class Generator(_Strict):
    cpu_saturated: bool = Field(description="Whether a load generator's CPU was saturated (numbers unreliable).")
    max_cpu_percent: float | None = Field(description="Highest CPU use seen on a load generator.")
    loop_lag_ms: float | None = Field(
        default=None,
        description="The worst generator process's event-loop lag (p95 lateness of a 0.1 s timer, ms): "
        "how late its users sent their requests (response times are timed by the kernel's receive stamps "
        "over plain HTTP on Linux; over TLS they may include it). None when not measured.")
    loop_lag_max_ms: float | None = Field(default=None, description="The largest event-loop lag seen (ms).")
    loop_lagging: bool = Field(
        default=False, description="Whether the loop lag exceeded the bound (2 ms): less load than asked for, "
        "response times over TLS overstated.")


class Workers(_Strict):
    count: int = Field(ge=0, description="Workers that took part (0 for a local run).")
    lost: list[str] = Field(default_factory=list, description="Workers that stopped reporting during the run.")


class TrendMetric(_Strict):
    """A k6 Trend in ms (k6's keys): null values without samples."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    avg: float | None = Field(ge=0, description="Mean.")
    min: float | None = Field(ge=0, description="Smallest.")
    med: float | None = Field(ge=0, description="Median.")
    max: float | None = Field(ge=0, description="Largest.")
    p90: float | None = Field(alias="p(90)", ge=0, description="90th percentile.")
    p95: float | None = Field(alias="p(95)", ge=0, description="95th percentile.")
    p99: float | None = Field(alias="p(99)", ge=0, description="99th percentile.")


class CounterMetric(_Strict):
    """A k6 Counter: its count and its rate per second over the run (null: no time to divide by)."""

    count: int = Field(ge=0, le=MAX_COUNT, description="Samples.")
    rate: float | None = Field(ge=0, description="Per second over the run.")


class RateMetric(_Strict):
    """A k6 Rate: ``passes`` are the samples that are true, ``fails`` the false ones,
    ``value`` passes / (passes + fails), null without samples."""

    passes: int = Field(ge=0, le=MAX_COUNT, description="True samples.")
    fails: int = Field(ge=0, le=MAX_COUNT, description="False samples.")
    value: float | None = Field(ge=0, le=1, description="The share of true samples.")


class GaugeMetric(_Strict):
    """A k6 Gauge: its last value and its min and max over the run, null before it was set."""

    value: int | float | None = Field(description="The last value.")
    min: int | float | None = Field(description="The smallest value.")
    max: int | float | None = Field(description="The largest value.")


class Metrics(_Strict):
    """k6's end-of-test metrics under k6's names (what ``--summary-export`` is made of).

    ``http_req_failed``: passes are the FAILED requests (k6's Rate of "failed" being true);
    ``checks``: passes are the checks that passed; ``errors``: passes are the checks that failed.
    Durations in ms."""

    http_req_duration: TrendMetric
    http_reqs: CounterMetric
    http_req_failed: RateMetric
    checks: RateMetric
    errors: RateMetric
    iterations: CounterMetric
    iteration_duration: TrendMetric
    dropped_iterations: CounterMetric
    vus: GaugeMetric
    vus_max: GaugeMetric


class ScenarioRow(_Strict):
    iterations: int = Field(ge=0, le=MAX_COUNT, description="Iterations the scenario completed.")
    dropped_iterations: int = Field(ge=0, le=MAX_COUNT, description="Iterations it could not start on schedule.")
    iteration_duration_p95_ms: float | None = Field(ge=0, description="95th percentile of its iterations' durations.")
    interrupted_iterations: int = Field(
        default=0, ge=0, le=MAX_COUNT,
        description="Iterations still running when the run ended them (not in iterations).")


class Summary(_Strict):
    """``summary.json``, schema_version 1: the complete, final account of one run."""

    schema_: Literal["bss-loadtest/summary"] = Field(alias="schema", description="Always bss-loadtest/summary.")
    schema_version: Literal[1] = Field(description="Version of this schema.")
    run_id: str = Field(min_length=1, description="The run's id (also its directory name).")
    profile: str = Field(min_length=1, description="Profile name.")
    profile_hash: str | None = Field(description="Hash of the resolved profile, to tell edited profiles apart.")
    host: str | None = Field(description="The target's base URL.")
    suite_version: str = Field(description="Version of bss-loadtest that made the run.")
    git_commit: str | None = Field(description="Commit of the suite's checkout, when known.")
    time_scale: float = Field(gt=0, description="Factor applied to every duration of the profile.")
    started_at: datetime = Field(description="Start, ISO 8601 UTC.")
    ended_at: datetime = Field(description="End, ISO 8601 UTC.")
    duration_s: float = Field(ge=0, description="Seconds from the first request to the end.")
    status: Literal["complete", "partial"] = Field(description="partial when the run did not finish.")
    partial_reason: str | None = Field(description="Why the run is partial; null when complete.")
    exit_code: int = Field(description="The run's exit code (0 pass, 99 thresholds crossed, ...).")
    stages: list[Stage] = Field(description="The profile's stages, time-scaled, for plots.")
    thresholds: list[ThresholdRow] = Field(description="Every threshold with its verdict.")
    requests: list[RequestRow] = Field(description="One row per endpoint (token requests included).")
    totals: RequestRow = Field(description='The business totals: method "", name "Aggregated".')
    failures_by_class: dict[str, int] = Field(description="Failures per failure class, whole run.")
    user_classes: list[UserClassRow] = Field(description="One row per user class.")
    tolerances: dict[str, Any] | None = Field(description="The profile's compare tolerances, if it declares any.")
    cleanup: Cleanup | None = Field(description="What the run's cleanup did; null when it did not run.")
    reconciliation: dict[str, Any] | None = Field(description="Client vs server request counts, when checked.")
    generator: Generator = Field(description="Load generator health.")
    workers: Workers = Field(description="Distributed-run workers.")
    failure_samples: dict[str, list[FailureSampleRow]] = Field(
        default_factory=dict, description="Per failure class, its latest sampled failures with their trace ids.")
    trace_url: str | None = Field(None, description="Link template of a trace, with {trace_id} (--trace-url).")
    metrics: Metrics | None = Field(None, description="k6's end-of-test metrics under k6's names and keys.")
    scenarios: dict[str, ScenarioRow] | None = Field(
        None, description="Per scenario, its iterations; present when the run recorded any.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @field_validator("trace_url")
    @classmethod
    def _trace_url(cls, value: str | None) -> str | None:
        problem = None if value is None else trace_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _partial_has_reason(self) -> Summary:
        if self.status == "partial" and not self.partial_reason:
            raise ValueError("a partial run needs a partial_reason")
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON-ready dict, keys as in the file."""
        return self.model_dump(mode="json", by_alias=True)

    def endpoint_rows(self) -> list[RequestRow]:
        """The business endpoints' rows: without the side rows (``AUTH`` token fetches and
        ``CONNECT`` connection set-ups, ``core.stats.SIDE_REQUEST_TYPES``), which no total holds."""
        return [r for r in self.requests if r.method not in SIDE_REQUEST_TYPES]

    def slowest_requests(self, key: str | None = None) -> list[tuple[str, TraceSampleRow]]:
        """(endpoint, sample) of the slowest requests kept, slowest first: of endpoint ``key``, or of
        every business endpoint (``None`` or ``"Aggregated"``)."""
        rows = [r for r in self.endpoint_rows() if key in (None, AGGREGATED) or r.key == key]
        return sorted(((r.key, s) for r in rows for s in r.slowest), key=lambda pair: -pair[1].ms)

    def trace_link(self, trace_id: str) -> str | None:
        """The URL of a trace from this run's ``trace_url``, or None."""
        return trace_link(self.trace_url, trace_id)


def validate_summary(data: Mapping[str, Any], *, source: str = SUMMARY_FILE) -> Summary:
    """Validate a summary dict; raise :class:`InputError` with one line naming ``source`` and the field."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: not a JSON object")
    if data.get("schema") != SUMMARY_SCHEMA:
        raise InputError(f"{source}: not a bss-loadtest summary (schema is {data.get('schema')!r}, expected {SUMMARY_SCHEMA!r})")
    version = data.get("schema_version")
    if version != SUMMARY_SCHEMA_VERSION:
        raise InputError(f"{source}: schema_version {version} is not supported (expected {SUMMARY_SCHEMA_VERSION})")
    try:
        return Summary.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(f"{source}: {first_error(exc)}") from None


def first_error(exc: ValidationError) -> str:
    """One line from pydantic's first error: ``requests[2].count: Input should be ...``."""
    errors = exc.errors()
    if not errors:
        return "invalid"
    error = errors[0]
    path = ""
    for part in error.get("loc", ()):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path or 'value'}: {error.get('msg', 'invalid')}{extra}"


# -- writing ---------------------------------------------------------------------------------


def history_values(row: HistoryRow, *, started_at: float, users: int | None = None) -> tuple[Any, ...]:
    """One line of ``history.csv`` (in :data:`HISTORY_COLUMNS` order); ``users`` defaults to the row's."""
    return (row.timestamp, round(row.timestamp - started_at, 3), row.method, row.name,
            row.users if users is None else users, row.requests, row.failures,
            round(row.requests / HISTORY_INTERVAL_S, 3), row.p50_ms, row.p95_ms, row.p99_ms, row.max_ms)


def history_frame_rows(
    history_rows: Sequence[HistoryRow], users_at: Mapping[int, int] | None = None, *, started_at: float
) -> list[dict[str, Any]]:
    """The rows of ``history.csv`` as dicts, in file order (users from ``users_at`` when given,
    else from each row)."""
    known = sorted((users_at or {}).items())
    rows: list[dict[str, Any]] = []
    position = 0
    users = 0
    # history_rows come in time order per close; sort defensively, keeping Aggregated last per second.
    ordered = sorted(history_rows, key=lambda r: (r.timestamp, r.name == AGGREGATED and r.method == ""))
    for row in ordered:
        while position < len(known) and known[position][0] <= row.timestamp:
            users = known[position][1]
            position += 1
        values = history_values(row, started_at=started_at, users=users if users_at else None)
        rows.append(dict(zip(HISTORY_COLUMNS, values, strict=True)))
    return rows


class HistoryWriter:
    """``history.csv`` written as the run goes: the header at once, then each closed interval's
    rows appended and flushed together (one write per interval), so the file is readable while the
    run goes on and a killed run keeps every interval that closed. Pure file I/O.

    Use it as :attr:`~bss_loadtest.core.stats.RunStats.history_sink`; :meth:`close` at the end.
    A write that fails (disk full) is warned about once and the rows after it are dropped (kept in
    :attr:`error`): the run goes on, and its summary is still written.
    """

    BUFFER_BYTES = 1 << 16

    def __init__(self, path: str | os.PathLike[str], *, started_at: float) -> None:
        self.path = Path(path)
        self.started_at = started_at
        self.rows_written = 0
        self.error: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: io.TextIOWrapper | None = open(  # noqa: SIM115 - open for the whole run
                self.path, "w", encoding="utf-8", newline="", buffering=self.BUFFER_BYTES)
            self._csv = csv.writer(self._file, lineterminator="\n")
            self._csv.writerow(HISTORY_COLUMNS)
            self._file.flush()
        except OSError as exc:
            raise ResultsWriteError(f"{self.path}: cannot write: {os_reason(exc)}") from exc

    def __call__(self, rows: Sequence[HistoryRow]) -> None:
        """Append one closed interval's rows and flush them."""
        if self._file is None:
            return
        started_at = self.started_at
        try:
            self._csv.writerows([history_values(r, started_at=started_at) for r in rows])
            self._file.flush()
        except OSError as exc:
            self.error = f"{self.path}: cannot write: {os_reason(exc)}; later history rows are lost"
            warnings.warn(self.error, RuntimeWarning, stacklevel=2)
            self._close()
            return
        self.rows_written += len(rows)

    def close(self) -> Path:
        """Flush to disk and close (again: nothing); returns the path."""
        if self._file is not None:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError:
                pass
            self._close()
        return self.path

    def _close(self) -> None:
        file, self._file = self._file, None
        try:
            file.close()  # type: ignore[union-attr]
        except OSError:
            pass

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def history_csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for row in rows:
        writer.writerow([row[c] for c in HISTORY_COLUMNS])  # csv writes None as ""
    return buffer.getvalue()


def history_dataframe(rows: Sequence[Mapping[str, Any]]):  # -> pandas.DataFrame
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(HISTORY_COLUMNS))
    return _normalise_history(frame)


def _normalise_history(frame):
    import pandas as pd

    frame["method"] = frame["method"].fillna("").astype(str)
    frame["name"] = frame["name"].fillna("").astype(str)
    for column in ("timestamp", "users", "requests", "failures"):
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype("int64")
    for column in ("elapsed_s", "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def write_run(
    run_dir: str | os.PathLike[str],
    summary: Mapping[str, Any],
    history_rows: Sequence[HistoryRow] | None = None,
    users_at: Mapping[int, int] | None = None,
    *,
    started_at: float,
) -> list[Path]:
    """Write a run directory: ``history.csv``, ``report.html``, then ``summary.json`` (last).

    ``summary`` is validated with :class:`Summary` first (a bad summary is a bug in the caller and
    raises :class:`ResultsWriteError` before anything is written). ``history_rows`` None: the run
    streamed its ``history.csv`` into ``run_dir`` as its intervals closed (:class:`HistoryWriter`,
    closed by the caller), and the report reads it from there (a header-only file is written if
    there is none). Rows given (short runs, tests) are written atomically here, users from
    ``users_at`` when given. ``started_at`` (epoch seconds) is the origin of ``elapsed_s``. Returns
    the paths, in order. If the HTML report cannot be rendered, a short report naming the error is
    written instead so the numbers are not lost.
    """
    directory = Path(run_dir)
    try:
        model = Summary.model_validate(dict(summary))
    except ValidationError as exc:
        raise ResultsWriteError(f"{directory / SUMMARY_FILE}: invalid summary: {first_error(exc)}") from None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsWriteError(f"{directory}: cannot create directory: {os_reason(exc)}") from exc

    history_file = directory / HISTORY_FILE
    if history_rows is not None or not history_file.exists():
        rows = history_frame_rows(history_rows or (), users_at, started_at=started_at)
        atomic_write_text(history_file, history_csv_text(rows))
    written = [history_file]

    from bss_loadtest.reports.report import render_run_report

    try:
        html = render_run_report(model, read_aggregated_series(history_file))
    except Exception as exc:  # noqa: BLE001 - a broken chart must not lose the run's numbers
        warnings.warn(f"report.html could not be rendered: {exc!r}", RuntimeWarning, stacklevel=2)
        from bss_loadtest.reports.report import render_error_page

        html = render_error_page(model, f"The report could not be rendered: {exc!r}")
    written.append(atomic_write_text(directory / REPORT_FILE, html))

    written.append(atomic_write_json(directory / SUMMARY_FILE, model.to_json_dict()))
    return written


def run_directory(report_dir: str | os.PathLike[str], run_id: str) -> Path:
    """Where a run's files go: ``<report_dir>/runs/<run_id>``."""
    return Path(report_dir) / "runs" / run_id


# -- reading ---------------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def summary_path(path_or_run_dir: str | os.PathLike[str]) -> Path:
    path = Path(path_or_run_dir)
    return path / SUMMARY_FILE if path.is_dir() else path


def read_json_file(path: Path, *, what: str = "file") -> Any:
    """Parse a JSON file; missing, unreadable, empty or corrupt → one-line :class:`InputError`."""
    shown = _display(path)
    raw = read_named_file(path, shown=shown, what=what, error=InputError)
    return parse_json_bytes(raw, shown, what=what)


def parse_json_bytes(raw: bytes, shown: str, *, what: str = "file") -> Any:
    """:func:`read_json_file` of bytes already read (``shown`` names their file in errors)."""
    if not raw.strip():
        raise InputError(f"{shown}: file is empty")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise InputError(f"{shown}: not valid JSON{where}") from None
    except (ValueError, RecursionError):  # an integer of thousands of digits, nesting without end
        raise InputError(f"{shown}: not a usable JSON {what} (a number or nesting beyond any limit)") from None
    where = non_finite_path(data)
    if where is not None:
        # Python's json reads NaN, Infinity and 1e400; none of them is JSON or a usable value.
        raise InputError(f"{shown}: {where}: {UNUSABLE_NUMBER}")
    return data


def load_summary(path_or_run_dir: str | os.PathLike[str]) -> Summary:
    """Read and validate ``summary.json`` (give the file or its run directory)."""
    path = summary_path(path_or_run_dir)
    data = read_json_file(path, what="summary file")
    return validate_summary(data, source=_display(path))


def _history_file(run_dir: str | os.PathLike[str]) -> Path:
    path = Path(run_dir)
    return path / HISTORY_FILE if path.is_dir() else path


def load_history(run_dir: str | os.PathLike[str]):  # -> pandas.DataFrame
    """Read ``history.csv`` of a run directory (or the file itself) as a DataFrame.

    Missing, empty, unparsable or wrong-column files raise :class:`InputError` naming the file.
    Every row is read: for plots of a long run, :func:`load_aggregated_history` reads far less.
    """
    path = _history_file(run_dir)
    return _read_history(path, path, _display(path))


AGGREGATED_MARK = b",," + AGGREGATED.encode() + b","
"""What every ``Aggregated`` line holds (an empty method, then the name): the scan's needle."""
SCAN_BLOCK_BYTES = 1 << 20
"""Blocks of 1 MiB: read and searched while still in the CPU cache (a third faster than 16 MiB)."""


def load_aggregated_history(run_dir: str | os.PathLike[str]):  # -> pandas.DataFrame
    """Only the ``Aggregated`` rows of ``history.csv`` (as :func:`aggregated_history` of
    :func:`load_history`), found by a byte scan in blocks (:func:`_scan_aggregated`), so a 24-hour
    run's file of hundreds of megabytes is read in about a second and in bounded memory; only the
    lines that hold :data:`AGGREGATED_MARK` are parsed (then filtered exactly). Errors as
    :func:`load_history`. The reports read :func:`read_aggregated_series` instead (no pandas).
    """
    path = _history_file(run_dir)
    shown = _display(path)
    return aggregated_history(_read_history(io.BytesIO(b"".join(_scan_aggregated(path, shown))), path, shown))


def _scan_aggregated(path: Path, shown: str) -> list[bytes]:
    """The header line of ``path`` and every line holding :data:`AGGREGATED_MARK`, each ending in a
    newline. The file is read in blocks of :data:`SCAN_BLOCK_BYTES` by a second thread while this
    one searches the previous block, so a file not in the page cache costs its read, not its read
    plus its search."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{shown}: no such history file") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read: {os_reason(exc)}") from None
    with handle:
        try:
            lines = [handle.readline()]
        except OSError as exc:
            raise InputError(f"{shown}: cannot read: {os_reason(exc)}") from None
        if not lines[0]:
            raise InputError(f"{shown}: file is empty")
        if not lines[0].endswith(b"\n"):
            lines[0] += b"\n"
        carry = b""  # the end of the previous block: the start of a line
        for block in _blocks(handle, shown):
            first = block.find(b"\n") + 1
            if not first:  # a line longer than a block
                carry += block
                continue
            head = carry + block[:first]  # only the line across the boundary is copied
            if AGGREGATED_MARK in head:
                lines.append(head)
            cut = block.rfind(b"\n") + 1
            lines.extend(_marked_lines(block, first, cut))
            carry = block[cut:]
        if AGGREGATED_MARK in carry:
            lines.append(carry + b"\n")
    return lines


def _blocks(handle: Any, shown: str) -> Iterator[bytes]:
    """The rest of ``handle`` in blocks, read ahead by one block in a thread (the read releases the GIL)."""
    import queue
    import threading

    ahead: queue.Queue[bytes | OSError] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                block = handle.read(SCAN_BLOCK_BYTES)
            except OSError as exc:
                ahead.put(exc)
                return
            ahead.put(block)
            if not block:
                return

    reader = threading.Thread(target=read, name="history-scan", daemon=True)
    reader.start()
    try:
        while True:
            block = ahead.get()
            if isinstance(block, OSError):
                raise InputError(f"{shown}: cannot read: {os_reason(block)}")
            if not block:
                return
            yield block
    finally:
        stop.set()
        while reader.is_alive():  # let a reader blocked on a full queue finish its last put
            try:
                ahead.get_nowait()
            except queue.Empty:
                reader.join(0.01)


_MARK_BYTE = AGGREGATED_MARK[2:3]
"""The mark's ``A``, which the rest of a history line rarely holds: one byte is found by memchr, at
three times the speed of the whole mark."""


def _marked_lines(block: bytes, start: int, end: int) -> list[bytes]:
    """The whole lines of ``block[start:end]`` (``start`` and ``end`` at line starts) that
    contain :data:`AGGREGATED_MARK`.

    Each ``A`` (:data:`_MARK_BYTE`) is found and checked for the mark around it; where most of a
    block's ``A`` are not the mark's (endpoint names with capitals), the rest of the block is
    searched for the whole mark instead."""
    found = []
    find, rfind, startswith = block.find, block.rfind, block.startswith
    position = start
    misses = 0
    while True:
        at = find(_MARK_BYTE, position + 2, end)
        if at < 0:
            return found
        if not startswith(AGGREGATED_MARK, at - 2, end):
            misses += 1
            position = at - 1  # the next A may start a mark two bytes on
            if misses > 64 and misses > 4 * len(found):
                break
            continue
        line_start = rfind(b"\n", 0, at) + 1
        position = find(b"\n", at, end) + 1
        found.append(block[line_start:position])
    while True:
        at = find(AGGREGATED_MARK, position, end)
        if at < 0:
            return found
        line_start = rfind(b"\n", 0, at) + 1
        position = find(b"\n", at, end) + 1
        found.append(block[line_start:position])


def _read_history(source: Any, path: Path, shown: str):  # -> pandas.DataFrame
    import pandas as pd

    try:
        if isinstance(source, Path) and path.stat().st_size == 0:
            raise InputError(f"{shown}: file is empty")
        frame = pd.read_csv(source, keep_default_na=False, na_values={c: [""] for c in HISTORY_COLUMNS[7:]})
    except FileNotFoundError:
        raise InputError(f"{shown}: no such history file") from None
    except InputError:
        raise
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{shown}: not a readable CSV file ({str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__})") from None
    missing = [c for c in HISTORY_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{shown}: missing columns {', '.join(missing)}")
    try:
        return _normalise_history(frame[list(HISTORY_COLUMNS)].copy())
    except (ValueError, TypeError) as exc:
        raise InputError(f"{shown}: bad values ({str(exc).splitlines()[0]})") from None


def aggregated_history(frame):
    """Only the ``Aggregated`` rows of a history DataFrame, sorted by time."""
    if frame is None or len(frame) == 0:
        return frame
    return frame[(frame["name"] == AGGREGATED) & (frame["method"] == "")].sort_values("elapsed_s")


PLOT_MAX_POINTS = 2000
"""Points per series a chart draws at most: a longer history is bucketed by time (:func:`downsample`)."""


def downsample(frame, max_points: int = PLOT_MAX_POINTS):  # -> pandas.DataFrame
    """``frame`` (history rows of one series, sorted by ``elapsed_s``) in at most ``max_points``
    time buckets of equal width, for plots only: per bucket its first ``elapsed_s``, the mean
    ``rps``, and the max of ``users``, ``failures`` and the latency columns, so a one-second
    spike stays visible. Tables, thresholds and baselines never read this."""
    if frame is None or len(frame) <= max_points:
        return frame
    elapsed = frame["elapsed_s"]
    width = (float(elapsed.iloc[-1]) - float(elapsed.iloc[0])) / max_points or 1.0
    buckets = ((elapsed - float(elapsed.iloc[0])) // width).clip(upper=max_points - 1)
    spec = {c: "first" if c in ("timestamp", "elapsed_s", "method", "name") else "mean" if c == "rps" else "max"
            for c in frame.columns}
    return frame.groupby(buckets.to_numpy(), sort=True).agg(spec).reset_index(drop=True)


SERIES_INT_COLUMNS = ("timestamp", "users", "requests", "failures")
SERIES_COLUMNS = ("timestamp", "elapsed_s", "users", "requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms")
"""The numeric columns of history.csv, as :class:`AggregatedSeries` holds them."""


class AggregatedSeries:
    """The ``Aggregated`` rows of a history, sorted by time, as one numpy array per column of
    :data:`SERIES_COLUMNS` (int64 for the counts, float64 with NaN for a missing value): what the
    charts draw, without pandas. ``series["p95_ms"]`` is a column; ``len(series)`` its rows."""

    __slots__ = ("columns",)

    def __init__(self, columns: Mapping[str, Any]) -> None:
        self.columns = dict(columns)

    def __len__(self) -> int:
        return len(self.columns["elapsed_s"])

    def __getitem__(self, name: str):  # -> numpy.ndarray
        return self.columns[name]

    @classmethod
    def from_frame(cls, frame) -> AggregatedSeries:
        """The ``Aggregated`` rows of a history DataFrame (``load_history`` or already filtered)."""
        import numpy as np

        agg = aggregated_history(frame)
        columns = {}
        for name in SERIES_COLUMNS:
            if name in agg.columns:
                columns[name] = np.asarray(agg[name].to_numpy(), dtype="int64" if name in SERIES_INT_COLUMNS else "float64")
            else:  # a baseline's history holds only some columns
                columns[name] = np.full(len(agg), 0 if name in SERIES_INT_COLUMNS else np.nan,
                                        dtype="int64" if name in SERIES_INT_COLUMNS else "float64")
        return cls(columns)


def series_of(history: Any) -> AggregatedSeries | None:
    """``history`` (None, an :class:`AggregatedSeries`, or a history DataFrame) as a series."""
    if history is None or isinstance(history, AggregatedSeries):
        return history
    return AggregatedSeries.from_frame(history)


def read_aggregated_series(run_dir: str | os.PathLike[str]) -> AggregatedSeries:
    """The ``Aggregated`` rows of ``history.csv`` as :class:`AggregatedSeries`: the one scan of
    :func:`load_aggregated_history`, its lines parsed by numpy in one call. A file the plain parse
    cannot take exactly (another header, a quoted field, a bad value) goes through pandas as
    :func:`load_aggregated_history` does, with its errors; the values are the same either way."""
    path = _history_file(run_dir)
    shown = _display(path)
    lines = _scan_aggregated(path, shown)
    series = _plain_series(lines)
    if series is None:
        series = AggregatedSeries.from_frame(
            aggregated_history(_read_history(io.BytesIO(b"".join(lines)), path, shown)))
    return series


def prefetch_aggregated_series(run_dir: str | os.PathLike[str]) -> Callable[[], AggregatedSeries | None]:
    """Start :func:`read_aggregated_series` in a thread now; the function returned waits for it and
    returns the series (None without a history.csv), or raises what the read raised.

    The scan spends most of a cold file's time waiting for the disk, without the GIL: started
    first, it reads while the caller loads baselines and imports matplotlib for its charts."""
    import threading

    path = _history_file(run_dir)
    result: list[Any] = []

    def read() -> None:
        try:
            result.append(read_aggregated_series(path) if path.exists() else None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            result.append(exc)

    reader = threading.Thread(target=read, name="history-series", daemon=True)
    reader.start()

    def wait() -> AggregatedSeries | None:
        reader.join()
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    return wait


_HEADER_LINE = (",".join(HISTORY_COLUMNS) + "\n").encode()


def _plain_series(lines: list[bytes]) -> AggregatedSeries | None:
    """The candidate lines (header first) parsed without pandas, or None where that would not be
    exact: a header other than the writer's, a quote, a line with other fields or values."""
    import numpy as np

    if lines[0] != _HEADER_LINE:
        return None
    rows = len(lines) - 1
    if not rows:
        return AggregatedSeries({name: np.zeros(0, dtype="int64" if name in SERIES_INT_COLUMNS else "float64")
                                 for name in SERIES_COLUMNS})
    blob = b"".join(lines[1:])  # every line ends in a newline (_scan_aggregated)
    if b'"' in blob or blob.count(AGGREGATED_MARK) != rows:
        return None  # a quote, or a line holding the mark twice: not plain
    # One mark per line; it must stand at the line's second comma (method and name empty and
    # "Aggregated"), and the line must have the 12 fields of the header.
    data = np.frombuffer(blob, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    commas = np.flatnonzero(data == 44)
    if len(newlines) != rows:
        return None
    starts = np.concatenate(([0], newlines[:-1] + 1))
    first = np.searchsorted(commas, starts)
    if np.any(np.searchsorted(commas, newlines) - first != len(HISTORY_COLUMNS) - 1):
        return None
    at = commas[first + 1]
    mark = np.frombuffer(AGGREGATED_MARK, dtype=np.uint8)
    if not np.array_equal(data[at[:, None] + np.arange(len(mark))], np.broadcast_to(mark, (rows, len(mark)))):
        return None
    text = b"\n" + blob.replace(AGGREGATED_MARK, b",")
    while b",," in text:  # an empty field is a missing value
        text = text.replace(b",,", b",nan,")
    text = text.replace(b"\n,", b"\nnan,").replace(b",\n", b",nan\n")
    try:  # numpy's C reader: a third of the time of np.fromstring, a fifth of pandas'
        values = np.loadtxt(io.BytesIO(text), delimiter=",", dtype="float64", comments=None, ndmin=2, encoding=None)
    except ValueError:
        return None
    if values.shape != (rows, len(SERIES_COLUMNS)):
        return None
    table = values
    columns = {}
    for i, name in enumerate(SERIES_COLUMNS):
        column = table[:, i]
        if name in SERIES_INT_COLUMNS:
            if not np.all(np.isnan(column) | (column == np.round(column))):
                return None  # as pandas, an integer column holds integers
            column = np.nan_to_num(column, nan=0.0).astype("int64")
        columns[name] = np.ascontiguousarray(column)
    elapsed = columns["elapsed_s"]
    if len(elapsed) > 1 and not np.all(elapsed[1:] >= elapsed[:-1]):
        order = np.argsort(elapsed, kind="stable")
        columns = {name: column[order] for name, column in columns.items()}
    return AggregatedSeries(columns)


def downsample_series(series: AggregatedSeries | None, max_points: int = PLOT_MAX_POINTS) -> AggregatedSeries | None:
    """:func:`downsample` of a series, in numpy: the same buckets, the first ``timestamp`` and
    ``elapsed_s``, the mean ``rps`` and the max of the rest per bucket (missing values skipped)."""
    import numpy as np

    if series is None or len(series) <= max_points:
        return series
    elapsed = series["elapsed_s"]
    width = (float(elapsed[-1]) - float(elapsed[0])) / max_points or 1.0
    buckets = np.minimum((elapsed - float(elapsed[0])) // width, max_points - 1)
    starts = np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1])))
    columns = {}
    for name, column in series.columns.items():
        if name in ("timestamp", "elapsed_s"):
            columns[name] = column[starts]
        elif name == "rps":
            present = ~np.isnan(column)
            total = np.add.reduceat(np.where(present, column, 0.0), starts)
            count = np.add.reduceat(present.astype("int64"), starts)
            with np.errstate(invalid="ignore", divide="ignore"):
                columns[name] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        elif column.dtype.kind == "f":
            columns[name] = np.fmax.reduceat(column, starts)
        else:
            columns[name] = np.maximum.reduceat(column, starts)
    return AggregatedSeries(columns)


def rolling_median(column, window: int):  # -> numpy.ndarray
    """pandas' ``rolling(window, min_periods=1).median()`` of a float column, in numpy: the median
    of the values present among the last ``window`` (fewer at the start), NaN where none is."""
    import warnings as _warnings

    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    column = np.asarray(column, dtype="float64")
    if len(column) == 0:
        return column.copy()
    padded = np.concatenate((np.full(window - 1, np.nan), column))
    windows = sliding_window_view(padded, window)
    if not np.isnan(column).any():
        out = np.empty(len(column))
        head = min(window - 1, len(column))
        if window % 2:  # the middle of each full window: what np.median returns, a sixth of its time
            out[head:] = np.partition(windows[head:], window // 2, axis=1)[:, window // 2]
        else:
            out[head:] = np.median(windows[head:], axis=1)
        for i in range(head):
            out[i] = np.median(column[: i + 1])
        return out
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)  # a window with no value: NaN, as pandas
        return np.nanmedian(windows, axis=1)


# -- building a summary from RunStats (for the plugin, tests and benchmarks) -----------------


def summary_from_stats(
    stats: Any,
    *,
    run_id: str,
    profile: str,
    started_at: float,
    ended_at: float,
    host: str | None = None,
    profile_hash: str | None = None,
    suite_version: str | None = None,
    git_commit: str | None = None,
    time_scale: float = 1.0,
    exit_code: int = 0,
    status: str = "complete",
    partial_reason: str | None = None,
    stages: Sequence[Mapping[str, Any]] = (),
    thresholds: Sequence[Mapping[str, Any]] = (),
    tolerances: Mapping[str, Any] | None = None,
    cleanup: Mapping[str, Any] | None = None,
    reconciliation: Mapping[str, Any] | None = None,
    generator: Mapping[str, Any] | None = None,
    workers: Mapping[str, Any] | None = None,
    trace_url: str | None = None,
) -> dict[str, Any]:
    """The schema_version 1 summary dict of a run, from its :class:`~bss_loadtest.core.stats.RunStats`.

    The one builder: the plugin writes what it returns, and the report, compare and benchmark
    tests build their summaries with it too. ``duration_s`` runs from the test start to its end;
    rates are over the time requests were made (first request to the end). ``thresholds`` are rows
    as made by ``ThresholdResult.to_dict()``. The result validates with :class:`Summary`; pass it
    to :func:`write_run`. ``trace_url`` (``--trace-url``) is kept when it is a valid link template;
    an invalid one (the start-up checks refuse it) is dropped with a warning, not the run's results.
    """
    if trace_url and trace_url_problem(trace_url):
        warnings.warn(f"--trace-url {trace_url!r}: {trace_url_problem(trace_url)}; not kept", RuntimeWarning,
                      stacklevel=2)
        trace_url = None

    first = stats.first_request_at
    request_window = 0.0 if first is None else max(ended_at - first, 1e-9)
    rows = []
    for key in stats.endpoint_keys():
        method, name = stats.methods[key]
        aggregate = stats.endpoints[key]
        rows.append({"method": method, "name": name, **aggregate.summary_row(request_window),
                     "slowest": [_sample_row(s) for s in aggregate.slowest]})
    totals = {"method": "", "name": AGGREGATED, **stats.total.summary_row(request_window)}
    user_classes = [
        {"name": name, "count": aggregate.count, "failures": aggregate.failures,
         "p95_ms": aggregate.summary_row(request_window)["p95_ms"]}
        for name, aggregate in sorted(stats.user_classes.items())
    ]

    return {
        "schema": SUMMARY_SCHEMA,
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": run_id,
        "profile": profile,
        "profile_hash": profile_hash,
        "host": host,
        "suite_version": suite_version or _suite_version(),
        "git_commit": git_commit,
        "time_scale": time_scale,
        "started_at": stamp(started_at),
        "ended_at": stamp(ended_at),
        "duration_s": round(max(ended_at - started_at, 0.0), 3),
        "status": status,
        "partial_reason": partial_reason,
        "exit_code": exit_code,
        "stages": [dict(s) for s in stages],
        "thresholds": [dict(t) for t in thresholds],
        "requests": rows,
        "totals": totals,
        "failures_by_class": stats.failures_by_class(),
        "user_classes": user_classes,
        "tolerances": dict(tolerances) if tolerances is not None else None,
        "cleanup": dict(cleanup) if cleanup is not None else None,
        "reconciliation": dict(reconciliation) if reconciliation is not None else None,
        "generator": dict(generator) if generator is not None else {"cpu_saturated": False, "max_cpu_percent": None},
        "workers": dict(workers) if workers is not None else {"count": 0, "lost": []},
        "failure_samples": {name: [{**_sample_row(s), "endpoint": s.endpoint or ""} for s in samples]
                            for name, samples in sorted(getattr(stats, "failure_samples", {}).items())},
        "trace_url": trace_url or None,
        "metrics": k6_metrics(stats, request_window, _activity_window(stats, ended_at)),
        **({"scenarios": scenario_rows(stats)} if _iterations_recorded(stats) else {}),
    }


def _trend(histogram: Any) -> dict[str, float | None]:
    count = histogram.count
    p50, p90, p95, p99 = histogram.percentiles((0.5, 0.9, 0.95, 0.99))
    return {"avg": _round2(histogram.total_ms / count if count else None), "min": _round2(histogram.min_ms),
            "med": _round2(p50), "max": _round2(histogram.max_ms),
            "p(90)": _round2(p90), "p(95)": _round2(p95), "p(99)": _round2(p99)}


def _round2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _counter(count: int, window_s: float) -> dict[str, Any]:
    return {"count": int(count), "rate": round(count / window_s, 3) if window_s > 0 else None}


def _rate(passes: int, fails: int) -> dict[str, Any]:
    total = passes + fails
    return {"passes": int(passes), "fails": int(fails), "value": passes / total if total else None}


def _gauge(gauge: tuple[int, int, int] | None) -> dict[str, float | None]:
    value, low, high = gauge if gauge is not None else (None, None, None)
    return {"value": value, "min": low, "max": high}


def k6_metrics(stats: Any, request_window: float, iteration_window: float) -> dict[str, Any]:
    """summary.json's ``metrics``: k6's built-in metrics (and the BSS scripts' ``errors``) of a run
    under k6's names and keys, from its :class:`~bss_loadtest.core.stats.RunStats`. Request rates
    are over ``request_window`` (first request to the end), iteration rates over
    ``iteration_window`` (first request or iteration to the end); null where there is no data."""
    total = stats.total
    passed, failed = stats.checks_of()
    return {
        "http_req_duration": _trend(total.histogram),
        "http_reqs": _counter(total.count, request_window),
        "http_req_failed": _rate(total.failures, total.count - total.failures),
        "checks": _rate(passed, failed),
        "errors": _rate(failed, passed),
        "iterations": _counter(stats.iterations.count, iteration_window),
        "iteration_duration": _trend(stats.iterations),
        "dropped_iterations": _counter(stats.dropped, iteration_window),
        "vus": _gauge(stats.vus_gauge()),
        "vus_max": _gauge(stats.vus_max_gauge()),
    }


def _activity_window(stats: Any, ended_at: float) -> float:
    starts = [t for t in (stats.first_request_at, stats.first_iteration_at) if t is not None]
    return max(ended_at - min(starts), 1e-9) if starts else 0.0


def _iterations_recorded(stats: Any) -> bool:
    return bool(stats.iterations.count or stats.dropped)


def scenario_rows(stats: Any) -> dict[str, dict[str, Any]]:
    """summary.json's ``scenarios``: per scenario its iterations, dropped and interrupted ones, and p95 duration."""
    return {name: {"iterations": scenario.iterations.count, "dropped_iterations": scenario.dropped,
                   "iteration_duration_p95_ms": _round2(scenario.iterations.percentile(0.95)),
                   "interrupted_iterations": scenario.interrupted}
            for name, scenario in sorted(stats.scenarios.items())}


def stamp(epoch: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds, as ``summary.json`` writes times."""
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")


def _sample_row(sample: TraceSample) -> dict[str, Any]:
    return {"trace_id": sample.trace_id, "ms": round(sample.ms, 2), "status": sample.status,
            "failure_class": sample.failure_class, "at": stamp(sample.at)}


def _suite_version() -> str:
    from bss_loadtest import __version__

    return __version__
