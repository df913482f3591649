"""bench/wire_accuracy.py reads k6's --out json points and pairs them with the capture, as the suite's log."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import wire_accuracy  # noqa: E402

BASE = datetime(2026, 12, 1, 15, 48, 17, tzinfo=UTC).timestamp()


def point(time: str, value: float, **tags: str) -> str:
    return json.dumps({"metric": "http_req_duration", "type": "Point",
                       "data": {"time": time, "value": value, "tags": tags}})


def test_k6_time_keeps_nanoseconds_and_offsets():
    assert wire_accuracy.k6_time("2026-12-01T15:48:17.80994691Z") == pytest.approx(BASE + 0.80994691, abs=1e-6)
    assert wire_accuracy.k6_time("2026-12-01T16:48:17.5+01:00") == pytest.approx(BASE + 0.5, abs=1e-6)
    assert wire_accuracy.k6_time("2026-12-01T15:48:17Z") == BASE
    with pytest.raises(ValueError):
        wire_accuracy.k6_time("2026-12-01 15:48:17")


def test_k6_samples_start_at_end_minus_duration_and_leave_out_setup_and_tokens():
    lines = [
        json.dumps({"metric": "http_req_duration", "type": "Metric", "data": {"name": "http_req_duration"}}),
        point("2026-12-01T15:48:17.100Z", 3.0, group="::setup", method="POST",
              name="http://127.0.0.1:1/realms/bss/protocol/openid-connect/token"),
        point("2026-12-01T15:48:17.250Z", 50.0, group="", scenario="default", method="GET",
              name="/api/v1/customers/{id}", url="/api/v1/customers/{id}", expected_response="true"),
        point("2026-12-01T15:48:17.300Z", 40.0, group="", scenario="default", method="GET",
              name="http://127.0.0.1:1/api/v1/customers?page=0&size=20",
              url="http://127.0.0.1:1/api/v1/customers?page=0&size=20", expected_response="true"),
        point("2026-12-01T15:48:17.400Z", 42.0, group="", scenario="default", method="PUT",
              name="/api/v1/customers/{id}", expected_response="false", status="409"),
        json.dumps({"metric": "http_reqs", "type": "Point",
                    "data": {"time": "2026-12-01T15:48:17.400Z", "value": 1, "tags": {"name": "/api/v1/customers"}}}),
    ]
    samples, failed = wire_accuracy.k6_samples(lines)
    assert [(name, ms) for _, ms, name in samples] == [
        ("/api/v1/customers/{id}", 50.0), ("/api/v1/customers", 40.0), ("/api/v1/customers/{id}", 42.0)]
    assert [start - BASE for start, _, _ in samples] == pytest.approx([0.2, 0.26, 0.358], abs=1e-6)
    assert failed == 1


def test_k6_samples_are_paired_with_the_capture_by_the_suites_matching():
    wire = [  # (sent, ms, path): k6's start estimate lies within a few ms of the send
        (BASE + 0.2003, 49.6, "/api/v1/customers/8f1c"),
        (BASE + 0.2601, 39.8, "/api/v1/customers"),
        (BASE + 0.3580, 41.0, "/api/v1/customers/by-status/ACTIVE"),  # another template: not paired
        (BASE + 0.9000, 40.0, "/api/v1/customers/aa01"),  # too far from any sample
    ]
    samples, _ = wire_accuracy.k6_samples([
        point("2026-12-01T15:48:17.250Z", 50.0, group="", name="/api/v1/customers/{id}"),
        point("2026-12-01T15:48:17.300Z", 40.0, group="", name="/api/v1/customers"),
        point("2026-12-01T15:48:17.400Z", 42.0, group="", name="/api/v1/customers/{id}"),
    ])
    pairs = wire_accuracy.match(samples, wire)
    assert pairs == [(50.0, 49.6), (40.0, 39.8)]
    result = wire_accuracy.figures(pairs)
    assert result["requests"] == 2
    assert result["tool"]["50"] == 40.0 and result["wire"]["99"] == 49.6
    assert result["overhead"]["50"] == pytest.approx(0.2) and result["overhead"]["95"] == pytest.approx(0.4)
    assert wire_accuracy.figures([]) == {"requests": 0, "tool": {}, "wire": {}, "overhead": {}}
