"""The one histogram: percentiles against exact ones, merging, history, transfer."""

import math
import random

import msgpack
import pytest

from bss_loadtest.core.stats import (
    AUTH_REQUEST_TYPE,
    CONNECT_REQUEST_TYPE,
    FAILURE_SAMPLES_N,
    SLOWEST_N,
    Histogram,
    RunStats,
    TraceSample,
    bucket_key,
)


def exact_percentile(samples, q):
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def within_tolerance(got, exact):
    return abs(got - exact) <= max(0.005 * exact, 1.0)


@pytest.mark.parametrize(
    "distribution",
    [
        lambda r: r.lognormvariate(3, 1),  # typical API latencies, long tail
        lambda r: r.uniform(0.2, 5),  # loopback, sub-millisecond to a few ms
        lambda r: r.expovariate(1 / 400),  # slow backend
        lambda r: 30000 * r.random(),  # timeouts up to 30 s
    ],
)
def test_percentiles_within_half_percent_or_1ms_of_exact(distribution):
    rng = random.Random(7)
    samples = [distribution(rng) for _ in range(50_000)]
    histogram = Histogram()
    for value in samples:
        histogram.record(value)
    for q in (0.5, 0.9, 0.95, 0.99, 0.999, 1.0):
        got = histogram.percentile(q)
        exact = exact_percentile(samples, q)
        assert within_tolerance(got, exact), (q, got, exact)


def test_memory_does_not_grow_with_the_number_of_requests():
    rng = random.Random(1)
    histogram = Histogram()
    sizes = []
    for _ in range(5):
        for _ in range(40_000):
            histogram.record(rng.lognormvariate(3, 1))
        sizes.append(len(histogram.buckets))
    # Buckets depend on the spread of values, not on the count: the last rounds add almost none.
    assert sizes[-1] - sizes[-2] < 0.02 * sizes[-1]
    assert sizes[-1] < 2500


@pytest.mark.parametrize("value", [0.0, 0.04, 0.05, 1.0, 99.94, 99.96, 100.0, 123.4, 999.5, 1234.5, 98765.0])
def test_bucket_representative_is_close_to_the_value(value):
    assert within_tolerance(bucket_key(value) / 10.0, value)


def test_empty_histogram_has_no_percentile():
    assert Histogram().percentile(0.95) is None


def test_extremes_are_exact():
    histogram = Histogram()
    for value in (3.21, 1234.567, 55.5):
        histogram.record(value)
    assert histogram.percentile(1.0) == 1234.567
    assert histogram.percentile(0.0) == 3.21


def test_worker_deltas_merge_to_what_one_process_reports():
    rng = random.Random(3)
    single, merged = RunStats(), RunStats()
    workers = [RunStats() for _ in range(3)]
    now = 1_700_000_000.0
    for i in range(6000):
        method, name = rng.choice([("GET", "/api/v1/customers/{id}"), ("POST", "/api/v1/orders")])
        failure = "server_error" if rng.random() < 0.05 else None
        value = rng.lognormvariate(3, 1)
        single.record(method, name, value, failure, "CustomerUser", now + i * 0.001)
        workers[i % 3].record(method, name, value, failure, "CustomerUser", now + i * 0.001)
        if i % 1000 == 999:  # periodic reports travel through msgpack like Locust's
            for worker in workers:
                merged.merge_dict(msgpack.loads(msgpack.dumps(worker.take_delta()), strict_map_key=False))
    for key in single.endpoint_keys():
        a, b = single.endpoint(key), merged.endpoint(key)
        assert (a.count, a.failures, a.failures_by_class) == (b.count, b.failures, b.failures_by_class)
        assert [a.percentile(q) for q in (0.5, 0.95, 0.99)] == [b.percentile(q) for q in (0.5, 0.95, 0.99)]
    assert single.total.count == merged.total.count == 6000
    assert single.user_class("CustomerUser").count == merged.user_class("CustomerUser").count


def test_auth_requests_and_connection_setups_are_kept_apart_from_business_totals():
    stats = RunStats()
    stats.record(AUTH_REQUEST_TYPE, "/realms/bss/protocol/openid-connect/token", 5.0, None, "X", 1.0)
    stats.record(CONNECT_REQUEST_TYPE, "127.0.0.1:8080", 30.0, None, "X", 1.0)
    stats.record("GET", "/actuator/health", 2.0, None, "X", 1.0)
    assert (stats.total.count, stats.total.max_ms) == (1, 2.0)
    assert (stats.checks_passed, stats.checks_failed) == (1, 0)
    assert stats.endpoint("AUTH /realms/bss/protocol/openid-connect/token").count == 1
    assert stats.endpoint("CONNECT 127.0.0.1:8080").count == 1
    assert stats.business_keys() == ["GET /actuator/health"]


