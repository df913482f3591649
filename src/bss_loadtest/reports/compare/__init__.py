"""Compare a run with a baseline: compute, render, fail, as three separate steps.

1. :func:`compare` (:mod:`.compute`) lines the run's endpoints up with the baseline's and
   applies one :class:`RegressionRule` (:mod:`.rules`) per metric. A rule is a small object whose
   :meth:`RegressionRule.fails` returns a message or None (pytest-benchmark's ``RegressionCheck``
   habit); its tolerances come in one vocabulary, :class:`CompareTolerances`.
2. :func:`to_markdown`, :func:`to_html`, :func:`to_json`, :func:`to_junit` (:mod:`.render`) render a
   :class:`Comparison`; they never decide anything. :func:`render` picks one by format name.
3. :func:`exit_code` turns it into 0 (no regression) or 1 (``errors.REGRESSION``).

:func:`run_compare` (:mod:`.runner`) does all three for the CLI, from a run directory to files.
See docs/reports.md for the rules. This package does not import locust.
"""

from bss_loadtest.reports.compare.compute import (
    MIN_TAIL_SAMPLES,
    NOISE_MIN_BASELINES,
    PERCENTILE_OF,
    Comparison,
    MetricComparison,
    Note,
    Status,
    compare,
    exit_code,
)
from bss_loadtest.reports.compare.render import (
    FORMAT_FILES,
    FORMATS,
    RENDERERS,
    SMOOTH_S,
    Histories,
    render,
    to_html,
    to_json,
    to_junit,
    to_markdown,
)
from bss_loadtest.reports.compare.rules import (
    DEFAULT_TOLERANCES,
    HIGHER_IS_WORSE,
    METRIC_LABELS,
    METRICS,
    NOISE_K,
    CompareTolerances,
    MetricTolerance,
    RegressionRule,
    format_allowance,
    format_change,
    format_metric,
    rules_from,
)
from bss_loadtest.reports.compare.runner import NOISE_WINDOW, run_compare

__all__ = [
    "DEFAULT_TOLERANCES",
    "FORMATS",
    "FORMAT_FILES",
    "HIGHER_IS_WORSE",
    "METRICS",
    "METRIC_LABELS",
    "MIN_TAIL_SAMPLES",
    "NOISE_K",
    "NOISE_MIN_BASELINES",
    "NOISE_WINDOW",
    "PERCENTILE_OF",
    "RENDERERS",
    "SMOOTH_S",
    "CompareTolerances",
    "Comparison",
    "Histories",
    "MetricComparison",
    "MetricTolerance",
    "Note",
    "RegressionRule",
    "Status",
    "compare",
    "exit_code",
    "format_allowance",
    "format_change",
    "format_metric",
    "render",
    "rules_from",
    "run_compare",
    "to_html",
    "to_json",
    "to_junit",
    "to_markdown",
]
