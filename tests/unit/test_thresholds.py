"""Thresholds: k6 syntax as written, evaluation on RunStats by scope, abortOnFail, the table."""

from __future__ import annotations

import pytest

from bss_loadtest.core.stats import AUTH_REQUEST_TYPE, RunStats
from bss_loadtest.core.thresholds import (
    Scope,
    Threshold,
    ThresholdError,
    evaluate_all,
    format_table,
    parse_expression,
    parse_key,
    parse_thresholds,
)

CUSTOMER = "GET /api/v1/customers/{id}"
T0 = 1_700_000_000.0


def one(mapping: dict) -> Threshold:
    (threshold,) = parse_thresholds(mapping)
    return threshold


@pytest.fixture
def stats() -> RunStats:
    """100 customer reads of 1..100 ms (2 failing: 1 rate-limited, 1 server error) by CustomerUser,
    10 order creations of 300 ms by OrderUser, all failing as timeouts, over 10 seconds."""
    run = RunStats()
    for i in range(100):
        failure = {10: "rate_limited", 20: "server_error"}.get(i)
        run.record("GET", "/api/v1/customers/{id}", float(i + 1), failure, "CustomerUser", now=T0 + i * 0.1)
    for i in range(10):
        run.record("POST", "/api/v1/orders", 300.0, "timeout", "OrderUser", now=T0 + i)
    run.record(AUTH_REQUEST_TYPE, "/oauth2/token", 5000.0, "auth", None, now=T0)  # never counted
    run.ended_at = T0 + 10.0
    return run


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "metric", "scope"),
    [
        ("http_req_duration", "http_req_duration", Scope()),
        ("http_req_duration{name:GET /api/v1/customers/{id}}", "http_req_duration", Scope("name", CUSTOMER)),
        (
            "http_req_duration{name:GET /api/v1/invoices/by-customer/{customerId}}",
            "http_req_duration",
            Scope("name", "GET /api/v1/invoices/by-customer/{customerId}"),
        ),
        ("http_req_failed{user_class:CustomerUser}", "http_req_failed", Scope("user_class", "CustomerUser")),
        ("http_req_failed{failure:rate_limited}", "http_req_failed", Scope("failure", "rate_limited")),
        (" http_reqs ", "http_reqs", Scope()),
    ],
)
def test_parse_key(key: str, metric: str, scope: Scope) -> None:
    assert parse_key(key) == (metric, scope)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("http_req_duraton", "unknown metric 'http_req_duraton' (known: http_req_duration, http_req_failed, http_reqs, "),
        ("http_req_duraton", "; did you mean 'http_req_duration'?"),
        ("http_req_duration{methd:GET}", "unknown scope tag 'methd' (known: name, user_class, failure, method, "),
        ("http_req_duration{name}", "malformed scope {name}"),
        ("http_req_duration{name:GET /x", "malformed scope in"),
        ("http_req_duration{name:/api/v1/customers}", "must be 'METHOD /path'"),
        ("http_req_failed{failure:slow}", "unknown failure class 'slow' (known: auth, rate_limited, "),
        ("http_req_duration{failure:auth}", "applies only to http_req_failed"),
    ],
)
def test_parse_key_rejects(key: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_key(key)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("metric", "expression", "parsed"),
    [
        ("http_req_duration", "p(95)<500", ("p", 95.0, "<", 500.0)),
        ("http_req_duration", "p(99.9) <= 1500", ("p", 99.9, "<=", 1500.0)),
        ("http_req_duration", " avg < 200 ", ("avg", None, "<", 200.0)),
        ("http_req_duration", "med>=1", ("med", None, ">=", 1.0)),
        ("http_req_duration", "min>0.5", ("min", None, ">", 0.5)),
        ("http_req_duration", "max!=1e4", ("max", None, "!=", 10000.0)),
        ("http_req_failed", "rate<0.01", ("rate", None, "<", 0.01)),
        ("http_req_failed", "count==0", ("count", None, "==", 0.0)),
        ("http_reqs", "rate>10", ("rate", None, ">", 10.0)),
        ("http_reqs", "rps>10", ("rate", None, ">", 10.0)),
        ("http_reqs", "count>=100", ("count", None, ">=", 100.0)),
    ],
)
def test_parse_expression(metric: str, expression: str, parsed: tuple) -> None:
    assert parse_expression(metric, expression) == parsed