def test_unknown_endpoint_is_not_created_by_a_lookup():
    stats = RunStats()
    assert stats.endpoint("GET /nothing") is None
    assert stats.endpoint_keys() == []


def test_history_rows_per_second_and_late_reports_still_count():
    stats = RunStats()
    for second in range(3):
        for _ in range(10):
            stats.record("GET", "/a", 10.0 + second, None, None, 100.0 + second + 0.5)
    stats.close_intervals(before=102)
    rows = [r for r in stats.history if r.name == "/a"]
    assert [(r.timestamp, r.requests) for r in rows] == [(100, 10), (101, 10)]
    late = RunStats()
    late.record("GET", "/a", 50.0, "timeout", None, 100.2)  # belongs to a closed interval
    stats.merge_dict(late.to_dict())
    stats.close_intervals(before=1e12)
    assert sum(r.requests for r in stats.history if r.name == "/a") == 31
    assert stats.total.count == 31


def test_summary_row_fields():
    stats = RunStats()
    for i in range(100):
        stats.record("GET", "/a", float(i + 1), "rate_limited" if i < 5 else None, None, 10.0 + i / 100)
    row = stats.endpoint("GET /a").summary_row(duration_s=2.0)
    assert row["count"] == 100 and row["failures"] == 5 and row["error_rate"] == 0.05
    assert row["p95_ms"] == 95.0 and row["p50_ms"] == 50.0 and row["max_ms"] == 100.0
    assert row["rps"] == 50.0
    assert row["failures_by_class"] == {"rate_limited": 5}


# -- the requests kept for their traces ---------------------------------------------------------


def trace_id(i: int) -> str:
    return f"{i + 1:032x}"


def traced(rng, n, workers=1):
    """n requests over 3 endpoints, spread over ``workers``: (worker, endpoint, ms, trace id, failure class)."""
    for i in range(n):
        failure = rng.choice(("server_error", "timeout")) if rng.random() < 0.05 else None
        yield i % workers, rng.choice(("/a", "/b", "/c")), rng.lognormvariate(3, 1), trace_id(i), failure


def test_slowest_are_the_top_n_slowest_first_with_their_trace():
    stats = RunStats()
    samples = []
    for i, ms in enumerate([5.0, 50.0, 1.0, 700.0, 30.0, 30.0, 2.0, 90.0, 0.5]):
        stats.record("GET", "/x", ms, None, now=1000.0 + i, trace_id=trace_id(i), status=200)
        samples.append((ms, trace_id(i)))
    slowest = stats.endpoint("GET /x").slowest
    assert len(slowest) == SLOWEST_N
    assert [(s.ms, s.trace_id) for s in slowest] == sorted(samples, key=lambda p: -p[0])[:SLOWEST_N]
    assert slowest[0] == TraceSample(trace_id(3), 700.0, 200, None, 1003.0)
    # of equal times, the first one recorded stays ahead
    assert [s.trace_id for s in slowest if s.ms == 30.0] == [trace_id(4), trace_id(5)]


def test_requests_without_a_trace_are_counted_but_not_kept():
    stats = RunStats()
    stats.record("GET", "/x", 900.0, "server_error", now=1.0)
    stats.record("AUTH", "/token", 900.0, None, now=1.0)
    assert stats.endpoint("GET /x").count == 1
    assert stats.endpoint("GET /x").slowest == [] and stats.failure_samples == {}


