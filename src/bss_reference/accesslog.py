"""The JSON access log: one line per request, as Promtail would ship the backend's logs to Loki.

    {"timestamp":"2026-11-25T10:00:00.123Z","level":"INFO","logger":"bss_reference.access",
     "traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"b7ad6b7169203331",
     "parentSpanId":"00f067aa0ba902b7","runId":"20261125-100000-load","method":"GET",
     "route":"/api/v1/customers/{id}","status":200,"durationMs":3.412}

(one line in the file). ``timestamp`` is when the answer was complete (ISO 8601 UTC, ms);
``route`` is the route template (``UNKNOWN`` when no route matches), the same as the ``uri`` of
``http_server_requests_seconds``; ``runId`` and ``parentSpanId`` are null when the request had
none. Each line goes to the file with one ``write(2)`` under a lock (no buffer to flush, whole
lines even from several threads; the file is opened for appending, so several processes can share
it). A failed write is reported once on stderr and never fails the request.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from json.encoder import encode_basestring_ascii as _json_string  # the C encoder: "..." escaped

from bss_reference.tracing import RequestTrace, TracingError

ACCESS_LOGGER = "bss_reference.access"
STDOUT = "-"

# The line is formatted, not built as a dict and encoded: about half the cost. Ids are hex and
# the timestamp is digits; everything else goes through the JSON string encoder.
_LINE = ('{{"timestamp":"{}","level":"INFO","logger":"' + ACCESS_LOGGER + '","traceId":"{}",'
         '"spanId":"{}","parentSpanId":{},"runId":{},"method":{},"route":{},"status":{},'
         '"durationMs":{}}}\n')


class AccessLog:
    def __init__(self, fd: int, name: str) -> None:
        """Write to the open file descriptor ``fd`` (closed by :meth:`close`); ``name`` for messages."""
        self.fd = fd
        self.name = name
        self.lines = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._second: tuple[int, str] = (-1, "")

    @classmethod
    def open(cls, target: str) -> AccessLog:
        """``target`` is a file path (created, appended to) or ``-`` for stdout."""
        try:
            if target == STDOUT:
                sys.stdout.flush()
                return cls(os.dup(sys.stdout.fileno()), "stdout")
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except (OSError, ValueError) as exc:
            raise TracingError(f"--access-log {target}: cannot open: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
        return cls(fd, target)

    def _timestamp(self, now: float) -> str:
        second = int(now)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{cached[1]}.{int((now - second) * 1000):03d}Z"

    def line(self, trace: RequestTrace, run_id: str | None, status: int, duration_s: float,
             now: float) -> bytes:
        parent = trace.parent_span_id
        return _LINE.format(
            self._timestamp(now), trace.trace_id, trace.span_id,
            "null" if parent is None else f'"{parent}"',
            "null" if run_id is None else _json_string(run_id),
            _json_string(trace.method), _json_string(trace.route), int(status),
            round(duration_s * 1000, 3)).encode()

    def write(self, trace: RequestTrace, run_id: str | None, status: int, duration_s: float) -> None:
        data = self.line(trace, run_id, status, duration_s, time.time())
        with self._lock:
            if self.fd < 0:
                return
            try:
                while data:
                    data = data[os.write(self.fd, data):]
                self.lines += 1
            except OSError as exc:
                self.failed += 1
                if self.failed == 1:
                    print(f"bss-reference: access log {self.name}: cannot write: "
                          f"{exc.strerror or exc} (further failures are not reported)",
                          file=sys.stderr, flush=True)

    def close(self) -> None:
        with self._lock:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
