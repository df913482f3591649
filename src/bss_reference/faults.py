"""Fault injection: extra latency and injected 503s, globally and per endpoint.

The admin API (``/admin/faults``) reads and replaces a :class:`FaultConfig`; ``DELETE`` restores
the command-line values. Endpoint keys are ``"METHOD <route template>"``, e.g.
``"GET /api/v1/customers/{id}"``. A per-endpoint entry replaces the global values for that endpoint.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FixedLatency(_Strict):
    fixed_ms: float = Field(ge=0, le=600_000, description="Constant extra latency in ms.")


class UniformLatency(_Strict):
    distribution: Literal["uniform"]
    min_ms: float = Field(ge=0, le=600_000)
    max_ms: float = Field(ge=0, le=600_000)


class NormalLatency(_Strict):
    distribution: Literal["normal"]
    mean_ms: float = Field(ge=0, le=600_000)
    stddev_ms: float = Field(ge=0, le=600_000)


class ExponentialLatency(_Strict):
    distribution: Literal["exponential"]
    mean_ms: float = Field(gt=0, le=600_000)


Latency = FixedLatency | UniformLatency | NormalLatency | ExponentialLatency


class EndpointFault(_Strict):
    latency: Latency | None = Field(None, description="Extra latency for this endpoint.")
    error_rate: float = Field(0.0, ge=0, le=1, description="Fraction answered 503.")


class FaultConfig(_Strict):
    latency: Latency | None = Field(None, description="Extra latency for every /api request.")
    error_rate: float = Field(0.0, ge=0, le=1, description="Fraction of /api requests answered 503.")
    endpoints: dict[str, EndpointFault] = Field(
        default_factory=dict, description='Per endpoint, keyed "METHOD /route/{template}".')


def sample_ms(lat: Latency | None, rng: random.Random = random._inst) -> float:  # type: ignore[attr-defined]
    if lat is None:
        return 0.0
    if isinstance(lat, FixedLatency):
        return lat.fixed_ms
    if isinstance(lat, UniformLatency):
        lo, hi = sorted((lat.min_ms, lat.max_ms))
        return rng.uniform(lo, hi)
    if isinstance(lat, NormalLatency):
        return max(0.0, rng.gauss(lat.mean_ms, lat.stddev_ms))
    return rng.expovariate(1.0 / lat.mean_ms)


class FaultState:
    """The live fault configuration and the command-line defaults it resets to."""

    def __init__(self, latency_ms: float, error_rate: float) -> None:
        self.defaults = FaultConfig(
            latency=FixedLatency(fixed_ms=latency_ms) if latency_ms > 0 else None,
            error_rate=error_rate,
        )
        self.current = self.defaults

    @property
    def active(self) -> bool:
        c = self.current
        return c.latency is not None or c.error_rate > 0 or bool(c.endpoints)

    def replace(self, config: FaultConfig) -> None:
        self.current = config

    def reset(self) -> None:
        self.current = self.defaults

    def decide(self, endpoint_key: str) -> tuple[float, bool]:
        """(extra latency in seconds, whether to answer 503) for one request."""
        c = self.current
        ep = c.endpoints.get(endpoint_key)
        if ep is not None:
            lat, rate = ep.latency, ep.error_rate
        else:
            lat, rate = c.latency, c.error_rate
        return sample_ms(lat) / 1000.0, (rate > 0 and random.random() < rate)
