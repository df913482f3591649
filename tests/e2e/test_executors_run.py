"""k6's executors against the reference server, time-scaled, in one process and over two workers.

The counts must be the profile's exactly: every arrival of an arrival-rate scenario is either an
iteration or a dropped iteration; iteration executors run exactly their iterations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bss_loadtest.core.executors import schedules
from bss_loadtest.core.profiles import load_profile

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROFILE = Path(__file__).parent / "profiles" / "executors.yaml"
SCALE = 0.1


def _expected() -> dict[str, int]:
    plans = schedules(load_profile(PROFILE).scaled(SCALE))
    return {
        "arrivals": plans["arrivals"].total_arrivals,
        "climb": plans["climb"].total_arrivals,
        "each": 2 * 5,
        "volume": 40,
    }


def _check(summary: dict) -> None:
    assert summary["status"] == "complete", summary.get("partial_reason")
    expected = _expected()
    assert expected["arrivals"] == 120 and expected["climb"] == 60
    rows = summary["scenarios"]
    assert set(rows) == {"arrivals", "climb", "steady", "ramp", "each", "volume"}
    for name in ("arrivals", "climb"):
        row = rows[name]
        # every arrival started an iteration or was dropped; none ran late or twice
        assert row["iterations"] + row["dropped_iterations"] + row.get("interrupted_iterations", 0) == expected[name], row
        assert row["iterations"] >= expected[name] * 0.9, row
    assert rows["each"]["iterations"] == expected["each"]
    assert rows["volume"]["iterations"] == expected["volume"]
    assert rows["steady"]["iterations"] > 0 and rows["ramp"]["iterations"] > 0
    assert rows["each"]["dropped_iterations"] == rows["volume"]["dropped_iterations"] == 0
    metrics = summary["metrics"]
    assert metrics["iterations"]["count"] == sum(row["iterations"] for row in rows.values())
    assert metrics["dropped_iterations"]["count"] == sum(row["dropped_iterations"] for row in rows.values())
    # the pools: 8 + 6 + 2 + 3 + 2 + 3 users; at least the preallocated arrival users are counted
    assert 1 <= metrics["vus"]["max"] <= 24
    assert 2 + 3 + 2 + 3 <= metrics["vus_max"]["max"] <= 24
    verdicts = {(t["metric"], t["scope"]): t for t in summary["thresholds"]}
    assert verdicts[("iterations", "scenario:volume")]["passed"]
    assert verdicts[("iterations", "scenario:each")]["passed"]
    assert all(t["passed"] for t in summary["thresholds"]), summary["thresholds"]


def test_every_executor_in_one_process(reference_server, locust):
    result = locust(["--profile", str(PROFILE), "--time-scale", str(SCALE), "--host", reference_server.url])
    assert result.returncode == 0, result.output[-3000:]
    _check(result.summary)


def test_every_executor_over_two_workers_keeps_the_totals(reference_server, locust):
    result = locust(["--profile", str(PROFILE), "--time-scale", str(SCALE), "--processes", "2",
                     "--host", reference_server.url])
    assert result.returncode == 0, result.output[-3000:]
    _check(result.summary)
    assert result.summary["workers"]["count"] == 2


def test_arrivals_without_a_free_user_are_dropped_and_counted(reference_server_factory, locust, tmp_path):
    """100 ms per request and two users: at 50 arrivals/s most cannot start on time. k6 drops
    them (dropped_iterations); they are never queued, and never lost from the count."""
    server = reference_server_factory(port=0, db=":memory:", extra_args=["--latency-ms", "100"])
    profile = tmp_path / "drops.yaml"
    profile.write_text(
        "description: more arrivals than two users can take\n"
        "users: {ProductUser: 1}\n"
        "scenarios:\n"
        "  burst: {executor: constant-arrival-rate, rate: 50, duration: 2s, preAllocatedVUs: 1, maxVUs: 2,"
        " gracefulStop: 5s}\n"
        "thresholds:\n"
        "  dropped_iterations: ['count<1']\n"
    )
    result = locust(["--profile", str(profile), "--host", server.url])
    summary = result.summary
    row = summary["scenarios"]["burst"]
    assert row["iterations"] + row["dropped_iterations"] + row.get("interrupted_iterations", 0) == 100, row
    # at most 2 users × 2 s / (≥ 0.1 s per iteration) can start, plus the in-flight tail
    assert row["iterations"] <= 2 * 2 / 0.1 + 2, row
    assert row["dropped_iterations"] >= 50, row
    assert summary["metrics"]["vus_max"]["max"] == 2
    (verdict,) = [t for t in summary["thresholds"] if t["metric"] == "dropped_iterations"]
    assert not verdict["passed"] and verdict["observed"] == row["dropped_iterations"]
    assert result.returncode != 0  # a failed threshold fails the run
