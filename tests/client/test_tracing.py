"""Trace context, baggage and the run-id header on every request; switched off per target config."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import textwrap
from urllib.parse import unquote

import pytest
from tests.json_stub import json_server

from bss_loadtest.client.config import TargetConfig, TracingConfig, load_target_config
from bss_loadtest.client.options import client_settings, trace_sample
from bss_loadtest.client.tracing import RequestTracing, baggage, new_ids
from bss_loadtest.core.errors import ConfigError

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])")


def parse_baggage(value: str) -> dict[str, str]:
    members = {}
    for member in value.split(","):
        key, _, raw = member.partition("=")
        # W3C baggage: a value is baggage-octets only (no space, '"', ',', ';', '\\'), percent-encoded
        assert re.fullmatch(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*", raw), raw
        members[key.strip()] = unquote(raw)
    return members


def test_ids_are_random_hex_of_w3c_length():
    ids = [new_ids() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) and re.fullmatch(r"[0-9a-f]{16}", s) for t, s in ids)
    assert len({t for t, _ in ids}) == len(ids) and len({s for _, s in ids}) == len(ids)


def test_an_all_zero_id_is_never_used(monkeypatch):
    draws = iter([bytes(24), bytes(16) + b"\x01" * 8, b"\x02" * 16 + bytes(8), b"\x03" * 24])
    monkeypatch.setattr("bss_loadtest.client.tracing.os.urandom", lambda n: next(draws))
    assert new_ids() == ("03" * 16, "03" * 8)
    tracing = RequestTracing(TracingConfig(), run_id="r", user_class="U")
    for first in (bytes(24), b"\x01" * 16 + bytes(8)):
        draws = iter([first, b"\x04" * 24])
        assert tracing.headers()[1]["traceparent"] == f"00-{'04' * 16}-{'04' * 8}-01"


def test_headers_of_a_request():
    tracing = RequestTracing(TracingConfig(), run_id="run 42,ü;x", user_class="CustomerUser")
    # per user: baggage and the run id (the client sets them once, on its session)
    assert set(tracing.static) == {"baggage", "X-Load-Test-Run-Id"}
    assert parse_baggage(tracing.static["baggage"]) == {"loadtest.run_id": "run 42,ü;x",
                                                        "loadtest.user_class": "CustomerUser"}
    assert tracing.static["X-Load-Test-Run-Id"] == "run 42,ü;x"
    # per request: base plus a fresh traceparent, in a new dict
    base = {"Content-Type": "application/json"}
    trace_id, headers = tracing.headers(base)
    assert headers == {"Content-Type": "application/json", "traceparent": headers["traceparent"]}
    assert base == {"Content-Type": "application/json"}
    match = TRACEPARENT.fullmatch(headers["traceparent"])
    assert match and match.group(1) == trace_id and match.group(3) == "01"
    other, again = tracing.headers()
    assert other != trace_id and set(again) == {"traceparent"}
    assert baggage({"k": "a=b c"}) == "k=a%3Db%20c"


@pytest.mark.parametrize("switch", ["traceparent", "baggage", "run_id_header"])
def test_each_header_is_switched_off_by_the_target_config(switch):
    names = {"traceparent": "traceparent", "baggage": "baggage", "run_id_header": "X-Run"}
    config = TracingConfig(**{switch: False, "run_id_header_name": "X-Run"})
    tracing = RequestTracing(config, run_id="r1", user_class="U")
    trace_id, headers = tracing.headers()
    assert set(tracing.static) | set(headers or {}) == set(names.values()) - {names[switch]}
    assert (trace_id is None) == (switch == "traceparent")


def test_everything_off_sends_no_headers():
    config = TracingConfig(traceparent=False, baggage=False, run_id_header=False)
    assert RequestTracing(config, run_id="r", user_class="U").static == {}
    assert RequestTracing(config, run_id="r", user_class="U").headers() == (None, None)
    assert RequestTracing(config, run_id="r", user_class="U").headers({"A": "b"}) == (None, {"A": "b"})


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 1.0])
def test_sampled_fraction(fraction):
    rng = random.Random(5)
    tracing = RequestTracing(TracingConfig(), run_id="r", user_class="U", sample=fraction, rng=rng.random)
    flags, kept = [], 0
    for _ in range(4000):
        trace_id, headers = tracing.headers()
        flag = TRACEPARENT.fullmatch(headers["traceparent"]).group(3)
        flags.append(flag)
        # only a sampled request's trace id is handed to the statistics: its trace is kept
        assert (trace_id is not None) == (flag == "01")
        kept += trace_id is not None
    assert abs(kept / 4000 - fraction) < 0.03
    assert set(flags) <= {"00", "01"}


def test_target_config_tracing_block(tmp_path):
    assert load_target_config("targets/reference.yaml").tracing == TracingConfig()
    assert TargetConfig().tracing.run_id_header_name == "X-Load-Test-Run-Id"
    path = tmp_path / "t.yaml"
    path.write_text("tracing:\n  baggage: false\n  run_id_header_name: X-Test-Run\n")
    assert load_target_config(path).tracing == TracingConfig(baggage=False, run_id_header_name="X-Test-Run")
    for bad, message in (("run_id_header_name: 'X Run'", "not an HTTP header name"),
                         ("run_id_header_name: Authorization", "sets that header itself"),
                         ("traceparnt: false", "traceparnt")):
        path.write_text(f"tracing:\n  {bad}\n")
        with pytest.raises(ConfigError, match=message) as error:
            load_target_config(path)
        assert str(path) in str(error.value) and "tracing." in str(error.value)


class _Options:
    def __init__(self, **values):
        self.__dict__.update(values)


class _Env:
    def __init__(self, **values):
        self.parsed_options = _Options(**values)


def test_trace_sample_option(monkeypatch):
    monkeypatch.delenv("BSS_TRACE_SAMPLE", raising=False)
    assert client_settings(_Env()).trace_sample == 1.0
    assert client_settings(_Env(trace_sample="0")).trace_sample == 0.0
    assert client_settings(_Env(trace_sample=0.0)).trace_sample == 0.0
    assert client_settings(_Env(trace_sample="0.25")).trace_sample == 0.25
    monkeypatch.setenv("BSS_TRACE_SAMPLE", "0.5")
    assert client_settings(_Env()).trace_sample == 0.5
    for bad in ("1.5", "-0.1", "nan", "abc"):
        with pytest.raises(ConfigError, match=r"^--trace-sample '.*': must be a number from 0 to 1$"):
            trace_sample(bad)


# -- what a real BssUser sends (Locust in a subprocess: importing it here would patch pytest) --

USER_SCRIPT = textwrap.dedent('''
    import sys
    from locust.env import Environment
    from locust.event import Events
    from bss_loadtest.client.base import BssUser

    host, target_config = sys.argv[1], sys.argv[2]

    class TracedUser(BssUser):
        pass

    TracedUser.host = host

    class Options:
        no_auth = True
        run_id = "run-77"
        target_config = sys.argv[2]

    events = Events()
    seen = []
    events.request.add_listener(lambda request_type, context, **kw: request_type == "CONNECT" or seen.append(dict(context)))
    env = Environment(user_classes=[TracedUser], events=events, parsed_options=Options())
    user = TracedUser(env)
    user.api.call("customers.get", path={"id": "c-1"})       # 200
    user.api.call("customers.get", path={"id": "missing"})   # 404
    print("CONTEXTS", __import__("json").dumps(seen))
''')


CUSTOMER = json.dumps({"id": "c-1", "firstName": "A", "lastName": "B", "email": "a@example.com",
                       "status": "ACTIVE", "createdAt": "2025-01-01T00:00:00", "updatedAt": "2025-01-01T00:00:00",
                       "version": 0}).encode()


@pytest.fixture
def recorder():
    seen: list[dict[str, str]] = []

    def answer(method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        seen.append(headers)
        return (404, b"{}") if "missing" in path else (200, CUSTOMER)

    with json_server(answer) as server:
        yield server, seen


def run_user(server, target_config: str) -> list[dict]:
    result = subprocess.run([sys.executable, "-c", USER_SCRIPT, f"http://127.0.0.1:{server.server_port}",
                             target_config], capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stdout.splitlines() if line.startswith("CONTEXTS ")]
    assert lines, result.stderr[-3000:]
    return json.loads(lines[0].removeprefix("CONTEXTS "))


def test_a_user_sends_the_headers_and_reports_trace_id_and_status(recorder):
    server, seen = recorder
    contexts = run_user(server, "")
    assert len(seen) == 2 and len(contexts) == 2
    for headers, context in zip(seen, contexts, strict=True):
        match = TRACEPARENT.fullmatch(headers["traceparent"])
        assert match and match.group(3) == "01"
        assert context["trace_id"] == match.group(1) and context["user_class"] == "TracedUser"
        assert parse_baggage(headers["baggage"]) == {"loadtest.run_id": "run-77", "loadtest.user_class": "TracedUser"}
        assert headers["X-Load-Test-Run-Id"] == "run-77"
    assert [c["status"] for c in contexts] == [200, 404]
    assert seen[0]["traceparent"] != seen[1]["traceparent"]


def test_a_target_config_switches_them_off(recorder, tmp_path):
    server, seen = recorder
    config = tmp_path / "quiet.yaml"
    config.write_text("tracing:\n  traceparent: false\n  baggage: false\n  run_id_header_name: X-Run\n")
    contexts = run_user(server, str(config))
    assert all("traceparent" not in h and "baggage" not in h and h["X-Run"] == "run-77" for h in seen)
    assert all("trace_id" not in c for c in contexts) and [c["status"] for c in contexts] == [200, 404]
