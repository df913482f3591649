"""The users' HTTP client: geventhttpclient's ``HTTPClient`` with a request head built in one pass.

geventhttpclient builds a request's head (``HTTPClient._build_request``) by merging the client's
default headers and the request's into a fresh ``Headers`` and checking every field name and
value against RFC 9110's grammar with a regular expression, on every request. For this suite's
users almost every line is the same from request to request (``User-Agent``, ``Accept-Encoding``,
the baggage, the run id, the bearer token, ``Host``); only the ``traceparent`` and a body's
``Content-Length`` change. :class:`SuiteHTTPClient` builds the same head (byte for byte, tested
against geventhttpclient's own builder) but checks each distinct line once per client and keeps
the checked line (a bounded cache, emptied when full: a new token or trace id is a new line),
so a request's head costs one dictionary lookup per repeated line. That is most of what the
tracing headers cost a request (bench/client_overhead.py, bench/README.md).

Anything out of the ordinary (a proxy, a chunked or streamed body, header containers of another
type) goes to geventhttpclient's own builder, unchanged.

Each client also times its requests as k6's ``http_req_duration`` does, for the greenlet that
sends them: how long opening a connection took (:func:`connection_setup`, a row of its own), and
the request's time on the wire (:func:`wire_time`: from its first byte sent to the kernel's
receive stamp of its answer's last byte), or, where the kernel gives no stamps, how long the last
read came after its data (:func:`read_delay`): the time other greenlets' work (validating their
responses, spawning users, writing statistics) held the answer's timestamp back. So neither a
connection's setup nor a busy generator is counted as the target's answer (bench/wire_accuracy.py).

This module does not import locust.
"""

from __future__ import annotations

import errno
import re
import socket
import struct
import sys
import time
from typing import Any

import gevent.socket
import gevent.ssl
from gevent import get_hub, getcurrent
from geventhttpclient.client import HTTPClient, HTTPClientPool
from geventhttpclient.connectionpool import ConnectionPool
from geventhttpclient.header import Headers
from geventhttpclient.url import URL

__all__ = ["SessionHeaders", "SuiteClientPool", "SuiteHTTPClient", "connection_setup", "read_delay",
           "start_request_timing", "use_suite_clients", "wire_time"]

# RFC 9110 sections 5.1 and 9.1: a header field name and a method are tokens; section 5.5: a field
# value has no CR, LF or other control character (the request smuggling bytes); section 3 and RFC
# 9112 section 3.2: a request target has no whitespace or control characters. The same grammar as
# geventhttpclient checks (a test holds the two to the same answers).
_TOKEN = re.compile(r"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_FIELD_VALUE = re.compile(r"\A[\t\x20-\x7e\x80-\xff]*\Z")
_REQUEST_TARGET = re.compile(r"\A[^\x00-\x20\x7f]*\Z")
_BODY_CARRYING_METHODS = frozenset(("POST", "PUT", "PATCH"))
_HOST = "host"
_CONTENT_LENGTH = "content-length"
_TRACEPARENT = "traceparent"
_TRANSFER_ENCODING = "transfer-encoding"
_CRLF = "\r\n"

LINE_CACHE_SIZE = 64
"""Checked header lines a client keeps: its user's repeated lines, with room for token refreshes."""



def is_field_value(value: str) -> bool:
    """Whether ``value`` may be a header field's value (RFC 9110 section 5.5: no CR, LF or other
    control character, nothing outside latin-1)."""
    return _FIELD_VALUE.fullmatch(value) is not None


_dict_items = dict.items
_dict_len = dict.__len__


# --- request timing --------------------------------------------------------------------------
# Two parts of a request's wall time are not the target's, and k6's http_req_duration leaves out
# both: setting up the connection (resolving the host, connecting, the TLS handshake: k6's
# http_req_blocked / _connecting / _tls_handshaking), and the time a response waited in this
# process after it had come in, while other greenlets' work ran.
#
# That wait is read off two clocks, the better one when it is there. On Linux each plain TCP
# socket asks the kernel to stamp what it receives (SO_TIMESTAMPNS): every read then knows when
# its last segment arrived, as a packet capture sees it, and the request's time is its time on
# the wire (:func:`wire_time`): from the wall clock just before its first byte is written to the
# kernel's stamp of the last byte of its answer. Where no stamp comes (TLS, whose library reads
# the socket itself; another OS; the first packets after the stamping is switched on), libev's
# loop time stands in: ``loop.now()`` (wall clock) is taken once per loop iteration right after
# the poll that reported the socket ready, so a greenlet resumed later in that iteration reads its
# clock late by ``time.time() - loop.now()``; what came in while the loop was busy before that
# poll is not seen this way.
# libuv's loop time has a millisecond's resolution: no delay is noted on it. Both figures are kept
# on the greenlet that sends the request.
_READ_DELAY = "bss_read_delay"
_CONNECT = "bss_connect"
_SENT_AT = "bss_sent_at"
_RECEIVED_AT = "bss_received_at"
_wall = time.time
_clock = time.perf_counter
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)
"""Linux's SO_TIMESTAMPNS (SO_TIMESTAMPNS_OLD, 35: a native struct timespec); Python does not name it."""
_TIMESPEC = struct.Struct("@qq" if struct.calcsize("@l") == 8 else "@ii")
_STAMP_SPACE = socket.CMSG_SPACE(_TIMESPEC.size) if _SO_TIMESTAMPNS is not None else 0
_STAMP_SIZE = _TIMESPEC.size
_unpack_timespec = _TIMESPEC.unpack_from
_SOL_SOCKET = socket.SOL_SOCKET


