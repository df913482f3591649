"""Numbers that can be trusted: percentiles against the exact ones of every request, the same
numbers from one process or several, and reconciliation with what the target served."""

from __future__ import annotations

import csv
import math
from collections import defaultdict

import pytest

from bss_loadtest.core.stats import SIDE_REQUEST_TYPES

pytestmark = pytest.mark.slow


def exact(samples, q):
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def read_request_logs(prefix):
    samples = defaultdict(list)
    files = list(prefix.parent.glob(prefix.name + ".*"))
    assert files, "no request log written"
    for path in files:
        for _timestamp, method, name, ms, _failure in csv.reader(path.open()):
            samples[(method, name)].append(float(ms))
    return samples


@pytest.mark.parametrize("processes", [None, 2])
def test_percentiles_and_counts_match_every_request(reference_server_factory, locust, tmp_path, processes):
    server = reference_server_factory(extra_args=["--latency-ms", "3"])
    log = tmp_path / "requests.csv"
    args = ["--profile", "load", "--time-scale", "0.02", "--host", server.url, "--request-log", str(log)]
    if processes:
        args += ["--processes", str(processes)]
    result = locust(args)
    assert result.returncode == 0, result.output[-3000:]
    summary = result.summary
    samples = read_request_logs(log)

    # No sample lost between workers and master, including the last seconds before the stop.
    rows = {(r["method"], r["name"]): r for r in summary["requests"]}
    assert {k: len(v) for k, v in samples.items()} == {k: r["count"] for k, r in rows.items()}
    business = [ms for (method, _), values in samples.items() if method not in SIDE_REQUEST_TYPES for ms in values]
    assert summary["totals"]["count"] == len(business)
    # each connection a user opened is a row of its own, in no total
    netloc = server.url.split("://", 1)[1]
    assert rows[("CONNECT", netloc)]["count"] >= 1

    # Every reported percentile is within max(0.5 %, 1 ms) of the exact one.
    def check(reported, values):
        for key, q in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99), ("max_ms", 1.0)):
            want = exact(values, q)
            assert abs(reported[key] - want) <= max(0.005 * want, 1.0), (key, reported[key], want)

    check(summary["totals"], business)
    for key, values in samples.items():
        check(rows[key], values)

    # The target served exactly what the suite counted (requests per endpoint, created customers).
    reconciliation = summary["reconciliation"]
    assert reconciliation is not None and reconciliation["reconciled"], reconciliation
