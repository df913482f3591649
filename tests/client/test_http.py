"""The users' HTTP client (client/http.py): the request head it builds is geventhttpclient's, byte
for byte, with the session's lines where a user agent's default headers go; bad input fails as
geventhttpclient fails; the line cache stays bounded. No network: heads are built, not sent."""

from __future__ import annotations

import itertools

import pytest
from geventhttpclient.client import HTTPClient, HTTPClientPool
from geventhttpclient.header import Headers

from bss_loadtest.client import http
from bss_loadtest.client.http import SessionHeaders, SuiteClientPool, SuiteHTTPClient, use_suite_clients

UA = {"User-Agent": "python/gevent-http-client-x"}
HOSTS = [("127.0.0.1", 8080), ("127.0.0.1", 80), ("::1", 9000), ("example.test", 443)]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
BODIES = [b"", b'{"a": 1}']
URIS = ["/api/v1/customers/c-1?page=0&size=20", "api/v1/x", "/"]
HEADER_SETS = [
    {},
    {"Accept-Encoding": "gzip, deflate, br", "traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"},
    {"content-type": "application/json", "CONTENT-LENGTH": "99"},
    {"Host": "other.test", "X-Multi": ["a", "b"], "X-Int": 7},
    {"user-agent": "override/1", "X-Empty": ""},
]


def pair(host: str, port: int, **kw) -> tuple[HTTPClient, SuiteHTTPClient]:
    return HTTPClient(host, port, headers=UA, **kw), SuiteHTTPClient(host, port, headers=UA, **kw)


@pytest.mark.parametrize(("host", "port"), HOSTS)
def test_the_head_is_geventhttpclients_byte_for_byte(host, port):
    theirs, ours = pair(host, port)
    for method, body, uri, fields in itertools.product(METHODS, BODIES, URIS, HEADER_SETS):
        headers = Headers(fields)
        expected = theirs._build_request(method, uri, body=body, headers=headers, chunked=False)
        for _ in range(2):  # the second time from the line cache
            assert ours._build_request(method, uri, body=body, headers=headers, chunked=False) == expected


def test_an_absolute_uri_of_the_clients_own_origin_and_the_fallbacks_match_too():
    theirs, ours = pair("127.0.0.1", 8080)
    headers = Headers({"Accept": "*/*"})
    for uri in ["http://127.0.0.1:8080/x?q=1", "http://127.0.0.1:8080/"]:
        assert ours._build_request("GET", uri, b"", headers, False) == theirs._build_request("GET", uri, b"", headers, False)
    # chunked, undecided, a str body, a plain dict of headers: geventhttpclient's own builder
    for body, fields, chunked in [(b"x", headers, True), (b"x", headers, None), ("text", headers, False),
                                  (b"", {"Accept": "*/*"}, False)]:
        assert (ours._build_request("POST", "/x", body, fields, chunked)
                == theirs._build_request("POST", "/x", body, fields, chunked))
    theirs_proxy = HTTPClient("127.0.0.1", 8080, headers=UA, proxy_host="127.0.0.1", proxy_port=3128)
    ours_proxy = SuiteHTTPClient("127.0.0.1", 8080, headers=UA, proxy_host="127.0.0.1", proxy_port=3128)
    assert ours_proxy._build_request("GET", "/x", b"", headers, False) == theirs_proxy._build_request("GET", "/x", b"", headers, False)


@pytest.mark.parametrize(("method", "uri", "fields"), [
    ("G ET", "/x", {}),
    ("GET", "/x y", {}),
    ("GET", "//evil.test/x", {}),
    ("GET", "http://elsewhere.test/x", {}),
    ("GET", "/x", {"Bad Name": "v"}),
    ("GET", "/x", {"X-Smuggle": "v\r\nX-Injected: 1"}),
    ("GET", "/x", {"X-Nul": "a\x00b"}),
])
def test_bad_input_fails_as_geventhttpclient_fails_every_time(method, uri, fields):
    theirs, ours = pair("127.0.0.1", 8080)
    headers = Headers(fields)
    with pytest.raises(ValueError) as expected:
        theirs._build_request(method, uri, b"", headers, False)
    for _ in range(2):  # nothing invalid is ever kept
        with pytest.raises(ValueError) as got:
            ours._build_request(method, uri, b"", headers, False)
        assert str(got.value) == str(expected.value)


