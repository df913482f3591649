"""Failure classification: statuses and exceptions to their class."""

import errno

import pytest

from bss_loadtest.core import failures as f


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "auth"), (403, "auth"), (429, "rate_limited"), (400, "client_error"), (404, "client_error"),
     (409, "client_error"), (500, "server_error"), (501, "server_error"), (503, "server_error"),
     (200, "unexpected_status"), (302, "unexpected_status"), (0, None)],
)
def test_classify_status(status, expected):
    assert f.classify_status(status) == expected


@pytest.mark.parametrize("exc_class", [f.AuthFailure, f.RateLimited, f.ClientError, f.ServerError, f.TimeoutFailure,
                                       f.ConnectionFailure, f.ValidationFailure, f.UnexpectedStatus])
def test_declared_classes_are_read(exc_class):
    assert f.failure_class_of(exc_class("x")) == exc_class.failure_class
    assert exc_class.failure_class in f.FAILURE_CLASSES
    assert issubclass(exc_class, f.RequestFailure)


def test_every_class_has_an_exception():
    assert set(f.FAILURE_BY_CLASS) == set(f.FAILURE_CLASSES)


def test_timeouts():
    import gevent

    assert f.failure_class_of(TimeoutError("timed out")) == "timeout"
    assert f.failure_class_of(TimeoutError()) == "timeout"
    assert f.failure_class_of(gevent.Timeout(1)) == "timeout"
    assert f.failure_class_of(OSError(errno.ETIMEDOUT, "Connection timed out")) == "timeout"


def test_connection_errors():
    assert f.failure_class_of(ConnectionRefusedError(111, "Connection refused")) == "connection"
    assert f.failure_class_of(ConnectionResetError()) == "connection"
    assert f.failure_class_of(OSError(errno.EHOSTUNREACH, "unreachable")) == "connection"


def test_fasthttp_exceptions():
    """What Locust's FastHttpUser reports: geventhttpclient errors, wrapped causes, bad statuses."""
    from geventhttpclient.response import HTTPConnectionClosed
    from geventhttpclient.useragent import BadStatusCode, RetriesExceeded

    assert f.failure_class_of(HTTPConnectionClosed("closed")) == "connection"
    assert f.failure_class_of(RetriesExceeded("http://x", 0, original=TimeoutError("timed out"))) == "timeout"
    assert f.failure_class_of(RetriesExceeded("http://x", 0, original=ConnectionRefusedError())) == "connection"
    assert f.failure_class_of(BadStatusCode("http://x", code=503)) == "server_error"
    assert f.failure_class_of(BadStatusCode("http://x", code=429)) == "rate_limited"


def test_other():
    assert f.failure_class_of(ValueError("x")) == "other"
    assert f.failure_class_of(None) == "other"


def test_failures_module_does_not_import_locust():
    import subprocess
    import sys

    code = "import sys, bss_loadtest.core.failures; print('locust' in sys.modules, 'gevent' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "False False"


def test_failure_for_status_names_the_status_and_what_was_expected():
    assert type(f.failure_for_status(503, "200")) is f.ServerError
    assert str(f.failure_for_status(503, "200")) == "HTTP 503, expected 200"
    assert type(f.failure_for_status(429, "200")) is f.RateLimited
    assert type(f.failure_for_status(401, "200")) is f.AuthFailure
    assert type(f.failure_for_status(404, "204")) is f.ClientError
    unexpected = f.failure_for_status(302, "200/201")
    assert type(unexpected) is f.UnexpectedStatus and str(unexpected) == "HTTP 302, expected 200/201"


def test_failure_for_no_answer_is_classified_from_its_cause():
    class Wrapped(Exception):
        def __init__(self, original):
            super().__init__("wrapped")
            self.original = original

    timeout = f.failure_for_status(0, "200", Wrapped(TimeoutError("timed out")))
    assert type(timeout) is f.TimeoutFailure and str(timeout) == "timeout: TimeoutError"
    refused = f.failure_for_status(0, "200", ConnectionRefusedError())
    assert type(refused) is f.ConnectionFailure and str(refused) == "connection: ConnectionRefusedError"
    odd = f.failure_for_status(0, "200", ValueError("x"))  # no answer at all is a connection failure
    assert type(odd) is f.ConnectionFailure and str(odd) == "connection: ValueError"
    assert type(f.failure_for_status(0, "200")) is f.ConnectionFailure
    assert str(f.failure_for_status(0, "200")) == "connection"
