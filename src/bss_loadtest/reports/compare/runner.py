"""The CLI's entry point: load a run and its baseline, compare, write the chosen formats.

This module does not import locust.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bss_loadtest.reports.baseline import DEFAULT_BASELINES_ROOT, LATEST, baseline_history, load_baseline
from bss_loadtest.reports.compare.compute import Comparison, compare
from bss_loadtest.reports.compare.render import FORMAT_FILES, FORMATS, Histories, check_formats, render
from bss_loadtest.reports.results import (
    HISTORY_FILE,
    AggregatedSeries,
    ResultsWriteError,
    Summary,
    atomic_write_text,
    load_summary,
    prefetch_aggregated_series,
)

NOISE_WINDOW = 10
"""How many of the newest baselines ``run_compare`` reads to estimate the noise."""


def run_compare(
    run_dir: str | os.PathLike[str],
    baseline: str | os.PathLike[str] = LATEST,
    *,
    baselines_root: str | os.PathLike[str] = DEFAULT_BASELINES_ROOT,
    out_dir: str | os.PathLike[str] | None = None,
    formats: Iterable[str] = FORMATS,
    tolerances: Mapping[str, Any] | None = None,
    run_summary: Summary | None = None,
    run_series: AggregatedSeries | Callable[[], AggregatedSeries | None] | None = None,
) -> tuple[Comparison, dict[str, Path]]:
    """Load the run and its baseline, compare, write the chosen formats atomically; return both.

    ``baseline`` is ``"latest"`` (newest of the run's profile under ``baselines_root``), a baseline
    file, or another run: its directory or its ``summary.json`` (the stored baselines still give
    the noise estimate).
    Outputs go to ``out_dir`` (default ``<run_dir>/compare/``) as compare.md, compare.html,
    compare.json and compare-junit.xml. Bad input raises :class:`InputError` (exit code 2); a
    missing baseline raises its subclass ``baseline.NoBaselineError``. The caller exits with
    :func:`exit_code` of the returned comparison.

    ``run_summary`` and ``run_series`` are the run's summary and its Aggregated series
    (``results.read_aggregated_series``, or the function ``results.prefetch_aggregated_series``
    returns) when the caller has them already, e.g. to render the run's report.html too: then
    history.csv is scanned once for both. Otherwise, when HTML is asked for, the series is read
    in a thread from the start, while the baselines are read and the other formats rendered.
    """
    formats = tuple(formats)
    check_formats(formats)
    run_path = Path(run_dir)
    run = run_summary if run_summary is not None else load_summary(run_path)
    run_directory = run_path if run_path.is_dir() else run_path.parent
    history_file = run_directory / HISTORY_FILE
    if run_series is None and "html" in formats:
        run_series = prefetch_aggregated_series(history_file)
    chosen = load_baseline(baseline, profile=run.profile, baselines_root=baselines_root)
    # The chosen baseline is one of the stored ones when it is "latest": read once, not twice.
    history = baseline_history(run.profile, baselines_root, last_n=NOISE_WINDOW, known=[chosen])
    comparison = compare(run, chosen, history, tolerances)

    directory = Path(out_dir) if out_dir is not None else run_directory / "compare"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsWriteError(f"{directory}: cannot create directory: {exc.strerror or exc}") from exc
    if callable(run_series):
        histories = Histories(run=run_series, baseline=chosen.history_series)
    else:
        histories = Histories(run=lambda: run_series, baseline=chosen.history_series)
    written = {fmt: atomic_write_text(directory / FORMAT_FILES[fmt], render(comparison, fmt, histories)) for fmt in formats}
    return comparison, written
