"""Keycloak-compatible client-credentials tokens: HS256 JWTs signed with a per-process key.

``TokenIssuer.issue`` answers the token endpoint; ``TokenIssuer.verify`` checks a bearer token
(signature and ``exp``, no clock skew) and returns its subject. Implemented with ``hmac`` and
``base64`` only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

#: Verified tokens are cached (token -> (sub, exp)) up to this many entries.
VERIFY_CACHE_SIZE = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AuthError(Exception):
    """A token request failed: ``status`` 400/401 and the OAuth ``error`` code."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class TokenIssuer:
    def __init__(self, clients: tuple[str, ...] | list[str], secret: str, ttl_s: int) -> None:
        self.clients = frozenset(clients)
        self.secret = secret
        self.ttl_s = ttl_s
        self._key = secrets.token_bytes(32)
        self._cache: dict[str, tuple[str, float]] = {}

    def _sign(self, signing_input: bytes) -> str:
        return _b64(hmac.new(self._key, signing_input, hashlib.sha256).digest())

    def issue(self, form: dict[str, str], basic: tuple[str, str] | None,
              base_url: str) -> dict[str, Any]:
        """Answer a token request (form fields plus optional HTTP Basic credentials)."""
        grant = form.get("grant_type")
        client_id, client_secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
        if grant != "client_credentials":
            if not grant:
                raise AuthError(400, "invalid_request", "Missing form parameter: grant_type")
            raise AuthError(400, "unsupported_grant_type", f"Unsupported grant_type: {grant}")
        if not client_id or client_id not in self.clients:
            raise AuthError(401, "unauthorized_client", "Invalid client or Invalid client credentials")
        if not client_secret or not hmac.compare_digest(client_secret.encode(), self.secret.encode()):
            raise AuthError(401, "unauthorized_client", "Invalid client or Invalid client credentials")
        now = int(time.time())
        claims = {
            "exp": now + self.ttl_s,
            "iat": now,
            "jti": secrets.token_hex(8),
            "iss": base_url.rstrip("/") + "/realms/bss",
            "sub": f"service-account-{client_id}",
            "typ": "Bearer",
            "azp": client_id,
            "scope": "profile email",
            "clientId": client_id,
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode()
        token = f"{header}.{payload}.{self._sign(signing_input)}"
        return {
            "access_token": token,
            "expires_in": self.ttl_s,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "profile email",
        }

    def verify(self, token: str) -> str | None:
        """The token's ``sub`` if it is ours, well-formed and unexpired, else None."""
        now = time.time()
        hit = self._cache.get(token)
        if hit is not None:
            if hit[1] + 1 > now:
                return hit[0]
            self._cache.pop(token, None)
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            expected = self._sign(f"{parts[0]}.{parts[1]}".encode())
            if not hmac.compare_digest(expected, parts[2]):
                return None
            claims = json.loads(_unb64(parts[1]))
            exp = float(claims["exp"])
            sub = str(claims["sub"])
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
            return None
        # ``exp`` is a whole second (as in Keycloak); the token is valid through that second,
        # so a token never lives less than its ttl however late in a second it was issued.
        if exp + 1 <= now:
            return None
        if len(self._cache) >= VERIFY_CACHE_SIZE:
            self._cache.clear()
        self._cache[token] = (sub, exp)
        return sub
