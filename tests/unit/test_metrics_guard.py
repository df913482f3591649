"""``/metrics`` on a non-loopback ``--prometheus-host`` only with ``--expose-metrics``, as the web UI."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bss_loadtest.core import errors
from bss_loadtest.run.preflight import check_metrics


def options(host: str, *, port: int = 9646, expose: bool = False) -> SimpleNamespace:
    return SimpleNamespace(prometheus_host=host, prometheus_port=port, expose_metrics=expose)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_flag(host):
    check_metrics(options(host))


@pytest.mark.parametrize("host", ["0.0.0.0", "10.231.0.3", ""])
def test_another_address_is_refused_without_expose_metrics(host):
    with pytest.raises(errors.ConfigError) as raised:
        check_metrics(options(host))
    assert raised.value.exit_code == errors.INVALID_CONFIG
    assert "--prometheus-host" in str(raised.value) and "--expose-metrics" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_expose_metrics_allows_a_pod_address():
    check_metrics(options("0.0.0.0", expose=True))


def test_no_metrics_endpoint_no_check():
    check_metrics(options("0.0.0.0", port=0))
