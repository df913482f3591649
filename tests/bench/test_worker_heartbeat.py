"""The pure parts of bench/worker_heartbeat.py: the gaps between heartbeats and a process's CPU
share over a window. No run, no timing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import worker_heartbeat as w  # noqa: E402


def test_gaps_are_the_longest_first_with_where_each_began():
    beats = [100.0, 101.0, 102.1, 106.3, 107.3, 110.0]
    assert w.gaps(beats) == [(102.1, pytest.approx(4.2)), (107.3, pytest.approx(2.7)), (101.0, pytest.approx(1.1)),
                             (100.0, 1.0), (106.3, pytest.approx(1.0))]
    assert w.gaps([5.0]) == [] and w.gaps([]) == []


def test_cpu_between_is_the_share_of_one_core_inside_the_window():
    cpu = [[10.0, 1.0], [11.0, 1.5], [12.0, 2.5], [13.0, 2.6], [20.0, 9.0]]
    assert w.cpu_between(cpu, 10.0, 13.0) == pytest.approx((2.6 - 1.0) / 3 * 100)
    assert w.cpu_between(cpu, 11.5, 12.5) is None  # one sample: no share
