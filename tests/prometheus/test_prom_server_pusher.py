"""MetricsServer and Pusher without external binaries: ports, outages, slow gateways."""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bss_loadtest.core.errors import ConfigError
from bss_loadtest.run import prometheus as prom


def test_server_serves_metrics_and_stops(fake_state):
    fake_state.stats.record("GET", "/api/v1/customers/{id}", 12.0)
    server = prom.MetricsServer(prom.build_registry(fake_state), port=0).start()
    try:
        assert server.port and server.url == f"http://127.0.0.1:{server.port}/metrics"
        body = urllib.request.urlopen(server.url, timeout=5).read().decode()
        names = {f.name for f in text_string_to_metric_families(body)}
        assert "bss_loadtest_requests" in names
    finally:
        server.stop()
    server.stop()  # idempotent
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=2)


def test_server_binds_loopback_by_default(fake_state):
    server = prom.MetricsServer(prom.build_registry(fake_state), port=0)
    assert server.bind_address == "127.0.0.1"


def test_port_in_use_is_a_one_line_config_error(fake_state):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as raised:
            prom.MetricsServer(prom.build_registry(fake_state), port=port).start()
    assert str(raised.value) == f"--prometheus-port {port}: address already in use"
    assert raised.value.exit_code == 104


def test_port_freed_after_stop(fake_state):
    registry = prom.build_registry(fake_state)
    first = prom.MetricsServer(registry, port=0).start()
    port = first.port
    first.stop()
    second = prom.MetricsServer(registry, port=port).start()
    second.stop()


def test_pusher_rejects_bad_configuration(fake_state):
    registry = prom.build_registry(fake_state)
    with pytest.raises(ConfigError, match="--push-interval"):
        prom.Pusher(registry, "http://127.0.0.1:9091", run_id="r", interval=0)
    with pytest.raises(ConfigError, match="--pushgateway"):
        prom.Pusher(registry, "ftp://127.0.0.1:9091", run_id="r")


def test_pusher_url_keeps_no_credentials(fake_state):
    pusher = prom.Pusher(prom.build_registry(fake_state), "http://bob:hunter2@127.0.0.1:9091", run_id="r")
    assert pusher.url == "http://127.0.0.1:9091" and "hunter2" not in repr(vars(pusher)["url"])


def test_gateway_down_warns_once_per_outage_and_never_raises(fake_state, prom_helpers, caplog):
    port = prom_helpers.free_port()  # nothing listens there
    pusher = prom.Pusher(prom.build_registry(fake_state), f"http://127.0.0.1:{port}", run_id="r", interval=0.05, timeout=1)
    caplog.set_level(logging.INFO, logger=prom.__name__)
    pusher.start()
    time.sleep(0.5)
    started = time.monotonic()
    landed = pusher.stop(final=True)
    assert time.monotonic() - started < 3
    assert landed is False
    assert pusher.failures >= 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    periodic = [r for r in warnings if "will keep trying" in r.getMessage()]
    final = [r for r in warnings if "final push failed" in r.getMessage()]
    assert len(periodic) == 1, [r.getMessage() for r in warnings]
    assert len(final) == 1
    assert f"127.0.0.1:{port}" in periodic[0].getMessage()
    assert pusher.stop(final=True) is True  # idempotent


def test_slow_gateway_costs_at_most_the_timeout(fake_state, caplog):
    """A gateway that accepts connections but never answers: each push gives up after ``timeout``."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections complete in the backlog; nobody reads or answers
        port = silent.getsockname()[1]
        pusher = prom.Pusher(prom.build_registry(fake_state), f"127.0.0.1:{port}", run_id="r", interval=60, timeout=0.5)
        started = time.monotonic()
        assert pusher.push() is False
        elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.5


def test_pushes_never_run_on_the_callers_thread(fake_state, monkeypatch):
    threads: list[str] = []
    monkeypatch.setattr(prom, "push_to_gateway", lambda *a, **k: threads.append(threading.current_thread().name))
    pusher = prom.Pusher(prom.build_registry(fake_state), "http://127.0.0.1:1", run_id="r", interval=0.02)
    pusher.start()
    deadline = time.monotonic() + 5
    while len(threads) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    pusher.stop(final=False)
    assert len(threads) >= 3 and set(threads) == {"bss-loadtest-pusher"}


def test_recovery_is_logged_and_warning_repeats_for_a_new_outage(fake_state, monkeypatch, caplog):
    outcomes = iter([OSError("down"), OSError("down"), None, OSError("down again"), None])

    def fake_push(*args, **kwargs):
        error = next(outcomes)
        if error:
            raise error

    monkeypatch.setattr(prom, "push_to_gateway", fake_push)
    caplog.set_level(logging.INFO, logger=prom.__name__)
    pusher = prom.Pusher(prom.build_registry(fake_state), "http://127.0.0.1:1", run_id="r")
    assert [pusher.push() for _ in range(5)] == [False, False, True, False, True]
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == ["WARNING", "INFO", "WARNING", "INFO"]


def test_push_uses_job_and_run_id_grouping_key(fake_state, monkeypatch):
    calls = []
    monkeypatch.setattr(prom, "push_to_gateway", lambda gateway, **kwargs: calls.append((gateway, kwargs)))
    pusher = prom.Pusher(prom.build_registry(fake_state), "http://127.0.0.1:9091", run_id="run-9", timeout=2)
    assert pusher.stop(final=True) is True
    ((gateway, kwargs),) = calls
    assert gateway == "http://127.0.0.1:9091"
    assert kwargs["job"] == "bss_loadtest" and kwargs["grouping_key"] == {"run_id": "run-9"}
    assert kwargs["timeout"] == 2