def test_the_session_lines_go_where_a_user_agents_default_headers_went():
    theirs, ours = pair("127.0.0.1", 8080)
    session = ours.session
    session.update({"baggage": "loadtest.run_id=r-1", "X-Load-Test-Run-Id": "r-1"})
    session["Authorization"] = "Bearer t1"
    per_request = {"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01", "Accept-Encoding": "gzip"}
    as_defaults = Headers({**UA, "baggage": "loadtest.run_id=r-1", "X-Load-Test-Run-Id": "r-1",
                           "Authorization": "Bearer t1", **per_request})
    for method, body in [("GET", b""), ("POST", b"{}")]:
        assert (ours._build_request(method, "/x", body, Headers({**UA, **per_request}), False)
                == theirs._build_request(method, "/x", body, as_defaults, False))
    # a request's own header of the same name wins, as over default headers
    own = Headers({**UA, "authorization": "Basic abc"})
    head = ours._build_request("GET", "/x", b"", own, False)
    assert "authorization: Basic abc\r\n" in head and "Bearer" not in head
    # a new token replaces the line in place; a deleted one is gone
    session["authorization"] = "Bearer t2"
    head = ours._build_request("GET", "/x", b"", Headers(UA), False)
    assert head.count("Bearer") == 1 and "authorization: Bearer t2\r\n" in head
    del session["Authorization"]
    assert "Authorization" not in session and "Bearer" not in ours._build_request("GET", "/x", b"", Headers(UA), False)
    assert session["x-load-test-run-id"] == "r-1"
    # the fallback (here: chunked) carries them too
    chunked = ours._build_request("POST", "/x", b"x", Headers(UA), True)
    assert "baggage: loadtest.run_id=r-1\r\n" in chunked and "Transfer-Encoding: chunked\r\n" in chunked


@pytest.mark.parametrize(("name", "value", "message"), [
    ("Bad Name", "v", "invalid header field name"),
    ("Authorization", "Bearer a\r\nX-Injected: 1", "invalid value for header field"),
    ("Authorization", 7, "invalid value for header field"),
    ("Content-Length", "5", "not a session header"),
    ("transfer-encoding", "chunked", "not a session header"),
    ("Host", "h", "not a session header"),
])
def test_a_session_line_is_checked_when_it_is_set(name, value, message):
    session = SessionHeaders()
    with pytest.raises(ValueError, match=message):
        session[name] = value
    assert not session.entries and not session.lines


def test_the_line_cache_is_bounded():
    _, ours = pair("127.0.0.1", 8080)
    for n in range(3 * http.LINE_CACHE_SIZE):
        ours._build_request("GET", "/x", b"", Headers({**UA, "traceparent": f"00-{n:032x}-{n:016x}-01"}), False)
        assert len(ours._lines) <= http.LINE_CACHE_SIZE


def test_a_user_agents_own_empty_pool_is_replaced_with_the_same_settings_and_no_other():
    class Agent:
        def __init__(self, pool):
            self.clientpool = pool

    agent = Agent(HTTPClientPool(concurrency=3, network_timeout=7.0))
    session = use_suite_clients(agent)
    assert isinstance(agent.clientpool, SuiteClientPool) and session is agent.clientpool.session
    assert agent.clientpool.client_args == {"concurrency": 3, "network_timeout": 7.0}
    client = agent.clientpool.get_client("http://127.0.0.1:8080/api")
    assert isinstance(client, SuiteHTTPClient) and client.session is session
    assert agent.clientpool.get_client("http://127.0.0.1:8080/other") is client
    assert client._connection_pool.size == 3
    used = HTTPClientPool()
    used.get_client("http://127.0.0.1:8080/")
    for pool in [used, SuiteClientPool()]:
        agent = Agent(pool)
        assert use_suite_clients(agent) is None and agent.clientpool is pool


def test_the_traceparent_goes_to_the_heads_of_the_greenlet_that_set_it_only():
    import gevent

    _, ours = pair("127.0.0.1", 8080)
    session = ours.session
    session["baggage"] = "loadtest.run_id=r-1"
    value = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    build = lambda: ours._build_request("GET", "/x", b"", Headers({**UA, "Accept-Encoding": "gzip"}), False)  # noqa: E731
    session.trace(value)
    head = build()
    assert head.split("\r\n")[1:5] == ["User-Agent: python/gevent-http-client-x", "baggage: loadtest.run_id=r-1",
                                       f"traceparent: {value}", "Accept-Encoding: gzip"]
    assert build() == head  # a redirect of the same request: the same traceparent
    assert "traceparent" not in gevent.spawn(build).get(timeout=5)  # another greenlet's request on the session
    own = ours._build_request("GET", "/x", b"", Headers({**UA, "traceparent": "00-" + "11" * 16 + "-" + "22" * 8 + "-00"}),
                              False)
    assert own.count("traceparent") == 1 and value not in own  # a request's own traceparent wins
    chunked = ours._build_request("POST", "/x", b"x", Headers(UA), True)
    assert f"traceparent: {value}\r\n" in chunked  # geventhttpclient's builder gets it too
    session.untrace()
    assert "traceparent" not in build()
