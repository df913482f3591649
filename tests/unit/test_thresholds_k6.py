"""k6's threshold vocabulary beyond the request metrics, the new tags, and the suite's own windowed
and stage thresholds, evaluated on synthetic RunStats (times chosen by the test)."""

from __future__ import annotations

from types import SimpleNamespace

import msgpack
import pytest

from bss_loadtest.core.plan import StagePlan
from bss_loadtest.core.stats import AUTH_REQUEST_TYPE, RunStats
from bss_loadtest.core.thresholds import (
    Scope,
    Threshold,
    ThresholdError,
    evaluate_all,
    format_table,
    parse_key,
    parse_thresholds,
    scope_problem,
    stage_spans,
    tracking_for,
)

T0 = 1_700_000_000.0
CUSTOMER = ("GET", "/api/v1/customers/{id}")
ORDER = ("POST", "/api/v1/orders")


def one(mapping: dict) -> Threshold:
    (threshold,) = parse_thresholds(mapping)
    return threshold


def configured(thresholds: list[Threshold], stages=()) -> RunStats:
    stats = RunStats()
    stats.configure(tracking_for(thresholds, origin=T0, stages=stages))
    return stats


def finish(stats: RunStats, end: float) -> None:
    stats.ended_at = end
    stats.close_intervals(before=end + 1)


