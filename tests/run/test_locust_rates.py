"""Locust's own per-second counters stay bounded on the master (a day's run keeps a flat memory)."""

from __future__ import annotations

from locust.stats import RequestStats

from bss_loadtest.run.listeners import LOCUST_CHART_POINTS, LOCUST_RATE_WINDOW_S, trim_locust_rates

START = 1_700_000_000


def hour_of_counters() -> RequestStats:
    """Two endpoints, an hour of Locust's per-second counters (3 requests and 1 failure a second)."""
    stats = RequestStats()
    stats.log_request("GET", "/a", 5.0, 10)
    stats.log_request("GET", "/b", 5.0, 10)
    entries = (stats.get("/a", "GET"), stats.get("/b", "GET"), stats.total)
    for entry in entries:
        entry.num_reqs_per_sec.clear()
        for second in range(3600):
            entry.num_reqs_per_sec[START + second] = 3
            entry.num_fail_per_sec[START + second] = 1
    stats.total.last_request_timestamp, stats.total.start_time = START + 3599, START
    return stats


def test_old_seconds_are_dropped_and_the_current_rate_is_kept():
    stats = hour_of_counters()
    before = (stats.total.current_rps, stats.total.current_fail_per_sec)
    trim_locust_rates(stats, START + 3599 - LOCUST_RATE_WINDOW_S)
    for entry in (stats.get("/a", "GET"), stats.get("/b", "GET"), stats.total):
        assert sorted(entry.num_reqs_per_sec) == list(range(START + 3599 - LOCUST_RATE_WINDOW_S, START + 3600))
        assert sorted(entry.num_fail_per_sec) == sorted(entry.num_reqs_per_sec)
    # the rates Locust shows read only its last 12 seconds; the totals are untouched
    assert (stats.total.current_rps, stats.total.current_fail_per_sec) == before == (3.0, 1.0)
    assert stats.get("/a", "GET").num_requests == 1


def test_the_chart_history_keeps_its_last_points():
    stats = RequestStats()
    stats.history.extend({"time": str(i)} for i in range(LOCUST_CHART_POINTS + 500))
    trim_locust_rates(stats, START)
    assert [int(p["time"]) for p in stats.history] == list(range(500, LOCUST_CHART_POINTS + 500))
    trim_locust_rates(stats, START)  # already short enough: untouched
    assert len(stats.history) == LOCUST_CHART_POINTS


def test_endpoints_drop_their_response_time_copies_and_the_total_keeps_its_own():
    stats = RequestStats(use_response_times_cache=True)
    for second in range(30):
        for entry in (stats.get("/a", "GET"), stats.total):
            entry.response_times[10.0 + second] = 1
            entry._cache_response_times(START + second)
    endpoint = stats.get("/a", "GET")
    assert len(endpoint.response_times_cache) == 20 and len(stats.total.response_times_cache) == 20
    trim_locust_rates(stats, START)
    assert endpoint.response_times_cache is None and not endpoint.use_response_times_cache
    assert len(stats.total.response_times_cache) == 20
    # logging goes on without copies for the endpoint; the total's chart still reads its own
    stats.log_request("GET", "/a", 12, 10)
    assert endpoint.response_times_cache is None
    assert stats.total.use_response_times_cache  # its chart's current percentiles still work
    stats.total.get_current_response_time_percentile(0.95)


def test_no_stats_is_nothing_to_do():
    trim_locust_rates(None, 0)