@pytest.mark.parametrize(
    ("metric", "expression", "message"),
    [
        ("http_req_duration", "p(95)", "malformed threshold expression 'p(95)'"),
        ("http_req_duration", "p(95)<", "malformed threshold expression"),
        ("http_req_duration", "p(95)=<500", "malformed threshold expression"),
        ("http_req_duration", "p(95)<500ms", "'500ms' is not a number"),
        ("http_req_duration", "p(101)<500", "p(N) needs N between 0 and 100"),
        ("http_req_duration", "p(x)<500", "p(N) needs N between 0 and 100"),
        ("http_req_duration", "p95<500", "unknown statistic 'p95' for http_req_duration (allowed: avg, min, med, max, p(N))"),
        ("http_req_duration", "rate<0.1", "unknown statistic 'rate' for http_req_duration"),
        ("http_req_failed", "p(95)<0.1", "unknown statistic 'p(95)' for http_req_failed (allowed: rate, count)"),
        ("http_reqs", "avg>1", "unknown statistic 'avg' for http_reqs (allowed: count, rate, rps)"),
    ],
)
def test_parse_expression_rejects(metric: str, expression: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_expression(metric, expression)
    assert message in str(raised.value)


def test_parse_thresholds_all_forms() -> None:
    parsed = parse_thresholds(
        {
            "http_req_duration": ["p(95)<500", {"threshold": "p(99)<1500", "abortOnFail": True, "delayAbortEval": "1m"}],
            "http_req_failed{failure:rate_limited}": "rate<0.01",  # a lone expression is accepted too
            "http_reqs": [{"threshold": "count>0"}],
        }
    )
    assert [(t.key, t.expression, t.abort_on_fail, t.delay_abort_eval_s) for t in parsed] == [
        ("http_req_duration", "p(95)<500", False, 0.0),
        ("http_req_duration", "p(99)<1500", True, 60.0),
        ("http_req_failed{failure:rate_limited}", "rate<0.01", False, 0.0),
        ("http_reqs", "count>0", False, 0.0),
    ]
    assert parsed[1].describe() == "http_req_duration p(99)<1500"
    assert parse_thresholds({}) == [] and parse_thresholds(None) == []


@pytest.mark.parametrize(
    ("mapping", "path", "message"),
    [
        ({"http_req_duration": ["p(95)<500", "p(95)"]}, ("http_req_duration", 1), "malformed"),
        ({"http_req_duration": []}, ("http_req_duration",), "must be a non-empty list"),
        ({"http_req_duration": [42]}, ("http_req_duration", 0), "must be a string"),
        ({"http_req_duration": [{"abortOnFail": True}]}, ("http_req_duration", 0, "threshold"), "required key is missing"),
        ({"http_req_duration": [{"threshold": "p(95)<1", "abortOnFail": "yes"}]}, ("http_req_duration", 0, "abortOnFail"), "true or false"),
        ({"http_req_duration": [{"threshold": "p(95)<1", "delay": "1m"}]}, ("http_req_duration", 0, "delay"), "unknown key"),
        (
            {"http_req_duration": [{"threshold": "p(95)<1", "delayAbortEval": "x"}]},
            ("http_req_duration", 0, "delayAbortEval"),
            "invalid duration",
        ),
        ({"http_req_duration": [{"threshold": "mean<1"}]}, ("http_req_duration", 0, "threshold"), "unknown statistic"),
        ({"bogus": ["p(95)<1"]}, ("bogus",), "unknown metric"),
    ],
)
def test_parse_thresholds_errors_carry_their_path(mapping: dict, path: tuple, message: str) -> None:
    with pytest.raises(ThresholdError) as raised:
        parse_thresholds(mapping)
    assert raised.value.path == path
    assert message in raised.value.message
    assert isinstance(raised.value, ValueError)


def test_parse_thresholds_can_collect_every_error() -> None:
    errors: list[ThresholdError] = []
    parsed = parse_thresholds({"http_req_duration": ["p(95)<1", "x", "y"], "nope": ["a"]}, errors=errors)
    assert len(parsed) == 1
    assert [e.path for e in errors] == [("http_req_duration", 1), ("http_req_duration", 2), ("nope",)]


# -- evaluation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "observed", "passed"),
    [
        ({"http_req_duration": ["max<1000"]}, 300.0, True),
        ({"http_req_duration": ["min>=1"]}, 1.0, True),
        ({"http_req_duration": ["p(100)<=300"]}, 300.0, True),
        ({"http_req_duration{name:GET /api/v1/customers/{id}}": ["p(95)<90"]}, 95.0, False),
        ({"http_req_duration{name:GET /api/v1/customers/{id}}": ["med<60"]}, 50.0, True),
        ({"http_req_duration{name:GET /api/v1/customers/{id}}": ["avg<=50.5"]}, 50.5, True),
        ({"http_req_duration{user_class:OrderUser}": ["avg<200"]}, 300.0, False),
        ({"http_req_failed": ["rate<0.2"]}, 12 / 110, True),
        ({"http_req_failed": ["count<10"]}, 12.0, False),
        ({"http_req_failed{user_class:CustomerUser}": ["rate<0.05"]}, 0.02, True),
        ({"http_req_failed{name:POST /api/v1/orders}": ["rate==1"]}, 1.0, True),
        ({"http_req_failed{failure:rate_limited}": ["rate<0.01"]}, 1 / 110, True),
        ({"http_req_failed{failure:timeout}": ["count<5"]}, 10.0, False),
        ({"http_req_failed{failure:auth}": ["count==0"]}, 0.0, True),  # token requests excluded
        ({"http_reqs": ["count>=110"]}, 110.0, True),
        ({"http_reqs": ["rate>5"]}, 11.0, True),
        ({"http_reqs{user_class:OrderUser}": ["rps>=2"]}, 1.0, False),
    ],
)
def test_evaluate(stats: RunStats, mapping: dict, observed: float, passed: bool) -> None:
    result = one(mapping).evaluate(stats)
    assert result.observed == pytest.approx(observed, rel=0.05)  # histogram buckets: ~2 significant digits
    assert result.passed is passed
    assert (result.reason is None) is passed


