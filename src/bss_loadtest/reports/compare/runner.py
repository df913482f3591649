"""The CLI's entry point: load a run and its baseline, compare, write the chosen formats.

This module does not import locust.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bss_loadtest.reports.baseline import DEFAULT_BASELINES_ROOT, LATEST, baseline_history, load_baseline
from bss_loadtest.reports.compare.compute import Comparison, compare
from bss_loadtest.reports.compare.render import FORMAT_FILES, FORMATS, Histories, check_formats, render
from bss_loadtest.reports.results import (
    HISTORY_FILE,
    ResultsWriteError,
    atomic_write_text,
    load_aggregated_history,
    load_summary,
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
) -> tuple[Comparison, dict[str, Path]]:
    """Load the run and its baseline, compare, write the chosen formats atomically; return both.

    ``baseline`` is ``"latest"`` (newest of the run's profile under ``baselines_root``), a baseline
    file, or another run: its directory or its ``summary.json`` (the stored baselines still give
    the noise estimate).
    Outputs go to ``out_dir`` (default ``<run_dir>/compare/``) as compare.md, compare.html,
    compare.json and compare-junit.xml. Bad input raises :class:`InputError` (exit code 2); a
    missing baseline raises its subclass ``baseline.NoBaselineError``. The caller exits with
    :func:`exit_code` of the returned comparison.
    """
    formats = tuple(formats)
    check_formats(formats)
    run_path = Path(run_dir)
    run = load_summary(run_path)
    chosen = load_baseline(baseline, profile=run.profile, baselines_root=baselines_root)
    history = baseline_history(run.profile, baselines_root, last_n=NOISE_WINDOW)
    comparison = compare(run, chosen, history, tolerances)

    run_directory = run_path if run_path.is_dir() else run_path.parent
    directory = Path(out_dir) if out_dir is not None else run_directory / "compare"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsWriteError(f"{directory}: cannot create directory: {exc.strerror or exc}") from exc
    history_file = run_directory / HISTORY_FILE
    histories = Histories(run=lambda: load_aggregated_history(history_file) if history_file.exists() else None,
                          baseline=chosen.history_frame)
    written = {fmt: atomic_write_text(directory / FORMAT_FILES[fmt], render(comparison, fmt, histories)) for fmt in formats}
    return comparison, written
