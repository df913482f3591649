"""The one URL redaction, URL checks and run ids: pure checks, one line each."""

import pytest

from bss_loadtest.core import hosts
from bss_loadtest.core.errors import ConfigError
from bss_loadtest.core.run_ids import RUN_ID_MAX_CHARS, check_run_id


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://user:pass@host:8080/x?token=1#f", "http://host:8080/x"),
        ("http://user:p@ss@host:8080", "http://host:8080"),
        ("http://bob:pw@[::1:8080", "http://[::1:8080"),  # does not parse: redacted by text
        ("http://bob:pw@[::1:8080/path?q=1", "http://[::1:8080/path"),
        ("bob:pw@host:9091", "host:9091"),
        ("https://host", "https://host"),
        ("", ""),
        (None, ""),
    ],
)
def test_redact_url(url, expected):
    assert hosts.redact_url(url) == expected


@pytest.mark.parametrize(
    "host", ["http://bob:pw@[::1:8080", "ftp://bob:pw@host", "http://bob:pw@host:99999", "http://bob:pw@host/api"]
)
def test_a_bad_host_is_refused_without_its_password(host):
    with pytest.raises(ConfigError) as raised:
        hosts.check_host(host)
    assert "pw" not in raised.value.message and raised.value.message.startswith("--host ")


@pytest.mark.parametrize("url", ["notaurl", "ftp://host/token", "http://", "http://[::1/token", "http://h:99999/t"])
def test_check_url_refuses_what_is_not_an_http_url(url):
    with pytest.raises(ConfigError, match="^--token-url "):
        hosts.check_url(url, "--token-url")


def test_check_url_accepts_a_token_url():
    hosts.check_url("https://idp.example.com:8443/realms/bss/protocol/openid-connect/token", "--token-url")


@pytest.mark.parametrize("run_id", ["../../escaped", "a/b/c", "..", ".", ".hidden", "", "a b", "a\\b", "x" * 300, "r\x00"])
def test_a_run_id_that_is_not_one_directory_name_is_refused(run_id):
    with pytest.raises(ConfigError) as raised:
        check_run_id(run_id)
    assert raised.value.message.startswith("--run-id ") and len(raised.value.message) < 200


@pytest.mark.parametrize("run_id", ["20261201T092738Z-9657cd", "nightly-1", "my_run.2", "x" * RUN_ID_MAX_CHARS])
def test_a_run_id_that_names_one_directory_is_kept(run_id):
    assert check_run_id(run_id) == run_id