def test_a_failing_result_says_why(stats: RunStats) -> None:
    result = one({"http_req_duration{user_class:OrderUser}": ["avg<200"]}).evaluate(stats)
    assert result.reason == "300 ms is not < 200"
    assert result.scope == "user_class:OrderUser" and result.metric == "http_req_duration"
    rate = one({"http_req_failed": ["rate<0.05"]}).evaluate(stats)
    assert rate.reason == "0.1091 (10.91%) is not < 0.05"


def test_rate_uses_elapsed_time_when_given(stats: RunStats) -> None:
    assert one({"http_reqs": ["rate>0"]}).evaluate(stats, elapsed_s=55).observed == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("http_req_duration{name:GET /api/v1/payments/{id}}", "no requests for GET /api/v1/payments/{id}"),
        ("http_req_failed{name:GET /api/v1/payments/{id}}", "no requests for GET /api/v1/payments/{id}"),
        ("http_reqs{user_class:InvoiceUser}", "no requests for user class InvoiceUser"),
    ],
)
def test_a_scope_without_requests_fails_and_never_passes_as_zero(stats: RunStats, key: str, reason: str) -> None:
    expression = "count<1" if "failed" in key or "reqs" in key else "p(95)<500"
    result = one({key: [expression]}).evaluate(stats)
    assert result.passed is False
    assert result.observed is None
    assert result.reason == reason


def test_an_empty_run_fails_every_threshold() -> None:
    results = evaluate_all(parse_thresholds({"http_req_duration": ["p(95)<500"], "http_req_failed": ["rate<0.01"]}), RunStats())
    assert [(r.passed, r.reason) for r in results] == [(False, "no requests for the run")] * 2