def test_slowest_and_failure_samples_are_exact_over_worker_deltas():
    rng = random.Random(11)
    one = RunStats()
    workers = [RunStats() for _ in range(3)]
    merged = RunStats()
    everything: dict[str, list[TraceSample]] = {"/a": [], "/b": [], "/c": []}
    failed = []
    for i, (worker, name, ms, tid, failure) in enumerate(traced(rng, 30_000, workers=3)):
        at = 1000.0 + i / 100
        status = 500 if failure == "server_error" else (None if failure else 200)
        for stats in (one, workers[worker]):
            stats.record("GET", name, ms, failure, now=at, trace_id=tid, status=status)
        everything[name].append(TraceSample(tid, ms, status, failure, at))
        if failure:
            failed.append(TraceSample(tid, ms, status, failure, at, f"GET {name}"))
        if i % 997 == 996:  # deltas at odd moments, through msgpack as Locust sends them
            merged.merge_dict(msgpack.loads(msgpack.dumps(workers[worker].take_delta()), strict_map_key=False))
    for worker in workers:
        merged.merge_dict(msgpack.loads(msgpack.dumps(worker.take_delta()), strict_map_key=False))

    for name, samples in everything.items():
        want = sorted(samples, key=lambda s: -s.ms)[:SLOWEST_N]
        assert one.endpoint(f"GET {name}").slowest == want
        assert merged.endpoint(f"GET {name}").slowest == want
    for failure_class in ("server_error", "timeout"):
        want = [s for s in failed if s.failure_class == failure_class][-FAILURE_SAMPLES_N:]
        assert one.failure_samples[failure_class] == want
        assert merged.failure_samples[failure_class] == want
    assert {s.status for s in merged.failure_samples["server_error"]} == {500}


@pytest.mark.slow  # seconds of CPU: outside the --fast loop
def test_kept_samples_are_bounded_whatever_the_number_of_requests():
    rng = random.Random(3)
    stats = RunStats()
    for i in range(50_000):
        # ever slower requests: every one of them enters the slowest list
        stats.record("GET", "/x", float(i), "timeout" if i % 2 else None, now=float(i), trace_id=trace_id(i))
        stats.record("GET", "/y", rng.random(), None, now=float(i), trace_id=trace_id(i))
    assert len(stats.endpoint("GET /x").slowest) == SLOWEST_N
    assert len(stats.endpoint("GET /y").slowest) == SLOWEST_N
    assert [s.ms for s in stats.endpoint("GET /x").slowest] == [49_999.0, 49_998.0, 49_997.0, 49_996.0, 49_995.0]
    assert [len(v) for v in stats.failure_samples.values()] == [FAILURE_SAMPLES_N]
    assert [s.ms for s in stats.failure_samples["timeout"]] == [49_995.0, 49_997.0, 49_999.0]
    # the history's interval aggregates keep none
    assert all(not a.slowest for interval in stats.open_intervals.values() for a in interval.values())


def test_most_requests_cost_one_comparison_once_the_list_is_full():
    stats = RunStats()
    for i in range(SLOWEST_N):
        stats.record("GET", "/x", 100.0 + i, None, now=1.0, trace_id=trace_id(i))
    aggregate = stats.endpoint("GET /x")
    assert aggregate.slowest_floor == 100.0
    kept = list(aggregate.slowest)
    stats.record("GET", "/x", 99.0, None, now=2.0, trace_id=trace_id(99))
    assert aggregate.slowest == kept  # not slower than the floor: not kept, the list untouched
    stats.record("GET", "/x", 100.5, None, now=2.0, trace_id=trace_id(100))
    assert aggregate.slowest_floor == 100.5 and aggregate.slowest[-1].trace_id == trace_id(100)


# -- long runs: history goes to a sink, memory stays flat ------------------------------------------


def test_closed_intervals_go_to_the_sink_in_file_order_with_their_users():
    from bss_loadtest.core.stats import HISTORY_OPEN_INTERVALS_S

    stats, closed = RunStats(), []
    stats.history_sink = closed.append
    for second in range(100, 120):
        stats.record_users(second - 100, now=second)
        stats.record("GET", "/b", 5.0, None, None, second + 0.1)
        stats.record("GET", "/a", 7.0, "timeout", None, second + 0.2)
        stats.close_intervals(before=second - HISTORY_OPEN_INTERVALS_S + 1)
    assert [interval[0].timestamp for interval in closed] == [100, 101, 102, 103, 104]
    assert all([r.name for r in interval] == ["/a", "/b", "Aggregated"] for interval in closed)
    assert [interval[-1].users for interval in closed] == [0, 1, 2, 3, 4]
    assert (closed[0][-1].requests, closed[0][-1].failures) == (2, 1)


def test_the_tail_and_the_user_counts_stay_bounded():
    from bss_loadtest.core.stats import HISTORY_TAIL_ROWS, USERS_AT_MAX

    stats = RunStats()
    stats.history_sink = lambda rows: None
    for second in range(3 * USERS_AT_MAX):
        stats.record_users(second % 50, now=second)
        stats.record("GET", "/a", 5.0, None, None, second)
    stats.close_intervals(before=1e12)
    assert len(stats.history) == HISTORY_TAIL_ROWS
    assert len(stats.users_at) <= USERS_AT_MAX
    assert stats.users_for(3 * USERS_AT_MAX - 1) == (3 * USERS_AT_MAX - 1) % 50  # the newest counts are exact
    assert list(stats.users_at) == sorted(stats.users_at) and min(stats.users_at) == 0  # the whole curve
    assert {b - a for a, b in zip(list(stats.users_at), list(stats.users_at)[1:])} == {stats.users_step}


