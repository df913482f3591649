"""What a run prints at its end: the per-endpoint table from the suite's histogram, then the
thresholds. Does not import locust."""

from __future__ import annotations

import sys
from typing import Any

from bss_loadtest.core.tables import text_table
from bss_loadtest.core.thresholds import format_table

TABLE_HEADERS = ("Method", "Name", "Reqs", "Fails", "p50", "p95", "p99", "Max")
TABLE_WIDTHS = (7, 52, 7, 6, 8, 8, 8, 8)


def print_console_report(summary: dict[str, Any], results: list) -> None:
    """The end-of-run table: per endpoint from the suite's histogram, then the thresholds."""
    rows = [
        [row["method"], row["name"][:52], row["count"], row["failures"],
         *(_ms(row[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))]
        for row in [*summary["requests"], summary["totals"]]
    ]
    lines = [
        "",
        f"Run {summary['run_id']} ({summary['profile']}) against {summary['host']}: {summary['status']}",
        text_table(TABLE_HEADERS, rows, align="<<>>>>>>", sep=" ", widths=TABLE_WIDTHS),
    ]
    if summary["failures_by_class"]:
        lines.append(
            "Failures by class: " + ", ".join(f"{k}={v}" for k, v in summary["failures_by_class"].items())
        )
    if summary["generator"]["cpu_saturated"]:
        lines.append(
            "WARNING: the load generator's CPU was saturated; the load it made may be less than the "
            "profile asked for (add workers: --processes N)"
        )
    if summary["generator"].get("loop_lagging"):
        lines.append(
            f"WARNING: the load generator's event loop lagged {summary['generator']['loop_lag_ms']:.1f} ms (p95): "
            "its users sent their requests that late and made less load than asked for, and response times "
            "over TLS may include the delay (add workers: --processes N)"
        )
    k6_line = k6_metrics_line(summary.get("metrics"))
    if k6_line:
        lines.append(k6_line)
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


def k6_metrics_line(metrics: dict[str, Any] | None) -> str:
    """``checks: 99.50% of 400 passed; iterations: 200 (3.3/s), 0 dropped; vus max 10``: the k6
    metrics the per-endpoint table does not show, those with data; "" when none has."""
    if not metrics:
        return ""
    parts = []
    checks = metrics["checks"]
    if checks["value"] is not None:
        parts.append(f"checks: {checks['value'] * 100:.2f}% of {checks['passes'] + checks['fails']} passed")
    iterations, dropped = metrics["iterations"], metrics["dropped_iterations"]
    if iterations["count"] or dropped["count"]:
        rate = f" ({iterations['rate']:.1f}/s)" if iterations["rate"] is not None else ""
        parts.append(f"iterations: {iterations['count']}{rate}, {dropped['count']} dropped")
    if metrics["vus_max"]["max"] is not None:
        parts.append(f"vus max {metrics['vus']['max']:g} of {metrics['vus_max']['max']:g} allocated")
    return "; ".join(parts)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
