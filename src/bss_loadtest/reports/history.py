"""The nightly trend: one CSV row per endpoint per run, and an HTML trend report over the last runs.

``reports/history.csv`` grows by one row per business endpoint plus one ``Aggregated`` row per
run. It is appended by read-modify-replace under an exclusive lock (``<file>.lock``), so two jobs
appending at once lose nothing and a reader never sees half a file.

This module does not import locust.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

from bss_loadtest.core.errors import InputError
from bss_loadtest.reports.results import AGGREGATED, ResultsWriteError, Summary, _display, atomic_write_text

DEFAULT_HISTORY_PATH = Path("reports/history.csv")
TREND_COLUMNS = (
    "run_id", "started_at", "profile", "host", "suite_version", "git_commit", "method", "name",
    "count", "error_rate", "p50_ms", "p95_ms", "p99_ms", "rps", "exit_code",
)
TREND_LAST_N = 14


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    try:
        handle = open(lock_path, "a+b")
    except OSError as exc:
        raise ResultsWriteError(f"{lock_path}: cannot open lock file: {exc.strerror or exc}") from exc
    try:
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except ImportError:  # not POSIX: the atomic replace still guarantees a whole file
            pass
        yield
    finally:
        handle.close()


def history_rows(summary: Summary, *, exit_code: int | None = None) -> list[dict[str, object]]:
    """The rows one run adds: business endpoints (sorted), then ``Aggregated``."""
    common = {
        "run_id": summary.run_id,
        "started_at": summary.started_at.isoformat().replace("+00:00", "Z"),
        "profile": summary.profile,
        "host": summary.host or "",
        "suite_version": summary.suite_version,
        "git_commit": summary.git_commit or "",
        "exit_code": summary.exit_code if exit_code is None else exit_code,
    }
    rows = []
    for r in [*sorted(summary.endpoint_rows(), key=lambda r: r.key), summary.totals]:
        rows.append({**common, "method": r.method, "name": r.name, "count": r.count,
                     "error_rate": round(r.error_rate, 6), "p50_ms": r.p50_ms, "p95_ms": r.p95_ms,
                     "p99_ms": r.p99_ms, "rps": r.rps})
    return rows


def append_history(summary: Summary, history_path: str | os.PathLike[str] = DEFAULT_HISTORY_PATH,
                   *, exit_code: int | None = None) -> None:
    """Append the run's rows to ``history_path`` atomically (created with a header if absent).

    ``exit_code`` defaults to the run's own (``summary.exit_code``); nightly may pass the final
    exit code (e.g. 1 for a regression). A file with a different header raises :class:`InputError`.
    """
    path = Path(history_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsWriteError(f"{path.parent}: cannot create directory: {exc.strerror or exc}") from exc
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TREND_COLUMNS, lineterminator="\n")
    for row in history_rows(summary, exit_code=exit_code):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    with _locked(path):
        try:
            existing = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            existing = ""
        except OSError as exc:
            raise InputError(f"{_display(path)}: cannot read: {exc.strerror or exc}") from None
        header = ",".join(TREND_COLUMNS)
        if existing.strip():
            first = existing.split("\n", 1)[0].strip()
            if first != header:
                raise InputError(f"{_display(path)}: unexpected header (expected {header})")
            if not existing.endswith("\n"):
                existing += "\n"
        else:
            existing = header + "\n"
        atomic_write_text(path, existing + buffer.getvalue())


def load_trend(history_path: str | os.PathLike[str] = DEFAULT_HISTORY_PATH):  # -> pandas.DataFrame
    """``history.csv`` as a DataFrame (``started_at`` parsed as UTC datetimes)."""
    import pandas as pd

    path = Path(history_path)
    shown = _display(path)
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in ("p50_ms", "p95_ms", "p99_ms")},
                            dtype={"run_id": str, "method": str, "name": str, "host": str, "git_commit": str, "profile": str})
    except FileNotFoundError:
        raise InputError(f"{shown}: no such history file") from None
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{shown}: not a readable CSV file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    missing = [c for c in TREND_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{shown}: missing columns {', '.join(missing)}")
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True, format="ISO8601")
    frame["key"] = [f"{m} {n}" if m else n for m, n in zip(frame["method"], frame["name"])]
    return frame


def render_trend(history_path: str | os.PathLike[str] = DEFAULT_HISTORY_PATH, *, profile: str,
                 last_n: int = TREND_LAST_N) -> str:
    """Self-contained HTML: p95 and error rate per endpoint over the last ``last_n`` runs of ``profile``."""
    from bss_loadtest.reports.html import Cell, Table, chart, fmt, new_figure, pct, render_page

    frame = load_trend(history_path)
    frame = frame[frame["profile"] == profile]
    runs = (frame.drop_duplicates("run_id").sort_values("started_at").tail(last_n))
    page = {"title": f"Trend {profile}", "profile": profile}
    if runs.empty:
        return render_page("trend.html", **page, count=0, history_path=str(history_path))
    frame = frame[frame["run_id"].isin(set(runs["run_id"]))].sort_values("started_at")

    fig = new_figure(figsize=(13, 5.2))
    fig.subplots_adjust(left=0.05, right=0.78, top=0.93, bottom=0.17, wspace=0.18)
    p95_ax, err_ax = fig.subplots(1, 2)
    keys = sorted(k for k in frame["key"].unique() if k != AGGREGATED) + [AGGREGATED]
    for key in keys:
        rows = frame[frame["key"] == key]
        style = {"color": "#111827", "lw": 2.2} if key == AGGREGATED else {"lw": 0.9, "alpha": 0.8}
        x = rows["started_at"].dt.tz_localize(None).to_numpy()
        p95_ax.plot(x, rows["p95_ms"].to_numpy(), marker=".", label=key, **style)
        err_ax.plot(x, (rows["error_rate"] * 100).to_numpy(), marker=".", label=key, **style)
    p95_ax.set_title("p95 (ms) per endpoint", fontsize=10)
    err_ax.set_title("error rate (%) per endpoint", fontsize=10)
    for ax in (p95_ax, err_ax):
        ax.grid(True, color="#e5e7eb", lw=0.6)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    err_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6)

    agg = frame[frame["key"] == AGGREGATED]
    rows = [[str(r["run_id"]), str(r["started_at"]), str(r["git_commit"])[:10] or "–",
             fmt(int(r["count"])), pct(float(r["error_rate"])), fmt(r["p50_ms"]), fmt(r["p95_ms"]), fmt(r["p99_ms"]),
             fmt(float(r["rps"]), 2), Cell(str(int(r["exit_code"])), cls="pass" if int(r["exit_code"]) == 0 else "fail")]
            for r in agg.to_dict("records")]
    return render_page(
        "trend.html", **page, count=len(runs), first=str(runs["started_at"].iloc[0]), last=str(runs["started_at"].iloc[-1]),
        over_runs=chart(fig, "p95 and error rate per endpoint over the last runs"),
        runs_table=Table(headers=["run", "started", "commit", "requests", "error rate", "p50", "p95", "p99", "rps", "exit"],
                   rows=rows, left=3),
    )


def write_trend(history_path: str | os.PathLike[str] = DEFAULT_HISTORY_PATH, *, profile: str,
                out_dir: str | os.PathLike[str] = Path("reports"), last_n: int = TREND_LAST_N) -> Path:
    """Write ``<out_dir>/trend-<profile>.html`` atomically; returns its path."""
    target = Path(out_dir) / f"trend-{profile}.html"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsWriteError(f"{target.parent}: cannot create directory: {exc.strerror or exc}") from exc
    return atomic_write_text(target, render_trend(history_path, profile=profile, last_n=last_n))
