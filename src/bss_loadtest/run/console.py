"""What a run prints at its end: the per-endpoint table from the suite's histogram, then the
thresholds. Does not import locust."""

from __future__ import annotations

import sys
from typing import Any

from bss_loadtest.core.thresholds import format_table


def print_console_report(summary: dict[str, Any], results: list) -> None:
    """The end-of-run table: per endpoint from the suite's histogram, then the thresholds."""
    lines = [
        "",
        f"Run {summary['run_id']} ({summary['profile']}) against {summary['host']}: "
        f"{summary['status']}",
        f"{'Method':<7} {'Name':<52} {'Reqs':>7} {'Fails':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'Max':>8}",
    ]
    for row in [*summary["requests"], summary["totals"]]:
        lines.append(
            f"{row['method']:<7} {row['name'][:52]:<52} {row['count']:>7} {row['failures']:>6} "
            + " ".join(_ms(row[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))
        )
    if summary["failures_by_class"]:
        lines.append(
            "Failures by class: " + ", ".join(f"{k}={v}" for k, v in summary["failures_by_class"].items())
        )
    if summary["generator"]["cpu_saturated"]:
        lines.append(
            "WARNING: the load generator's CPU was saturated; the load it made may be less than the "
            "profile asked for (add workers: --processes N)"
        )
    if summary["partial_reason"]:
        lines.append(f"PARTIAL: {summary['partial_reason']}")
    reconciliation = summary.get("reconciliation")
    if reconciliation is not None:
        if reconciliation["reconciled"]:
            lines.append(f"Reconciled with the target's metrics ({reconciliation['endpoints_compared']} endpoints)")
        else:
            lines.append(
                "NOT reconciled with the target's metrics: "
                + "; ".join(f"{m['endpoint']} suite={m['suite']} target={m['target']}" for m in reconciliation["mismatches"][:5])
                + "".join(
                    f"; {c['counter']} suite={c['suite']} target={c['target']}"
                    for c in reconciliation["counters"] if not c["match"]
                )
            )
    if results:
        lines.append("")
        lines.append(format_table(results))
        verdict = "PASSED" if all(r.passed for r in results) else "FAILED (exit code 99)"
        lines.append(f"Thresholds: {verdict}")
    say("\n".join(lines))


def _ms(value: float | None) -> str:
    return f"{'-':>8}" if value is None else f"{value:>8.1f}"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