def _loop_times() -> bool:
    return "libev" in type(get_hub().loop).__module__


def start_request_timing() -> None:
    """Forget the current greenlet's request timing (read delay, connection setup, when it sent
    and received): call before a request."""
    current = getcurrent()
    setattr(current, _READ_DELAY, 0.0)
    setattr(current, _CONNECT, None)
    setattr(current, _SENT_AT, None)
    setattr(current, _RECEIVED_AT, None)


def wire_time() -> tuple[float, float] | None:
    """(when, seconds) of the current greenlet's request (since :func:`start_request_timing`) on
    the wire: the wall clock just before it wrote its first byte to its socket, and the seconds
    from then to the kernel's receive stamp of the last byte read back; None when either is not
    known (no kernel stamps: :func:`read_delay` then says how late the last read came)."""
    current = getcurrent()
    sent, received = getattr(current, _SENT_AT, None), getattr(current, _RECEIVED_AT, None)
    return (sent, received - sent) if sent is not None and received is not None else None


def read_delay() -> float:
    """Seconds the current greenlet's last read on a suite client's socket (since
    :func:`start_request_timing`) came after its data had arrived: by the kernel's stamp of that
    data where there is one, else by the loop's clock; 0.0 when that is not known."""
    current = getcurrent()
    received = getattr(current, _RECEIVED_AT, None)
    if received is not None:
        delay = _wall() - received
        return delay if delay > 0.0 else 0.0
    return getattr(current, _READ_DELAY, 0.0) or 0.0


def connection_setup() -> tuple[str, float, float] | None:
    """(``host:port``, seconds, when: the wall clock as it began) of the connection the current
    greenlet's request (since :func:`start_request_timing`) had to open first, or None when it
    used one already open."""
    return getattr(getcurrent(), _CONNECT, None)


def _note_read_delay(sock: Any, watcher: Any) -> None:
    current = getcurrent()
    if watcher is sock._read_event and getattr(current, _READ_DELAY, 0.0) is not None:
        delay = _wall() - sock.hub.loop.now()
        setattr(current, _READ_DELAY, delay if delay > 0.0 else 0.0)


_socket_wait = gevent.socket.socket._wait


class TimedSocket(gevent.socket.socket):
    """A gevent socket whose reads note how late they came by the loop's clock (:func:`read_delay`):
    the socket of a connection where the kernel gives no receive stamps."""

    __slots__ = ()

    def _wait(self, watcher: Any, *args: Any, **kwargs: Any) -> None:
        _socket_wait(self, watcher, *args, **kwargs)
        _note_read_delay(self, watcher)


