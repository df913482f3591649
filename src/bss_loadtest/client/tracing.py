"""What every request carries for the target's traces and logs: W3C trace context, baggage, the run id.

Per request, a ``traceparent`` (`W3C Trace Context <https://www.w3.org/TR/trace-context/>`_) with a
fresh random 128-bit trace id and 64-bit span id: ``00-<32 hex>-<16 hex>-<flags>``, flags ``01``
(sampled) for the ``--trace-sample`` fraction of requests, ``00`` for the rest. Per run and user, a
``baggage`` (`W3C Baggage <https://www.w3.org/TR/baggage/>`_) with ``loadtest.run_id`` and
``loadtest.user_class`` (values percent-encoded), and the run id in a header of its own
(``X-Load-Test-Run-Id`` unless the target config names another) for backends that log headers.
The target config's ``tracing`` block switches each off (:class:`~bss_loadtest.client.config.TracingConfig`).

The trace id of a sampled request goes into the request's ``context`` as ``trace_id``, so the
statistics keep the slowest requests with the trace a reader can open (an unsampled trace is not
recorded by the backend, so it is not kept). Ids come from ``os.urandom``: fork-safe (workers
forked by ``--processes`` never share a random state) and under a microsecond per request,
spent before the request is sent, off its timed span.

This module does not import locust.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from urllib.parse import quote

from bss_loadtest.client.config import TracingConfig

TRACEPARENT = "traceparent"
BAGGAGE = "baggage"
BAGGAGE_RUN_ID = "loadtest.run_id"
BAGGAGE_USER_CLASS = "loadtest.user_class"
SAMPLED_FLAGS = "01"
NOT_SAMPLED_FLAGS = "00"
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16


def new_ids() -> tuple[str, str]:
    """A random trace id (32 lower-case hex digits) and span id (16), neither of them all zeros."""
    while True:
        digits = os.urandom(24).hex()
        trace_id, span_id = digits[:32], digits[32:]
        if trace_id != _ZERO_TRACE_ID and span_id != _ZERO_SPAN_ID:
            return trace_id, span_id


def baggage(entries: Mapping[str, str]) -> str:
    """A ``baggage`` header value: ``key=value`` members, values percent-encoded (UTF-8)."""
    return ",".join(f"{key}={quote(value, safe='')}" for key, value in entries.items())


class RequestTracing:
    """The tracing headers of one user's requests: :attr:`static` once per user, :meth:`headers`
    once per request."""

    __slots__ = ("static", "_traceparent", "_sample", "_random")

    def __init__(self, config: TracingConfig, *, run_id: str, user_class: str, sample: float = 1.0,
                 rng: Callable[[], float] = random.random) -> None:
        static: dict[str, str] = {}
        if config.baggage:
            static[BAGGAGE] = baggage({BAGGAGE_RUN_ID: run_id, BAGGAGE_USER_CLASS: user_class})
        if config.run_id_header:
            static[config.run_id_header_name] = run_id
        self.static = static
        """What every request of this user carries (baggage, the run id): the same on each request,
        so the client sets it once, on its session's default headers."""
        self._traceparent = config.traceparent
        self._sample = sample
        self._random = rng

    def traceparent(self) -> tuple[str | None, str | None]:
        """(the trace id when the request is sampled, else ``None``; a fresh ``traceparent`` value,
        ``None`` when the traceparent is switched off)."""
        if not self._traceparent:
            return None, None
        # new_ids() inlined: this runs once per request (see bench/client_overhead.py)
        digits = os.urandom(24).hex()
        if digits.startswith(_ZERO_TRACE_ID) or digits.endswith(_ZERO_SPAN_ID):
            digits = "".join(new_ids())
        sample = self._sample
        if sample >= 1.0 or (sample > 0.0 and self._random() < sample):
            trace_id = digits[:32]
            return trace_id, f"00-{trace_id}-{digits[32:]}-{SAMPLED_FLAGS}"
        return None, f"00-{digits[:32]}-{digits[32:]}-{NOT_SAMPLED_FLAGS}"

    def headers(self, base: Mapping[str, str] | None = None) -> tuple[str | None, dict[str, str] | None]:
        """(the trace id when the request is traced and sampled, else ``None``; the headers of this
        one request: ``base`` plus a fresh ``traceparent``, a new dict; ``base`` itself (or ``None``)
        when the traceparent is switched off). :attr:`static` is not in it."""
        trace_id, value = self.traceparent()
        if value is None:
            return None, base or None
        if base:
            headers = dict(base)
            headers[TRACEPARENT] = value
            return trace_id, headers
        return trace_id, {TRACEPARENT: value}
