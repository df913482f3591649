"""Token cache (fake clock), refresh before expiry, no stampede, identity pool, secret hygiene."""

import threading
import time

import pytest

from bss_loadtest.client import auth
from bss_loadtest.client.auth import Identity, TokenCache, TokenError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_cache(expires_in=300.0, margin=30.0):
    clock = Clock()
    calls = []

    def fetch(identity):
        calls.append(identity.client_id)
        return f"token-{identity.client_id}-{len(calls)}", expires_in

    return TokenCache(fetch=fetch, clock=clock, margin=margin), clock, calls


ID_A = Identity("http://h/t", "bss-loadtest-01", "s3cr3t-value")
ID_B = Identity("http://h/t", "bss-loadtest-02", "s3cr3t-value")


def test_cached_per_identity():
    cache, clock, calls = make_cache()
    assert cache.get(ID_A) == "token-bss-loadtest-01-1"
    assert cache.get(ID_A) == "token-bss-loadtest-01-1"
    assert cache.get(ID_B) == "token-bss-loadtest-02-2"
    assert calls == ["bss-loadtest-01", "bss-loadtest-02"]


def test_refreshed_before_expiry():
    cache, clock, calls = make_cache(expires_in=300, margin=30)
    cache.get(ID_A)
    clock.now += 269
    cache.get(ID_A)
    assert len(calls) == 1
    clock.now += 2  # 271 s: inside the margin, refresh although not yet expired
    assert cache.get(ID_A) == "token-bss-loadtest-01-2"
    assert len(calls) == 2


def test_short_lived_tokens_refresh_at_half_life():
    cache, clock, calls = make_cache(expires_in=20, margin=30)
    cache.get(ID_A)
    clock.now += 9
    cache.get(ID_A)
    clock.now += 2
    cache.get(ID_A)
    assert len(calls) == 2


def test_invalidate_forces_a_fetch():
    cache, clock, calls = make_cache()
    cache.get(ID_A)
    cache.invalidate(ID_A)
    cache.get(ID_A)
    assert len(calls) == 2


def test_concurrent_users_do_not_stampede():
    started = threading.Event()
    calls = []

    def slow_fetch(identity):
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "tok", 300.0

    cache = TokenCache(fetch=slow_fetch)
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(ID_A))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == ["tok"] * 8
    assert len(calls) == 1


def test_on_fetch_reports_each_fetch_and_failures():
    seen = []

    def failing(identity):
        raise TokenError("token request for client bss-loadtest-01 answered HTTP 401")

    cache = TokenCache(fetch=failing)
    with pytest.raises(TokenError):
        cache.get(ID_A, on_fetch=lambda d, e: seen.append(e))
    assert isinstance(seen[0], TokenError)
    assert auth.as_failure(seen[0]).failure_class == "auth"


def test_failed_fetch_backs_off():
    clock = Clock()
    calls = []

    def failing(identity):
        calls.append(1)
        raise TokenError("token request for client x answered HTTP 503", "server_error")

    cache = TokenCache(fetch=failing, clock=clock, backoff=1.0)
    reported = []
    for _ in range(5):
        with pytest.raises(TokenError):
            cache.get(ID_A, on_fetch=lambda d, e: reported.append(e))
    assert len(calls) == 1 and len(reported) == 1  # one request, one report, the rest wait
    assert auth.as_failure(reported[0]).failure_class == "server_error"
    clock.now += 1.1
    with pytest.raises(TokenError):
        cache.get(ID_A)
    assert len(calls) == 2


def test_identity_pool_from_options():
    pool = auth.identities("http://host:8080/", client_pool=3)
    assert [i.client_id for i in pool] == ["bss-loadtest-01", "bss-loadtest-02", "bss-loadtest-03"]
    assert pool[0].token_url == "http://host:8080/realms/bss/protocol/openid-connect/token"
    assert pool[0].secret == "bss-secret"
    explicit = auth.identities("http://h", client_id="a, b,c", client_secret="x", token_url="http://kc/t")
    assert [(i.client_id, i.token_url, i.secret) for i in explicit] == [("a", "http://kc/t", "x"),
                                                                         ("b", "http://kc/t", "x"),
                                                                         ("c", "http://kc/t", "x")]
    assert [i.client_id for i in auth.identities("http://h")] == ["bss-backend"]


def test_users_spread_evenly_over_the_pool():
    pool = auth.identities("http://h", client_pool=16)
    counts = {}
    for index in range(160):
        identity = auth.assign(pool, index)
        counts[identity.client_id] = counts.get(identity.client_id, 0) + 1
    assert len(counts) == 16 and set(counts.values()) == {10}


def test_secret_never_in_repr_or_errors():
    identity = Identity("http://127.0.0.1:9/t", "bss-loadtest-01", "s3cr3t-value")
    assert "s3cr3t" not in repr(identity)
    with pytest.raises(TokenError) as info:
        auth.fetch_token(identity, timeout=2)
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in repr(info.value)
    assert info.value.failure_class == "connection"


def test_real_token_endpoint(reference_server):
    """End to end against the reference server's Keycloak-compatible endpoint."""
    pool = auth.identities(reference_server.url, client_pool=2)
    cache = TokenCache()
    token = cache.get(pool[0])
    assert token.count(".") == 2  # a JWT
    assert cache.get(pool[0]) == token and cache.fetches == 1
    cache.get(pool[1])
    assert cache.fetches == 2
    bad = Identity(pool[0].token_url, "bss-loadtest-01", "wrong-secret")
    with pytest.raises(TokenError) as info:
        auth.fetch_token(bad)
    assert info.value.failure_class == "auth"
    assert "wrong-secret" not in str(info.value)


@pytest.mark.parametrize("expires_in", [-1.0, 0.0, float("nan"), 0.01])
def test_a_token_that_expires_at_once_is_kept_a_minimum_time_with_one_warning(expires_in, caplog):
    cache, clock, calls = make_cache(expires_in=expires_in)
    with caplog.at_level("WARNING", logger="bss_loadtest.client.auth"):
        for _ in range(50):
            cache.get(ID_A)
            cache.get(ID_B)
            clock.now += 0.01
    assert len(calls) == 2, calls  # one token per identity, not one per request
    warnings = [r for r in caplog.records if "expires_in" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "s3cr3t" not in warnings[0].getMessage()
    clock.now += auth.MIN_TOKEN_LIFETIME_S
    cache.get(ID_A)
    assert len(calls) == 3  # refreshed once the minimum lifetime is over


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "tok\x00en", "токен"])
def test_a_token_that_cannot_go_in_a_header_is_a_token_error_not_a_request_error(token):
    """The token becomes a header line that is checked once, when it is set: a token endpoint that
    answers one with CR, LF, other control characters or characters outside latin-1 is refused
    where it is fetched, as an AUTH failure."""
    import json

    from tests.json_stub import json_server

    body = json.dumps({"access_token": token, "expires_in": 300}).encode()
    with json_server(lambda method, path, headers: (200, body)) as server:
        identity = Identity(f"http://127.0.0.1:{server.server_port}/t", "bss-loadtest-01", "s3cr3t-value")
        with pytest.raises(TokenError) as info:
            auth.fetch_token(identity, timeout=5)
        assert "cannot go in an Authorization header" in str(info.value)
        assert "s3cr3t" not in str(info.value)
