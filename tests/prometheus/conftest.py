"""Fixtures for the Prometheus export tests: a fake run state, real Prometheus and Pushgateway.

The functions that start the real servers live in ``prom_servers.py`` (importable from other test
directories, see its docstring); the fixtures ``pushgateway`` and ``prometheus_factory`` here stop
what they started.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import prom_servers  # noqa: E402
from prom_servers import PrometheusProcess, ServerProcess, start_prometheus, start_pushgateway  # noqa: E402

from bss_loadtest.core.stats import RunStats  # noqa: E402

# -- fake run state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeThresholdResult:
    metric: str
    expression: str
    scope: str | None
    passed: bool


@dataclass
class FakeState:
    """The state-provider protocol of :class:`bss_loadtest.run.prometheus.RunCollector`, as data."""

    stats: RunStats = field(default_factory=RunStats)
    users: int = 0
    thresholds: list[FakeThresholdResult] = field(default_factory=list)
    info: dict[str, Any] = field(
        default_factory=lambda: {"run_id": "run-test-1", "profile": "load", "host": "http://127.0.0.1:8080"}
    )

    def user_count(self) -> int:
        return self.users

    def threshold_results(self) -> list[FakeThresholdResult]:
        return list(self.thresholds)

    def run_info(self) -> dict[str, Any]:
        return dict(self.info)


@pytest.fixture
def fake_state() -> FakeState:
    return FakeState()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_pushgateway(tmp_path / "pushgateway")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Any]:
    """``prometheus_factory(targets=[...], honor_labels_targets=[...])``; all are stopped at teardown."""
    started: list[ServerProcess] = []

    def factory(**kwargs: Any) -> PrometheusProcess:
        server = start_prometheus(tmp_path / f"prometheus-{len(started)}", **kwargs)
        started.append(server)
        return server

    try:
        yield factory
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def threshold_result() -> type[FakeThresholdResult]:
    """The class of fake threshold verdicts, for tests that cannot import this conftest."""
    return FakeThresholdResult


@pytest.fixture
def prom_helpers() -> Any:
    """The ``prom_servers`` module (``free_port``, ``start_pushgateway``, ``http_get``...)."""
    return prom_servers
