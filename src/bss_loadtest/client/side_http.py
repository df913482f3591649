"""The one HTTP client for the suite's side requests: token fetches, test-data cleanup, metric scrapes.

These requests go outside Locust's statistics, so nothing else bounds them. :func:`request`

* never goes through a proxy (``http.client`` reads no ``*_proxy`` variables): the target is
  reached as the users reach it;
* keeps to a **total** deadline: every socket operation waits only for what is left of it, and
  the deadline is checked between reads, so a server that drips a byte at a time cannot hold a
  request past it;
* reads at most ``max_bytes`` of body;
* raises one exception type, :class:`SideHttpError`, whose one-line message never quotes more
  than a short excerpt of what the target sent. Any HTTP status is an answer, not an error.

Pure standard library, no locust import; under Locust, gevent's patched sockets make it cooperative.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_BYTES = 1 << 20
"""Default bound on a body: 1 MiB."""
EXCERPT_CHARS = 60
"""How much of what the target sent a message may quote."""
MESSAGE_CHARS = 200
"""The longest message :class:`SideHttpError` carries."""


class SideHttpError(Exception):
    """A side request got no usable answer. ``failure_class`` is ``timeout``, ``connection`` or ``other``."""

    def __init__(self, message: str, failure_class: str = "connection") -> None:
        message = " ".join(message.split())
        if len(message) > MESSAGE_CHARS:
            message = message[: MESSAGE_CHARS - 1] + "…"
        super().__init__(message)
        self.failure_class = failure_class


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str] = field(repr=False)
    """Header names in lower case."""
    body: bytes = field(repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _Expired(TimeoutError):
    """The total deadline has passed."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; raises :class:`_Expired` when none are."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise _Expired()
        return left


class _Reader(io.RawIOBase):
    """The socket's input; each read waits at most for what is left of the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(self._deadline.left())
        return self._sock.recv_into(buffer)


class _Socket:
    """What ``http.client`` needs of a socket, every operation bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.left())
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args, **kwargs) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self._sock, self._deadline))

    def close(self) -> None:
        """Nothing: ``http.client`` closes the connection before the body is read; see ``_Connection.release``."""


class _Connection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, deadline: _Deadline, tls: bool) -> None:
        super().__init__(host, port or (443 if tls else 80))
        self._deadline = deadline
        self._tls = tls
        self._raw: socket.socket | None = None

    def connect(self) -> None:
        self._raw = socket.create_connection((self.host, self.port), self._deadline.left())
        if self._tls:
            self._raw.settimeout(self._deadline.left())
            self._raw = ssl.create_default_context().wrap_socket(self._raw, server_hostname=self.host)
        self.sock = _Socket(self._raw, self._deadline)

    def release(self) -> None:
        """Close the socket (once the answer is read or abandoned)."""
        self.close()
        if self._raw is not None:
            self._raw.close()


def _excerpt(data: bytes | str) -> str:
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    return repr(text[:EXCERPT_CHARS]) + ("…" if len(text) > EXCERPT_CHARS else "")


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    deadline_s: float,
    max_bytes: int = MAX_BYTES,
) -> Response:
    """Send one request and read the whole answer within ``deadline_s`` seconds in all.

    Returns the answer whatever its status; raises :class:`SideHttpError` when there is none in
    time, the connection fails or closes early, the answer is not HTTP, or its body is longer than
    ``max_bytes``.
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise SideHttpError(f"not an http(s) URL: {_excerpt(url)}", "other")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = _Deadline(deadline_s)
    try:
        connection = _Connection(parts.hostname, port, deadline, parts.scheme == "https")
        try:
            connection.request(method, target, body=body, headers={"Connection": "close", **(headers or {})})
            answer = connection.getresponse()
            declared = answer.getheader("Content-Length", "").strip()
            length = int(declared) if declared.isdigit() else None
            if length is not None and length > max_bytes:
                raise SideHttpError(f"answer body of {length} bytes is over the limit of {max_bytes}", "other")
            data = answer.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise SideHttpError(f"answer body is over the limit of {max_bytes} bytes", "other")
            if length is not None and len(data) < length:
                raise SideHttpError(f"connection closed after {len(data)} of {length} bytes of the body")
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)
        finally:
            connection.release()
    except SideHttpError:
        raise
    except TimeoutError:
        raise SideHttpError(f"no complete answer within {deadline_s:g} s", "timeout") from None
    except http.client.RemoteDisconnected:
        raise SideHttpError("connection closed without an answer") from None
    except http.client.IncompleteRead as error:
        raise SideHttpError(f"connection closed after {len(error.partial)} bytes of the body") from None
    except http.client.BadStatusLine as error:
        raise SideHttpError(f"not an HTTP answer: {_excerpt(str(error.line))}") from None
    except http.client.HTTPException as error:
        raise SideHttpError(f"not a valid HTTP answer ({type(error).__name__})") from None
    except ConnectionRefusedError:
        raise SideHttpError("connection refused") from None
    except OSError as error:
        raise SideHttpError(f"connection failed: {type(error).__name__}") from None
