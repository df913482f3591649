"""OAuth2 client credentials: identities, a token cache, the token request.

The real backend limits each token subject to 100 requests a minute, so users are spread over a
pool of client identities (``--client-pool N`` → ``bss-loadtest-01..N``, or ``--client-id a,b``).
Tokens are cached per (token URL, client id) for the whole run (one cache per Locust
``Environment``, in :class:`bss_loadtest.client.state.ClientState`) and refreshed
``REFRESH_MARGIN_S`` before they expire; a lock per identity keeps concurrent users from
fetching the same token at once.

The client secret lives only in :class:`Identity` (hidden from ``repr``) and in the form body of
the token request; it is never logged and never put into an exception message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bss_loadtest.client import side_http
from bss_loadtest.client.http import is_field_value
from bss_loadtest.core.failures import FAILURE_BY_CLASS, AuthFailure, classify_status

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_PATH = "/realms/bss/protocol/openid-connect/token"
DEFAULT_CLIENT_ID = "bss-backend"
DEFAULT_CLIENT_SECRET = "bss-secret"
POOL_CLIENT_FORMAT = "bss-loadtest-{:02d}"
REFRESH_MARGIN_S = 30.0
"""Refresh a token this long before it expires (or at half its lifetime, if that is sooner)."""
TOKEN_TIMEOUT_S = 10.0
MIN_TOKEN_LIFETIME_S = 5.0
"""A token whose ``expires_in`` is shorter (0, negative, not a number) is kept this long: else
every business request would first ask for a new token. Said once per run, as a warning."""
FAILURE_BACKOFF_S = 1.0
"""After a failed token request, users of that identity wait this long before the next one
(their business requests are not sent meanwhile), so a failing token endpoint is not hammered."""


@dataclass(frozen=True)
class Identity:
    """One client identity. The secret is excluded from ``repr`` and comparisons."""

    token_url: str
    client_id: str
    secret: str = field(repr=False, compare=False)


@dataclass
class Token:
    access_token: str = field(repr=False)
    refresh_at: float


class TokenError(Exception):
    """The token endpoint did not give a token. The message never holds the secret."""

    def __init__(self, message: str, failure_class: str = "auth") -> None:
        super().__init__(message)
        self.failure_class = failure_class


def fetch_token(identity: Identity, timeout: float = TOKEN_TIMEOUT_S) -> tuple[str, float]:
    """POST the client-credentials grant; return ``(access_token, expires_in_seconds)``.

    ``timeout`` bounds the whole request. Raises :class:`TokenError`.
    """
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": identity.client_id, "client_secret": identity.secret}
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    try:
        answer = side_http.request("POST", identity.token_url, headers=headers, body=form, deadline_s=timeout)
    except side_http.SideHttpError as error:
        cls = "timeout" if error.failure_class == "timeout" else "connection"
        raise TokenError(f"token request for client {identity.client_id} failed: {error}", cls) from None
    if not answer.ok:
        cls = "auth" if answer.status in (400, 401, 403) else classify_status(answer.status)
        raise TokenError(f"token request for client {identity.client_id} answered HTTP {answer.status}", cls)
    try:
        payload = json.loads(answer.body)
        access_token, expires_in = str(payload["access_token"]), float(payload.get("expires_in") or 60)
    except (ValueError, KeyError, TypeError):
        raise TokenError(f"token response for client {identity.client_id} has no access_token") from None
    if not is_field_value("Bearer " + access_token):
        raise TokenError(f"token response for client {identity.client_id} has an access_token that cannot "
                         "go in an Authorization header (control characters or characters outside latin-1)")
    return access_token, expires_in


class TokenCache:
    """Tokens per identity for one run (see :mod:`bss_loadtest.client.state`), refreshed before
    expiry, fetched under a lock."""

    def __init__(
        self,
        fetch: Callable[[Identity], tuple[str, float]] = fetch_token,
        clock: Callable[[], float] = time.monotonic,
        margin: float = REFRESH_MARGIN_S,
        backoff: float = FAILURE_BACKOFF_S,
    ) -> None:
        self._backoff = backoff
        self._failed_until: dict[tuple[str, str], float] = {}
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._tokens: dict[tuple[str, str], Token] = {}
        self._locks: dict[tuple[str, str], Any] = {}
        self._guard = threading.Lock()
        self.fetches = 0
        self._warned_lifetime = False

    def _lock_for(self, key: tuple[str, str]):
        lock = self._locks.get(key)
        if lock is None:
            with self._guard:
                lock = self._locks.setdefault(key, threading.Lock())
        return lock

    def cached(self, identity: Identity) -> Token | None:
        """The cached token if it is still fresh (no fetch)."""
        token = self._tokens.get((identity.token_url, identity.client_id))
        if token is not None and self._clock() < token.refresh_at:
            return token
        return None

    def get(self, identity: Identity, on_fetch: Callable[[float, BaseException | None], None] | None = None) -> str:
        """A valid access token for ``identity``; fetches (once, under the lock) when needed.

        ``on_fetch(duration_s, error)`` is called after each actual token request (for reporting).
        Raises :class:`TokenError` when the fetch fails.
        """
        token = self.cached(identity)
        if token is not None:
            return token.access_token
        key = (identity.token_url, identity.client_id)
        with self._lock_for(key):
            token = self.cached(identity)  # another user may have fetched it while we waited
            if token is not None:
                return token.access_token
            started = self._clock()
            if started < self._failed_until.get(key, float("-inf")):
                raise TokenError(f"token request for client {identity.client_id} failed recently; backing off",
                                 "auth")
            wall = time.perf_counter()
            try:
                access_token, expires_in = self._fetch(identity)
            except Exception as exc:
                self._failed_until[key] = self._clock() + self._backoff
                if on_fetch is not None:
                    on_fetch(time.perf_counter() - wall, exc)
                raise
            self.fetches += 1
            if on_fetch is not None:
                on_fetch(time.perf_counter() - wall, None)
            expires_in = self._lifetime(identity, expires_in)
            margin = min(self._margin, expires_in / 2)
            self._tokens[key] = Token(access_token, started + expires_in - margin)
            return access_token

    def _lifetime(self, identity: Identity, expires_in: float) -> float:
        """``expires_in``, or :data:`MIN_TOKEN_LIFETIME_S` when it is shorter or not a number."""
        if expires_in >= MIN_TOKEN_LIFETIME_S:  # NaN compares false
            return expires_in
        if not self._warned_lifetime:
            self._warned_lifetime = True
            logger.warning("Token endpoint %s gave client %s a token with expires_in %s; keeping tokens %g s",
                           urllib.parse.urlsplit(identity.token_url).path, identity.client_id, expires_in,
                           MIN_TOKEN_LIFETIME_S)
        return MIN_TOKEN_LIFETIME_S

    def invalidate(self, identity: Identity) -> None:
        """Forget the token (e.g. after a 401 on a token that should have been valid)."""
        self._tokens.pop((identity.token_url, identity.client_id), None)


def token_url_for(host: str, token_url: str | None) -> str:
    """The configured token URL, or ``{host}/realms/bss/protocol/openid-connect/token``."""
    if token_url:
        return token_url
    return (host or "").rstrip("/") + DEFAULT_TOKEN_PATH


def identities(
    host: str,
    *,
    token_url: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    client_pool: int | None = None,
) -> list[Identity]:
    """The identity pool from the options: explicit ids, ``bss-loadtest-01..N``, or the default."""
    url = token_url_for(host, token_url)
    secret = client_secret or DEFAULT_CLIENT_SECRET
    if client_id:
        ids = [part.strip() for part in str(client_id).split(",") if part.strip()]
    elif client_pool and int(client_pool) > 0:
        ids = [POOL_CLIENT_FORMAT.format(i) for i in range(1, int(client_pool) + 1)]
    else:
        ids = [DEFAULT_CLIENT_ID]
    return [Identity(url, cid, secret) for cid in ids]


def assign(pool: list[Identity], index: int) -> Identity:
    """Round-robin: the identity of the ``index``-th user of this process."""
    return pool[index % len(pool)]


def as_failure(error: BaseException) -> Exception:
    """The failure to report for a token error (never carrying the secret)."""
    if isinstance(error, TokenError):
        return FAILURE_BY_CLASS.get(error.failure_class, AuthFailure)(str(error))
    return AuthFailure(f"token request failed: {type(error).__name__}")