@pytest.mark.slow  # seconds of CPU: outside the --fast loop
def test_memory_stays_flat_over_a_simulated_day_at_80_endpoints():
    """A day of synthetic time (a request per endpoint every two simulated minutes, users sampled
    every 10 s, intervals closed as the run would): after the first hour, memory grows by less than
    128 KiB an hour (keeping the rows would add about 0.7 MiB an hour here). The latencies repeat
    within the first hour, so the histograms' buckets are all there by then."""
    import tracemalloc

    from bss_loadtest.core.stats import HISTORY_OPEN_INTERVALS_S

    t0 = 1_764_000_000
    endpoints = [("GET" if i % 3 else "POST", f"/api/v1/domain{i % 8}/{{id}}/part{i}") for i in range(80)]
    written = []
    stats = RunStats()
    stats.history_sink = lambda rows: written.append(len(rows))
    tracemalloc.start()
    try:
        at_hour = []
        for hour in range(24):
            for second in range(hour * 3600, (hour + 1) * 3600, 10):
                stats.record_users(100 + second % 7, now=t0 + second)
                if second % 120 == 0:
                    for i, (method, name) in enumerate(endpoints):
                        stats.record(method, name, 5.0 + (i * 7 + second // 120) % 30, None, "U", t0 + second + 0.5)
                    stats.close_intervals(before=t0 + second - HISTORY_OPEN_INTERVALS_S)
            at_hour.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    growth = [(b - a) / 1024 for a, b in zip(at_hour[1:], at_hour[2:], strict=False)]
    assert max(growth) < 128, f"KiB per simulated hour after the first: {[round(g) for g in growth]}"
    assert sum(written) >= 23 * 30 * 81  # every closed interval went to the sink
    assert stats.total.count == 24 * 30 * 80


def test_a_delta_carries_every_k6_number_and_keeps_the_workers_configuration():
    """checks, iterations, drops, scenarios, VU gauges, tag scopes and their per-second intervals
    all travel through msgpack; take_delta() keeps the tracking and the latest gauges."""
    from bss_loadtest.core.stats import Tracking

    tracking = Tracking(scopes=frozenset({"status:503"}), sliced_scopes=frozenset({"method:GET"}), check_scenarios=True)
    worker, master = RunStats(), RunStats()
    worker.configure(tracking)
    now = 1_700_000_000.0
    worker.record("GET", "/x", 12.0, "server_error", "U", now, status=503, checks=(1, 2), scenario="s")
    worker.record("GET", "/x", 8.0, None, "U", now + 1, status=200, scenario="s")
    worker.record_iteration("s", 40.0, now)
    worker.record_dropped("s", 2, now + 1)
    worker.set_vus(3, 5)
    expected = worker.to_dict()
    master.merge_dict(msgpack.loads(msgpack.dumps(worker.take_delta()), strict_map_key=False), source="w1")
    assert master.checks_of() == (2, 2) and master.checks_of("s") == (2, 2)
    assert (master.iterations.count, master.dropped) == (1, 2)
    assert (master.scenarios["s"].iterations.count, master.scenarios["s"].dropped) == (1, 2)
    assert (master.first_iteration_at, master.last_iteration_at) == (now, now + 1)
    assert master.vus_by_source == {"w1": (3, 5)}
    assert master.scope("status:503").count == 1
    assert {s: set(v) for s, v in master.open_scope_intervals.items()} == {int(now): {"method:GET"}, int(now) + 1: {"method:GET"}}
    assert master.to_dict()["scopes"] == expected["scopes"]
    # The worker starts its next delta configured, with its latest gauges and nothing else.
    assert worker.tracking is tracking and worker.vus_by_source == {"local": (3, 5)}
    assert worker.to_dict()["vus"] == [3, 5] and worker.checks_of() == (0, 0) and not worker.scopes


def test_tag_aggregates_cost_nothing_without_tracking():
    stats = RunStats()
    stats.record("GET", "/x", 12.0, None, "U", 1.0, status=200, scenario="s", group="::g", expected=True)
    assert not stats.scopes and not stats.open_scope_intervals and not stats.scenario_checks
    assert stats.checks_of() == (1, 0)