# -- parsing the new forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "metric", "scope"),
    [
        ("checks", "checks", Scope()),
        ("errors", "errors", Scope()),
        ("iterations", "iterations", Scope()),
        ("iteration_duration{scenario:checkout}", "iteration_duration", Scope("scenario", "checkout")),
        ("dropped_iterations", "dropped_iterations", Scope()),
        ("vus", "vus", Scope()),
        ("vus_max", "vus_max", Scope()),
        ("http_req_duration{expected_response:true}", "http_req_duration", Scope("expected_response", "true")),
        ("http_req_duration{expected_response:False}", "http_req_duration", Scope("expected_response", "false")),
        ("http_req_duration{method:get}", "http_req_duration", Scope("method", "GET")),
        ("http_req_failed{status:503}", "http_req_failed", Scope("status", "503")),
        ("http_reqs{status:0}", "http_reqs", Scope("status", "0")),
        ("http_req_duration{scenario:browse}", "http_req_duration", Scope("scenario", "browse")),
        ("http_req_duration{group:::order_to_payment}", "http_req_duration", Scope("group", "::order_to_payment")),
        ("http_req_duration{stage:3}", "http_req_duration", Scope("stage", "3")),
        ("http_req_duration{stage:peak}", "http_req_duration", Scope("stage", "peak")),
        ("http_req_failed{stage:steady}", "http_req_failed", Scope("stage", "steady")),
        ("checks{scenario:browse}", "checks", Scope("scenario", "browse")),
    ],
)
def test_parse_the_k6_keys(key: str, metric: str, scope: Scope) -> None:
    assert parse_key(key) == (metric, scope)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("http_req_waiting", "http_req_waiting cannot be evaluated: the client (geventhttpclient"),
        ("http_req_waiting{name:GET /x}", "use http_req_duration"),
        ("http_req_connecting", "times the whole response, not its phases apart; use http_req_duration"),
        ("data_received", "does not count bytes"),
        ("group_duration", "http_req_duration{group:::<name>}"),
        ("check", "unknown metric 'check' (known: http_req_duration, "),
        ("check", "did you mean 'checks'?"),
        ("iteration_durations", "did you mean 'iteration_duration'?"),
        ("totally_custom", "unknown metric 'totally_custom'"),
        ("vus{scenario:a}", "vus is a gauge of the whole run and takes no tag"),
        ("iterations{method:GET}", "scope {method:...} does not apply to iterations (it takes {scenario:...})"),
        ("checks{name:GET /x}", "request tags apply to http_req_duration, http_req_failed, http_reqs"),
        ("http_req_duration{url:http://x}", "unknown scope tag 'url'"),
        ("http_req_duration{metod:GET}", "did you mean 'method'?"),
        ("http_req_duration{method:FETCH}", "unknown HTTP method 'FETCH'"),
        ("http_req_duration{status:ok}", "status 'ok' must be an HTTP status 100-599, or 0 for no answer"),
        ("http_req_duration{status:700}", "must be an HTTP status 100-599"),
        ("http_req_duration{expected_response:yes}", "must be true or false"),
        ("http_req_duration{group:checkout}", "e.g. http_req_duration{group:::checkout}"),
        ("http_req_duration{method:GET,status:200}", "combines tags; the suite judges one tag per key: "
                                                     "write http_req_duration{method:GET}"),
        ("iteration_duration{failure:auth}", "applies only to http_req_failed"),
    ],
)
def test_forms_the_suite_cannot_judge_are_one_line_naming_the_nearest_form(key: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_key(key)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_endpoint_name_with_a_comma_is_still_one_tag() -> None:
    assert parse_key("http_req_duration{name:GET /api/v1/search?a,b}") == (
        "http_req_duration", Scope("name", "GET /api/v1/search?a,b"))


@pytest.mark.parametrize(
    ("mapping", "path", "message"),
    [
        ({"checks": ["p(95)<1"]}, ("checks", 0), "unknown statistic 'p(95)' for checks (allowed: rate)"),
        ({"vus": ["count<1"]}, ("vus", 0), "allowed: value, min, max"),
        ({"iterations": ["avg>1"]}, ("iterations", 0), "allowed: count, rate"),
        ({"checks": [{"threshold": "rate>0.9", "window": "1m"}]}, ("checks", 0, "window"),
         "window applies to http_req_duration, http_req_failed, http_reqs only; checks is judged over the whole run"),
        ({"http_req_duration": [{"threshold": "p(95)<1", "window": "500ms"}]}, ("http_req_duration", 0, "window"),
         "a window must be at least 1s"),
        ({"http_req_duration": [{"threshold": "p(95)<1", "window": "soon"}]}, ("http_req_duration", 0, "window"),
         "invalid duration"),
        ({"http_req_duration{stage:1}": [{"threshold": "p(95)<1", "window": "1m"}]},
         ("http_req_duration{stage:1}", 0, "window"), "window and a {stage:...} scope do not combine"),
        ({"http_req_waiting": ["p(95)<1"]}, ("http_req_waiting",), "cannot be evaluated"),
    ],
)
def test_errors_carry_their_path(mapping: dict, path: tuple, message: str) -> None:
    with pytest.raises(ThresholdError) as raised:
        parse_thresholds(mapping)
    assert raised.value.path == path
    assert message in raised.value.message


def test_the_window_is_parsed_scaled_and_shown() -> None:
    threshold = one({"http_req_duration": [{"threshold": "p(95)<500", "window": "1m", "abortOnFail": True}]})
    assert threshold.window_s == 60.0 and threshold.abort_on_fail
    assert threshold.describe() == "http_req_duration p(95)<500 (window 1m)"
    assert threshold.scaled(0.1).window_s == pytest.approx(6.0)
    assert threshold.scaled(0.001).window_s == 1.0  # never under the 1-second intervals


# -- checks and errors -------------------------------------------------------------------------


def checks_run(thresholds: list[Threshold] = ()) -> RunStats:
    """10 requests with 3 checks each, one of them failed on 2 requests; 5 requests without
    checks of their own, 1 of them failed; token requests make no checks."""
    stats = configured(list(thresholds))
    for i in range(10):
        stats.record(*CUSTOMER, 10.0, None, "U", now=T0 + i, checks=(2, 1) if i < 2 else (3, 0), scenario="browse")
    for i in range(5):
        stats.record(*ORDER, 10.0, "server_error" if i == 0 else None, "U", now=T0 + i, scenario="buy")
    stats.record(AUTH_REQUEST_TYPE, "/token", 5.0, "auth", None, now=T0)
    stats.ended_at = T0 + 10
    return stats


def test_checks_are_the_client_checks_or_one_per_request() -> None:
    stats = checks_run()
    assert stats.checks_of() == (28 + 4, 2 + 1)
    result = one({"checks": ["rate>0.95"]}).evaluate(stats)
    assert result.observed == pytest.approx(32 / 35) and result.passed is False
    assert result.reason == f"{32 / 35:.4g} ({32 / 35 * 100:.2f}%) is not > 0.95"


def test_errors_is_the_share_of_failed_checks() -> None:
    stats = checks_run()
    errors = one({"errors": ["rate<0.1"]}).evaluate(stats)
    checks = one({"checks": ["rate>0"]}).evaluate(stats)
    assert errors.observed == pytest.approx(3 / 35) and errors.passed
    assert errors.observed == pytest.approx(1 - checks.observed)


def test_checks_per_scenario_when_a_threshold_names_it() -> None:
    thresholds = parse_thresholds({"checks{scenario:browse}": ["rate>0.95"], "errors{scenario:buy}": ["rate<0.1"]})
    stats = checks_run(thresholds)
    browse, buy = evaluate_all(thresholds, stats)
    assert browse.observed == pytest.approx(28 / 30) and not browse.passed
    assert buy.observed == pytest.approx(1 / 5) and not buy.passed
    assert not checks_run().scenario_checks, "kept only when a threshold asks for it"


def test_no_checks_is_no_data() -> None:
    result = one({"checks": ["rate>0.5"]}).evaluate(RunStats())
    assert (result.observed, result.passed, result.reason) == (None, False, "no checks for the run")


# -- iterations, dropped iterations, VUs -------------------------------------------------------


def iterations_run() -> RunStats:
    stats = RunStats()
    for i in range(20):
        stats.record_iteration("browse", 100.0 + i, now=T0 + i * 0.5)
    for i in range(5):
        stats.record_iteration("buy", 2000.0, now=T0 + i)
    stats.record_dropped("buy", 3, now=T0 + 9)
    stats.ended_at = T0 + 10
    return stats


@pytest.mark.parametrize(
    ("mapping", "observed", "passed"),
    [
        ({"iterations": ["count==25"]}, 25.0, True),
        ({"iterations": ["rate>2"]}, 2.5, True),
        ({"iterations{scenario:buy}": ["count>=10"]}, 5.0, False),
        ({"iteration_duration": ["p(95)<1500"]}, 2000.0, False),
        ({"iteration_duration{scenario:browse}": ["max<=119"]}, 119.0, True),
        ({"iteration_duration{scenario:browse}": ["med<111"]}, 110.0, True),
        ({"dropped_iterations": ["count<1"]}, 3.0, False),
        ({"dropped_iterations{scenario:browse}": ["count<1"]}, 0.0, True),
        ({"dropped_iterations": ["rate<0.5"]}, 0.3, True),
    ],
)
def test_iterations(mapping: dict, observed: float, passed: bool) -> None:
    result = one(mapping).evaluate(iterations_run())
    assert result.observed == pytest.approx(observed, rel=0.01)
    assert result.passed is passed


def test_iterations_without_data_fail_and_no_drops_is_zero_once_the_run_did_something() -> None:
    empty = RunStats()
    assert one({"iterations": ["count>0"]}).evaluate(empty).reason == "no iterations for the run"
    assert one({"dropped_iterations": ["count<1"]}).evaluate(empty).passed is False
    assert one({"iteration_duration{scenario:x}": ["p(95)<1"]}).evaluate(iterations_run()).reason == (
        "no iterations for scenario x")
    busy = RunStats()
    busy.record(*CUSTOMER, 5.0, None, "U", now=T0)
    assert one({"dropped_iterations": ["count<1"]}).evaluate(busy).observed == 0.0


def test_vus_sum_over_sources_with_min_and_max_over_time() -> None:
    stats = RunStats()
    stats.set_vus(4, 10, source="w1")
    stats.set_vus(6, 10, source="w2")
    stats.set_vus(1, 12, source="w1")
    assert stats.vus_gauge() == (7, 4, 10)
    assert stats.vus_max_gauge() == (22, 10, 22)
    assert one({"vus": ["value<8"]}).evaluate(stats).observed == 7
    assert one({"vus": ["max<=9"]}).evaluate(stats).passed is False
    assert one({"vus_max": ["min>=10"]}).evaluate(stats).passed is True


def test_vus_come_from_the_sampled_users_without_an_executor_engine() -> None:
    stats = RunStats()
    assert one({"vus": ["value>0"]}).evaluate(stats).reason == "no VU count sampled yet"
    for second, users in enumerate((2, 8, 5)):
        stats.record_users(users, now=T0 + second)
    assert stats.vus_gauge() == (5, 2, 8)
    assert stats.vus_max_gauge() == (8, 2, 8)
    assert one({"vus": ["max>=8"]}).evaluate(stats).passed
    stats.set_vus(3, 4)  # an engine's gauges take over
    assert stats.vus_gauge() == (3, 3, 3)


def test_worker_gauges_ride_in_every_delta_and_count_per_worker_on_the_master() -> None:
    master, w1, w2 = RunStats(), RunStats(), RunStats()
    w1.set_vus(5, 8)
    w2.set_vus(2, 8)
    for _ in range(2):  # a second delta without a new set_vus still carries the gauges
        master.merge_dict(msgpack.loads(msgpack.dumps(w1.take_delta()), strict_map_key=False), source="w1")
        master.merge_dict(msgpack.loads(msgpack.dumps(w2.take_delta()), strict_map_key=False), source="w2")
    assert master.vus_gauge()[0] == 7 and master.vus_max_gauge()[0] == 16
    w1.set_vus(0, 8)
    master.merge_dict(w1.take_delta(), source="w1")
    assert master.vus_gauge() == (2, 2, 7)


def test_iterations_and_checks_merge_exactly_over_workers() -> None:
    single, master = RunStats(), RunStats()
    workers = [RunStats(), RunStats()]
    for i in range(40):
        for target in (single, workers[i % 2]):
            target.record_iteration("s" if i % 3 else "t", float(i), now=T0 + i)
            target.record(*CUSTOMER, 1.0, None if i % 4 else "timeout", "U", now=T0 + i, checks=(i % 3, 1))
            if i % 5 == 0:
                target.record_dropped("t", now=T0 + i)
        if i % 10 == 9:
            for worker in workers:
                master.merge_dict(msgpack.loads(msgpack.dumps(worker.take_delta()), strict_map_key=False))
    assert master.checks_of() == single.checks_of()
    assert (master.iterations.count, master.dropped) == (single.iterations.count, single.dropped) == (40, 8)
    assert {k: (v.iterations.count, v.dropped) for k, v in master.scenarios.items()} == {
        k: (v.iterations.count, v.dropped) for k, v in single.scenarios.items()}
    assert master.iterations.percentile(0.95) == single.iterations.percentile(0.95)


# -- request tags ------------------------------------------------------------------------------


def tagged_run(thresholds: list[Threshold]) -> RunStats:
    stats = configured(thresholds)
    for i in range(100):
        expected = i % 10 != 0
        stats.record(*CUSTOMER, 20.0 if expected else 900.0, None if expected else "client_error", "U",
                     now=T0 + i * 0.1, status=200 if expected else 404, expected=expected,
                     scenario="browse", group="::order_to_payment" if i % 2 == 0 else None)
    for i in range(20):
        stats.record(*ORDER, 300.0, "timeout" if i < 4 else None, "U", now=T0 + i * 0.5,
                     status=None if i < 4 else 201)
    stats.ended_at = T0 + 10
    return stats


@pytest.mark.parametrize(
    ("key", "expression", "observed"),
    [
        ("http_req_duration{expected_response:true}", "max<=300", 300.0),  # GETs of 20 ms, POSTs of 300
        ("http_req_duration{expected_response:false}", "min>=300", 300.0),  # 404s of 900 ms, timeouts
        ("http_req_duration{method:POST}", "avg<400", 300.0),
        ("http_reqs{method:GET}", "count==100", 100.0),
        ("http_req_failed{status:404}", "rate==1", 1.0),
        ("http_reqs{status:0}", "count==4", 4.0),
        ("http_reqs{status:201}", "count==16", 16.0),
        ("http_reqs{scenario:browse}", "count==100", 100.0),
        ("http_reqs{scenario:default}", "count==20", 20.0),
        ("http_req_duration{group:::order_to_payment}", "p(100)<=900", 900.0),
        ("http_reqs{group:::order_to_payment}", "count==50", 50.0),
    ],
)
def test_request_tags(key: str, expression: str, observed: float) -> None:
    thresholds = parse_thresholds({key: [expression]})
    (result,) = evaluate_all(thresholds, tagged_run(thresholds))
    assert result.observed == pytest.approx(observed)
    assert result.passed, result.reason


def test_only_the_tag_scopes_named_are_kept() -> None:
    thresholds = parse_thresholds({"http_req_duration{method:POST}": ["p(95)<1"]})
    stats = tagged_run(thresholds)
    assert set(stats.scopes) == {"method:POST"}
    assert not tagged_run([]).scopes
    unknown = one({"http_req_duration{status:500}": ["p(95)<1"]})
    assert unknown.evaluate(stats).reason == "no requests for {status:500}"


def test_a_count_on_a_tag_value_no_request_had_is_zero() -> None:
    thresholds = parse_thresholds({
        "http_req_failed{status:503}": ["count<1"], "http_reqs{expected_response:false}": ["count<1", "rate<1"],
        "http_req_failed{method:DELETE}": ["rate<0.1"], "http_req_duration{status:503}": ["p(95)<1"],
    })
    stats = configured(thresholds)
    steady_run(stats, 5, slow=range(0))
    stats.ended_at = T0 + 5
    count_503, unexpected, unexpected_rate, delete_rate, duration_503 = evaluate_all(thresholds, stats)
    assert (count_503.observed, count_503.passed) == (0.0, True)
    assert (unexpected.observed, unexpected_rate.observed) == (0.0, 0.0) and unexpected.passed
    assert delete_rate.reason == "no requests for {method:DELETE}", "a rate of no requests is no data"
    assert duration_503.reason == "no requests for {status:503}"
    assert evaluate_all(thresholds[:1], RunStats())[0].passed is False, "a run without requests has no data"
    untracked = RunStats()
    steady_run(untracked, 5, slow=range(0))
    assert thresholds[0].evaluate(untracked).observed is None, "not kept: not known to be 0"


def test_tag_scopes_travel_in_deltas_and_the_configuration_survives_take_delta() -> None:
    thresholds = parse_thresholds({"http_req_failed{expected_response:false}": ["count<1"]})
    tracking = tracking_for(thresholds, origin=T0)
    worker, master = RunStats(), RunStats()
    worker.configure(tracking)
    master.configure(tracking)
    for round_ in range(3):
        for i in range(10):
            worker.record(*CUSTOMER, 5.0, "server_error" if i < 2 else None, "U", now=T0 + round_, status=500 if i < 2 else 200)
        master.merge_dict(msgpack.loads(msgpack.dumps(worker.take_delta()), strict_map_key=False))
        assert worker.tracking is tracking
    assert master.scope("expected_response:false").count == 6
    assert thresholds[0].evaluate(master).observed == 6.0


# -- windowed thresholds ------------------------------------------------------------------------


def steady_run(stats: RunStats, seconds: int, slow: range, *, per_second: int = 10, slow_ms: float = 400.0) -> None:
    """``per_second`` requests of 10 ms in every second from T0, of ``slow_ms`` in the ``slow`` seconds."""
    for second in range(seconds):
        for i in range(per_second):
            stats.record(*CUSTOMER, slow_ms if second in slow else 10.0, None, "U", now=T0 + second + i / per_second)


def test_a_window_fails_where_the_whole_run_passes() -> None:
    thresholds = parse_thresholds({"http_req_duration": ["p(95)<300", {"threshold": "p(95)<300", "window": "10s"}]})
    stats = configured(thresholds)
    steady_run(stats, 120, slow=range(60, 65))  # 5 of 120 s slow: 4 % of the requests
    finish(stats, T0 + 120)
    whole, windowed = evaluate_all(thresholds, stats)
    assert whole.passed and whole.observed == pytest.approx(10.0)
    assert windowed.passed is False
    assert windowed.observed == pytest.approx(400.0)
    assert (windowed.window_s, windowed.window_start_s) == (10.0, 60.0)
    assert windowed.reason == "400 ms is not < 300 in the window at 1m–1m10s"
    assert windowed.to_dict()["window_start_s"] == 60.0 and windowed.to_dict()["window_s"] == 10.0
    assert "window_s" not in whole.to_dict()
    assert "[window 10s]" in format_table([windowed])


def test_windows_are_judged_live_once_closed_and_abort_on_a_closed_one() -> None:
    threshold = one({"http_req_duration": [{"threshold": "p(95)<300", "window": "10s", "abortOnFail": True}]})
    stats = configured([threshold])
    steady_run(stats, 120, slow=range(60, 65))
    assert threshold.evaluate(stats).reason == "no complete window yet"
    assert threshold.should_abort(stats, elapsed_s=120) is False
    stats.close_intervals(before=T0 + 60)
    assert threshold.evaluate(stats).passed and threshold.should_abort(stats, elapsed_s=60) is False
    stats.close_intervals(before=T0 + 70)
    assert threshold.should_abort(stats, elapsed_s=70) is True


@pytest.mark.parametrize(("end", "passed"), [(62, True), (80, False)])
def test_a_short_last_window_gives_no_verdict_a_long_one_does(end: int, passed: bool) -> None:
    """Windows of 30 s; the last 2 s of the run are slow. Cut after 62 s, that 2-second tail is under
    half a window and is not judged; cut after 80 s, the last window lasted 20 s and is."""
    threshold = one({"http_req_duration": [{"threshold": "p(95)<300", "window": "30s"}]})
    stats = configured([threshold])
    steady_run(stats, end, slow=range(end - 2, end) if end == 62 else range(60, 62))
    finish(stats, T0 + end)
    result = threshold.evaluate(stats)
    assert result.passed is passed, result.reason
    whole = one({"http_req_duration": ["p(95)<300"]}).evaluate(stats)
    assert whole.passed


def test_the_load_ends_with_its_last_request_not_with_the_flush_after_it() -> None:
    """A run whose results are written 4 s after its last request (cleanup, workers' flush): the
    last window is as long as the load lasted, here 1 s of 10, and gives no verdict on the rate."""
    threshold = one({"http_reqs": [{"threshold": "rate>5", "window": "10s"}]})
    stats = configured([threshold])
    steady_run(stats, 21, slow=range(0))
    finish(stats, T0 + 25)
    result = threshold.evaluate(stats)
    assert result.passed and result.observed == pytest.approx(10.0)


def test_a_run_shorter_than_half_a_window_is_still_judged() -> None:
    threshold = one({"http_req_duration": [{"threshold": "p(95)<300", "window": "1m"}]})
    stats = configured([threshold])
    steady_run(stats, 10, slow=range(0, 10))
    finish(stats, T0 + 10)
    assert threshold.evaluate(stats).observed == pytest.approx(400.0)


def test_a_window_without_requests_has_a_rate_of_zero() -> None:
    thresholds = parse_thresholds({"http_reqs": ["rate>5", {"threshold": "rate>5", "window": "20s"}],
                                   "http_req_duration": [{"threshold": "max<100", "window": "20s"}]})
    stats = configured(thresholds)
    for second in (*range(0, 60), *range(80, 120)):
        for i in range(10):
            stats.record(*CUSTOMER, 10.0, None, "U", now=T0 + second + i / 10)
    finish(stats, T0 + 120)
    whole, windowed, duration = evaluate_all(thresholds, stats)
    assert whole.passed and whole.observed == pytest.approx(1000 / 120, rel=0.01)
    assert not windowed.passed and windowed.observed == 0.0 and windowed.window_start_s == 60.0
    assert duration.passed, "a window without requests has no response time to judge"


def test_windowed_failures_and_tag_scopes() -> None:
    thresholds = parse_thresholds({
        "http_req_failed{method:POST}": ["rate<0.1", {"threshold": "rate<0.1", "window": "10s"}],
        "http_req_failed{name:POST /api/v1/orders}": [{"threshold": "count<5", "window": "10s"}],
    })
    stats = configured(thresholds)
    for second in range(60):
        for i in range(10):
            failed = 30 <= second < 33 and i < 5
            stats.record(*ORDER, 10.0, "server_error" if failed else None, "U", now=T0 + second + i / 10)
            stats.record(*CUSTOMER, 10.0, "server_error", "U", now=T0 + second + i / 10)  # GETs: not in scope
    finish(stats, T0 + 60)
    whole, windowed, by_name = evaluate_all(thresholds, stats)
    assert whole.passed and whole.observed == pytest.approx(15 / 600)
    assert not windowed.passed and windowed.observed == pytest.approx(15 / 100) and windowed.window_start_s == 30.0
    assert not by_name.passed and by_name.observed == 15.0


def test_windows_are_exact_on_the_master_from_worker_deltas() -> None:
    thresholds = parse_thresholds({"http_req_duration{method:GET}": [{"threshold": "p(95)<300", "window": "10s"}]})
    tracking = tracking_for(thresholds, origin=T0)
    single, master = RunStats(), RunStats()
    workers = [RunStats(), RunStats(), RunStats()]
    for target in (single, master, *workers):
        target.configure(tracking)
    for second in range(60):
        for i in range(9):
            ms = 400.0 if 20 <= second < 26 and i < 5 else 10.0
            for target in (single, workers[i % 3]):
                target.record(*CUSTOMER, ms, None, "U", now=T0 + second + i / 9)
        if second % 5 == 4:
            for worker in workers:
                master.merge_dict(msgpack.loads(msgpack.dumps(worker.take_delta()), strict_map_key=False))
            master.close_intervals(before=T0 + second - 2)
    finish(single, T0 + 60)
    finish(master, T0 + 60)
    ours, theirs = thresholds[0].evaluate(master), thresholds[0].evaluate(single)
    assert ours == theirs
    assert ours.passed is False and ours.window_start_s == 20.0


def test_window_memory_does_not_grow_with_the_run() -> None:
    threshold = one({"http_req_duration": [{"threshold": "p(95)<300", "window": "2s"}]})
    stats = configured([threshold])
    for second in range(3000):
        stats.record(*CUSTOMER, 10.0 + second % 7, None, "U", now=T0 + second)
        if second % 20 == 0:
            stats.close_intervals(before=T0 + second - 15)
    state = stats.slices[threshold]
    assert len(state.open) <= 12 and state.judged > 1400
    assert not stats.open_scope_intervals


# -- stage scopes --------------------------------------------------------------------------------


STAGES = [
    SimpleNamespace(duration=30, target=10, spawn_rate=None, name="ramp"),
    SimpleNamespace(duration=60, target=10, spawn_rate=None, name=None),       # stage 1: steady at 10
    SimpleNamespace(duration=30, target=20, spawn_rate=None, name=None),
    SimpleNamespace(duration=60, target=20, spawn_rate=None, name="peak"),     # stage 3: steady at 20
    SimpleNamespace(duration=30, target=0, spawn_rate=None, name="down"),
]


def spans():
    return stage_spans(StagePlan(STAGES), SimpleNamespace(stages=STAGES))


def stage_run(thresholds: list[Threshold], slow: range = range(130, 138)) -> RunStats:
    """210 s at 10 requests/s of 10 ms, 400 ms in the ``slow`` seconds (inside the peak stage)."""
    stats = configured(thresholds, stages=spans())
    steady_run(stats, 210, slow=slow)
    finish(stats, T0 + 210)
    return stats


def test_stage_spans_carry_names_and_which_stages_are_steady() -> None:
    got = [(s.index, s.start_s, s.end_s, s.steady, s.name) for s in spans()]
    assert got == [(0, 0, 30, False, "ramp"), (1, 30, 90, True, None), (2, 90, 120, False, None),
                   (3, 120, 180, True, "peak"), (4, 180, 210, False, "down")]


@pytest.mark.parametrize(
    ("key", "passed", "stage"),
    [
        ("http_req_duration{stage:1}", True, 1),
        ("http_req_duration{stage:3}", False, 3),
        ("http_req_duration{stage:peak}", False, 3),
        ("http_req_duration{stage:steady}", False, 3),
        ("http_req_duration{stage:ramp}", True, 0),
    ],
)
def test_a_stage_fails_where_the_whole_run_passes(key: str, passed: bool, stage: int) -> None:
    thresholds = parse_thresholds({"http_req_duration": ["p(95)<300"], key: ["p(95)<300"]})
    whole, staged = evaluate_all(thresholds, stage_run(thresholds))
    assert whole.passed, "8 slow seconds of 210 stay under the whole run's p95"
    assert staged.passed is passed, staged.reason
    assert staged.stage == stage and staged.to_dict()["stage"] == stage
    if not passed:
        assert staged.observed == pytest.approx(400.0)
        assert staged.reason == "400 ms is not < 300 in stage 3 (peak)"


def test_steady_shows_the_worst_steady_stage() -> None:
    threshold = one({"http_req_failed{stage:steady}": ["rate<0.05"]})
    stats = configured([threshold], stages=spans())
    for second in range(210):
        for i in range(10):
            failed = (40 <= second < 44 and i < 5) or (150 <= second < 160 and i < 1)
            stats.record(*CUSTOMER, 10.0, "server_error" if failed else None, "U", now=T0 + second + i / 10)
    finish(stats, T0 + 210)
    result = threshold.evaluate(stats)
    assert result.stage == 1 and result.observed == pytest.approx(20 / 600)  # stage 3: 10 / 600
    assert result.passed


def test_a_stage_not_reached_has_no_requests() -> None:
    threshold = one({"http_req_duration{stage:4}": ["p(95)<300"]})
    stats = configured([threshold], stages=spans())
    steady_run(stats, 100, slow=range(0))
    finish(stats, T0 + 100)
    result = threshold.evaluate(stats)
    assert (result.passed, result.observed, result.reason) == (False, None, "no requests in stage 4")


def test_stage_and_window_thresholds_without_their_plan_say_so() -> None:
    stats = RunStats()
    steady_run(stats, 5, slow=range(0))
    stats.ended_at = T0 + 5
    staged = one({"http_req_duration{stage:1}": ["p(95)<300"]}).evaluate(stats)
    assert staged.reason == "cannot judge per stage: no profile stages to read (manual mode, or a profile of scenarios)"
    windowed = one({"http_req_duration": [{"threshold": "p(95)<300", "window": "1m"}]}).evaluate(stats)
    assert windowed.reason == "cannot judge per window: the run's start is unknown"


# -- profile checks (what profiles.py calls) -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("http_req_duration{stage:4}", None),
        ("http_req_duration{stage:5}", "no stage 5: this profile has 5 stage(s), {stage:0} to {stage:4} (0-based"),
        ("http_req_duration{stage:peak}", None),
        ("http_req_duration{stage:paek}", "no stage named 'paek' (use {stage:N}, 0 to 4, or {stage:steady}; "
                                          "named stages: ramp, peak, down)"),
        ("http_req_duration{stage:steady}", None),
        ("http_req_duration{scenario:browse}", None),
        ("checks{scenario:brwse}", "unknown scenario 'brwse' (this profile's: browse, buy); did you mean 'browse'?"),
        ("http_req_duration", None),
    ],
)
def test_scope_problem(key: str, problem: str | None) -> None:
    found = scope_problem(one({key: ["p(95)<1" if "duration" in key else "rate>0"]}),
                          [s.name for s in STAGES], ["browse", "buy"], [s.target for s in STAGES])
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