def test_evaluate_all_keeps_declaration_order(stats: RunStats) -> None:
    thresholds = parse_thresholds({"http_req_failed": ["rate<0.5"], "http_req_duration": ["p(95)<1", "p(95)<1000"]})
    results = evaluate_all(thresholds, stats)
    assert [(r.metric, r.expression, r.passed) for r in results] == [
        ("http_req_failed", "rate<0.5", True),
        ("http_req_duration", "p(95)<1", False),
        ("http_req_duration", "p(95)<1000", True),
    ]
    assert results[0].to_dict() == {
        "metric": "http_req_failed",
        "expression": "rate<0.5",
        "scope": None,
        "observed": pytest.approx(12 / 110),
        "passed": True,
        "reason": None,
        "abort_on_fail": False,
    }


# -- abortOnFail -----------------------------------------------------------------------------


def test_abort_on_fail_waits_for_delay_abort_eval(stats: RunStats) -> None:
    threshold = one({"http_req_failed": [{"threshold": "rate<0.05", "abortOnFail": True, "delayAbortEval": "30s"}]})
    assert threshold.should_abort(stats, elapsed_s=10) is False  # crossed, but too early
    assert threshold.should_abort(stats, elapsed_s=30) is True
    assert threshold.evaluate(stats).abort_on_fail is True


def test_abort_on_fail_only_when_crossed(stats: RunStats) -> None:
    threshold = one({"http_req_failed": [{"threshold": "rate<0.5", "abortOnFail": True}]})
    assert threshold.should_abort(stats, elapsed_s=100) is False


def test_without_abort_on_fail_never_aborts(stats: RunStats) -> None:
    assert one({"http_req_failed": ["rate<0.01"]}).should_abort(stats, elapsed_s=1000) is False


def test_no_data_yet_does_not_abort(stats: RunStats) -> None:
    threshold = one({"http_req_duration{name:GET /api/v1/payments/{id}}": [{"threshold": "p(95)<1", "abortOnFail": True}]})
    assert threshold.should_abort(stats, elapsed_s=100) is False
    assert threshold.evaluate(stats).passed is False


def test_scaled_delay(stats: RunStats) -> None:
    threshold = one({"http_req_failed": [{"threshold": "rate<0.05", "abortOnFail": True, "delayAbortEval": "1m"}]})
    scaled = threshold.scaled(0.1)
    assert scaled.delay_abort_eval_s == pytest.approx(6.0)
    assert scaled.should_abort(stats, elapsed_s=6) is True
    assert threshold.should_abort(stats, elapsed_s=6) is False


# -- the table -------------------------------------------------------------------------------


def test_format_table(stats: RunStats) -> None:
    thresholds = parse_thresholds(
        {
            "http_req_duration": ["p(95)<500"],
            "http_req_duration{name:GET /api/v1/payments/{id}}": ["p(95)<500"],
            "http_req_failed": [{"threshold": "rate<0.05", "abortOnFail": True}],
            "http_reqs": ["rate>1", "count>0"],
        }
    )
    table = format_table(evaluate_all(thresholds, stats))
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "expression", "observed", "result", "reason"]
    assert set(lines[1]) <= {"-", " "}
    assert "http_req_duration" in lines[2] and "ms" in lines[2] and "PASS" in lines[2]
    assert "http_req_duration{name:GET /api/v1/payments/{id}}" in lines[3]
    assert "FAIL" in lines[3] and "no requests for GET /api/v1/payments/{id}" in lines[3]
    assert "rate<0.05 (abortOnFail)" in lines[4] and "10.91%" in lines[4] and "FAIL" in lines[4]
    assert "11.00/s" in lines[5] and "PASS" in lines[5]
    assert "110" in lines[6]
    assert lines[-1] == "3/5 thresholds passed"
    # columns line up: every result sits in the same column
    column = lines[0].index("result")
    assert all(line[column : column + 4] in ("PASS", "FAIL") for line in lines[2:7])


def test_format_table_without_thresholds() -> None:
    assert format_table([]) == "no thresholds declared"