class StampedSocket(gevent.socket.socket):
    """A gevent socket with the kernel's receive stamps on (SO_TIMESTAMPNS): each read keeps the
    stamp of the last segment it read, and the first send of a request the wall clock just before
    it (:func:`wire_time`)."""

    __slots__ = ()

    def sendall(self, data: Any, flags: int = 0) -> None:
        current = getcurrent()
        if getattr(current, _SENT_AT, 0.0) is None:  # the request's first byte (a retry keeps it)
            setattr(current, _SENT_AT, _wall())
        return _socket_sendall(self, data, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        # gevent's own recv loop (try, else wait for the socket to be readable), with recvmsg
        while True:
            try:
                data, ancillary, _, _ = self._sock.recvmsg(bufsize, _STAMP_SPACE, flags)
                break
            except OSError as error:
                if error.args[0] != errno.EWOULDBLOCK or self.timeout == 0.0:
                    raise
            self._wait(self._read_event)
        for level, kind, raw in ancillary:
            if kind == _SO_TIMESTAMPNS and level == _SOL_SOCKET and len(raw) >= _STAMP_SIZE:
                seconds, nanoseconds = _unpack_timespec(raw)
                setattr(getcurrent(), _RECEIVED_AT, seconds + nanoseconds * 1e-9)
        return data


_socket_sendall = gevent.socket.socket.sendall


def connection_socket(family: int, kind: int, proto: int) -> gevent.socket.socket:
    """A connection's socket: a :class:`StampedSocket` where the kernel stamps what it receives,
    else a :class:`TimedSocket` on a loop with a fine clock, else gevent's own."""
    if _SO_TIMESTAMPNS is not None:
        sock = StampedSocket(family, kind, proto)
        try:
            sock.setsockopt(_SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            return sock
        except OSError:
            sock.close()
    return (TimedSocket if _loop_times() else gevent.socket.socket)(family, kind, proto)


class TimedSSLSocket(gevent.ssl.SSLSocket):
    """gevent's TLS socket, noting its reads' delay as :class:`TimedSocket` does."""

    def _wait(self, watcher: Any, *args: Any, **kwargs: Any) -> None:
        _socket_wait(self, watcher, *args, **kwargs)
        _note_read_delay(self, watcher)


def _time_connections(pool: ConnectionPool) -> None:
    """Note how long ``pool`` takes to open each connection (:func:`connection_setup`), and make
    its connections' sockets timed (:func:`connection_socket`; over TLS :class:`TimedSSLSocket`,
    on a loop with a fine clock)."""
    pool._create_tcp_socket = connection_socket  # type: ignore[method-assign]
    context = getattr(pool, "ssl_context", None)
    tls = isinstance(context, gevent.ssl.SSLContext)
    if tls and _loop_times():
        context.sslsocket_class = TimedSSLSocket
    # A TLS 1.3 server sends its session tickets after the handshake: the first read of a new
    # connection wakes for them, and the answer that comes in later is read in the same call,
    # without a wait of its own. That wake's lateness is not the answer's, so the request that
    # opens a TLS connection is not charged a read delay (None: not known); later ones on it are.
    after_setup = None if tls else 0.0
    create = pool._create_socket
    host = pool._request_host
    name = f"[{host}]:{pool._request_port}" if ":" in host else f"{host}:{pool._request_port}"

    def create_socket() -> Any:
        began, wall = _clock(), _wall()
        sock = create()  # a connection that cannot be made fails its request, with the time it took
        current = getcurrent()
        setattr(current, _CONNECT, (name, _clock() - began, wall))
        setattr(current, _READ_DELAY, after_setup)  # the handshake's reads are the setup's, not the answer's
        return sock

    pool._create_socket = create_socket  # type: ignore[method-assign]


class SessionHeaders:
    """The header lines every request of one user carries (baggage, the run id, the bearer token),
    each checked when it is set and kept as its finished line: they skip geventhttpclient's copies,
    merges and scans of a request's headers altogether. A request's own header of the same name
    wins, as over a user agent's default headers. The framing fields are refused (they describe
    one request's body, not a session).

    The ``traceparent`` of the request being sent goes the same way (:meth:`trace`): set by the
    client for the greenlet that sends it, for the heads that greenlet builds until :meth:`untrace`
    (its redirects too); a request another greenlet sends on the same session meanwhile does not
    get it."""

    __slots__ = ("entries", "lines", "_trace")

    RESERVED = frozenset(("host", "content-length", "transfer-encoding", "expect", "connection"))

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str]] = {}
        """Lower-cased name -> (name, value), in the order first set."""
        self.lines: dict[str, str] = {}
        """Lower-cased name -> ``name: value\r\n``."""
        self._trace: tuple[Any, str, str] | None = None
        """(greenlet, value, line) of the traceparent being sent."""

    def trace(self, traceparent: str) -> None:
        """The current greenlet's requests carry ``traceparent`` (a value :mod:`~bss_loadtest.client.tracing`
        made: lower-case hex and dashes) until :meth:`untrace`."""
        self._trace = (getcurrent(), traceparent, "traceparent: " + traceparent + _CRLF)

    def untrace(self) -> None:
        self._trace = None

    def traced(self) -> tuple[str, str] | None:
        """(value, line) of the traceparent for a head the current greenlet builds, or None."""
        trace = self._trace
        if trace is not None and trace[0] is getcurrent():
            return trace[1], trace[2]
        return None

    def __setitem__(self, name: str, value: str) -> None:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"invalid header field name {name!r}")
        key = name.lower()
        if key in self.RESERVED:
            raise ValueError(f"{name} is not a session header: it belongs to one request")
        if not isinstance(value, str) or not _FIELD_VALUE.fullmatch(value):
            raise ValueError(f"invalid value for header field {name!r}: {value!r}")
        self.entries[key] = (name, value)
        self.lines[key] = name + ": " + value + _CRLF

    def __getitem__(self, name: str) -> str:
        return self.entries[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.entries

    def __delitem__(self, name: str) -> None:
        key = name.lower()
        del self.entries[key]
        del self.lines[key]

    def update(self, headers: dict[str, str]) -> None:
        for name, value in headers.items():
            self[name] = value


class SuiteHTTPClient(HTTPClient):
    """``HTTPClient`` whose :meth:`_build_request` checks a repeated header line once and adds the
    :class:`SessionHeaders` of its pool."""

    def __init__(self, *args: Any, session: SessionHeaders | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session if session is not None else SessionHeaders()
        self._lines: dict[tuple[str, str], str] = {}
        self._methods: set[str] = set()
        host = self.host
        if ":" in host and host[0] != "[" and host[-1] != "]":
            host = "[" + host + "]"  # an IPv6 address, in brackets
        if self.port not in (80, 443):
            host += ":" + str(self.port)
        self._host_entry = ("Host", host)
        _time_connections(self._connection_pool)

    def _build_request(self, method: str, request_uri: str, body: Any = b"", headers: Any = None,
                       chunked: bool | None = None) -> str:
        # geventhttpclient's own builder for what this one does not take: a proxy (absolute URIs,
        # proxy credentials), a chunked or undecided transfer, a body other than bytes, HTTP/1.0,
        # header containers other than its Headers. The session's lines go in as headers then.
        if (chunked is not False or self.use_proxy or self.version != self.HTTP_11
                or not isinstance(body, (bytes, bytearray)) or self.headers_type is not Headers
                or type(headers) is not Headers or type(self.default_headers) is not Headers):
            return super()._build_request(method, request_uri, body=body, headers=self._with_session(headers),
                                          chunked=chunked)
        if method not in self._methods:
            if not isinstance(method, str) or not _TOKEN.fullmatch(method):
                raise ValueError(f"invalid HTTP method {method!r}")
            self._methods.add(method)
        if not isinstance(request_uri, str) or not _REQUEST_TARGET.fullmatch(request_uri):
            raise ValueError(f"invalid request URI {request_uri!r}")
        if request_uri.startswith("//"):
            raise ValueError(
                f"invalid request URI {request_uri!r}: protocol-relative targets are not origin-form")
        if request_uri.startswith("http"):  # an absolute URI of this client's own origin
            base = self._base_url_string
            if not request_uri.startswith(base):
                raise ValueError("Invalid host in URL")
            request_uri = request_uri[len(base) - 1:]
        elif not request_uri.startswith("/"):
            request_uri = "/" + request_uri

        # The merge geventhttpclient makes (its Headers' raw entries: lower-cased name -> (name,
        # value) or a list of them for a repeated field; the request's overwrite the defaults'),
        # so the client's defaults come first, in their order.
        defaults = self.default_headers
        fields = dict(_dict_items(defaults))
        fields.update(_dict_items(headers))
        if _HOST not in fields:
            fields[_HOST] = self._host_entry
        if _CONTENT_LENGTH not in fields:
            if body:
                fields[_CONTENT_LENGTH] = ("Content-Length", str(len(body)))
            elif method.upper() in _BODY_CARRYING_METHODS:
                fields[_CONTENT_LENGTH] = ("Content-Length", "0")

        head = [method, " ", request_uri, " ", self.version, _CRLF]
        entries = list(fields.values())
        after_defaults = _dict_len(defaults)  # one raw entry per default field: the first ones
        self._add_lines(head, entries[:after_defaults])
        session = self.session
        for key, line in session.lines.items():  # where a user agent's default headers went
            if key not in fields:
                head.append(line)
        if session._trace is not None and _TRACEPARENT not in fields:
            traced = session.traced()
            if traced is not None:
                head.append(traced[1])
        self._add_lines(head, entries[after_defaults:])
        head.append(_CRLF)
        return "".join(head)

    def _add_lines(self, head: list[str], entries: list[Any]) -> None:
        lines = self._lines
        for entry in entries:
            for pair in (entry,) if type(entry) is tuple else entry:
                line = lines.get(pair) if type(pair[1]) is str else None
                if line is None:
                    line = self._checked_line(*pair)
                head.append(line)

    def _with_session(self, headers: Any) -> Any:
        """``headers`` with the session's lines (and traceparent) under them (the request's own of a name win)."""
        session = list(self.session.entries.values())
        traced = self.session.traced()
        if traced is not None:
            session.append(("traceparent", traced[0]))
        if not session:
            return headers
        merged = Headers(session)
        merged.update(headers or {})
        return merged

    def _checked_line(self, field: Any, value: Any) -> str:
        """``field: value\r\n`` once both are checked; kept for the next request when ``value`` is a str."""
        if not isinstance(field, str) or not _TOKEN.fullmatch(field):
            raise ValueError(f"invalid header field name {field!r}")
        if isinstance(value, str):
            if not _FIELD_VALUE.fullmatch(value):
                raise ValueError(f"invalid value for header field {field!r}: {value!r}")
            line = field + ": " + value + _CRLF
            lines = self._lines
            if len(lines) >= LINE_CACHE_SIZE:
                lines.clear()
            lines[field, value] = line
            return line
        return field + ": " + str(value) + _CRLF


class SuiteClientPool(HTTPClientPool):
    """``HTTPClientPool`` whose clients are :class:`SuiteHTTPClient`, sharing one :class:`SessionHeaders`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = SessionHeaders()

    def get_client(self, url: str | URL) -> HTTPClient:
        if not isinstance(url, URL):
            url = URL(url)
        key = url.host, url.port
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = SuiteHTTPClient.from_url(url, session=self.session,
                                                                        **self.client_args)
        return client


def use_suite_clients(agent: Any) -> SessionHeaders | None:
    """Give a user agent (Locust's ``FastHttpSession.client``) a :class:`SuiteClientPool` with the
    same client settings, while its own pool is geventhttpclient's and still empty (before the
    first request); its :class:`SessionHeaders`, or ``None`` when the pool was not replaced (the
    caller then sets its lines on the agent's ``default_headers``)."""
    pool = getattr(agent, "clientpool", None)
    if type(pool) is not HTTPClientPool or pool.clients:
        return None
    agent.clientpool = SuiteClientPool(**pool.client_args)
    return agent.clientpool.session