def test_scope_problem_without_scenarios_or_steady_stages() -> None:
    assert scope_problem(one({"iterations{scenario:default}": ["count>0"]}), [None], []) is None
    assert "this profile's: default" in scope_problem(one({"iterations{scenario:x}": ["count>0"]}), [None], [])
    ramp_only = scope_problem(one({"http_req_duration{stage:steady}": ["p(95)<1"]}), [None, None], [], [5, 10])
    assert ramp_only.startswith("no steady stage")
    no_stages = scope_problem(one({"http_req_duration{stage:0}": ["p(95)<1"]}), [], ["a"])
    assert no_stages.startswith("this profile has no stages")


# -- abortOnFail on every metric -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "crossed", "held"),
    [
        ("checks", "rate>0.95", "rate>0.5"),
        ("errors", "rate<0.05", "rate<0.5"),
        ("iterations", "count>100", "count>10"),
        ("iteration_duration", "p(95)<100", "p(95)<5000"),
        ("dropped_iterations", "count<1", "count<10"),
        ("vus", "max<3", "max<30"),
        ("http_req_duration{method:GET}", "max<5", "max<50"),
    ],
)
def test_abort_on_fail_and_delay_abort_eval_work_for_every_metric(key: str, crossed: str, held: str) -> None:
    thresholds = parse_thresholds({key: [{"threshold": crossed, "abortOnFail": True, "delayAbortEval": "30s"},
                                         {"threshold": held, "abortOnFail": True}]})
    stats = checks_run(thresholds)
    for i in range(20):
        stats.record_iteration("browse", 100.0 * (i + 1), now=T0 + i * 0.5)
    stats.record_dropped("browse", 2, now=T0 + 5)
    stats.set_vus(4, 10)
    abort, keep = thresholds
    assert abort.should_abort(stats, elapsed_s=10) is False  # crossed, but before delayAbortEval
    assert abort.should_abort(stats, elapsed_s=30) is True
    assert keep.should_abort(stats, elapsed_s=30) is False
