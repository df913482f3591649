"""bench/wire_accuracy.py pairs the suite's samples with the capture's responses, request by request."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import wire_accuracy  # noqa: E402


def test_each_sample_is_paired_with_the_nearest_unused_request_on_its_path():
    wire = [  # (sent, ms, path)
        (100.000, 40.0, "/api/v1/customers/7"),
        (100.001, 41.0, "/api/v1/customers"),
        (100.002, 42.0, "/api/v1/customers/8/status"),
        (100.500, 43.0, "/api/v1/customers/9"),
    ]
    suite = [  # (start, ms, name): starts a little after the wire's send times
        (100.0004, 40.9, "/api/v1/customers/{id}"),
        (100.0013, 41.5, "/api/v1/customers"),
        (100.0021, 42.2, "/api/v1/customers/{id}/status"),
        (100.9000, 99.0, "/api/v1/customers/{id}"),  # nothing within 5 ms: unpaired
    ]
    assert wire_accuracy.match(suite, wire) == [(40.9, 40.0), (41.5, 41.0), (42.2, 42.0)]


def test_percentile_is_nearest_rank_and_think_time_scales_past_200_users():
    assert wire_accuracy.percentile([float(v) for v in range(1, 101)], 0.95) == 95.0
    assert wire_accuracy.think_for(20) == "0.5,2"
    assert wire_accuracy.think_for(2000) == "5,20"


def test_suite_samples_start_at_the_logged_send_time_and_leave_out_side_rows(tmp_path):
    log = tmp_path / "requests.csv"
    (tmp_path / "requests.csv.101").write_text(
        "100.000000,GET,/api/v1/customers/{id},41.500000,\n"
        "100.010000,AUTH,/token,5.000000,\n"
        "100.020000,CONNECT,127.0.0.1:8080,0.300000,\n"
        "100.030000,POST,/api/v1/customers,42.000000,server_error\n")
    (tmp_path / "requests.csv.102").write_text("101.000000,DELETE,/api/v1/customers/{id},40.000000,\n")
    assert sorted(wire_accuracy.suite_samples(log)) == [
        (100.0, 41.5, "/api/v1/customers/{id}"), (100.03, 42.0, "/api/v1/customers"),
        (101.0, 40.0, "/api/v1/customers/{id}"),
    ]
