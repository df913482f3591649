"""The suite's work-arounds for Locust's own costs (run/locust_fixes.py)."""

from __future__ import annotations

from locust import argument_parser
from locust.event import Events

from bss_loadtest.run import locust_fixes, plugin


def uncached():
    return getattr(argument_parser.default_args_dict, "bss_original", argument_parser.default_args_dict)


def test_default_args_are_parsed_once_and_each_caller_gets_its_own_copy(monkeypatch):
    original = uncached()
    calls = []

    def counted():
        calls.append(1)
        return original()

    monkeypatch.setattr(argument_parser, "default_args_dict", counted)
    locust_fixes.cache_default_args()
    cached = argument_parser.default_args_dict
    assert cached is not counted and cached.bss_original is counted
    first = cached()
    assert first == original()
    first["num_users"] = "changed by a caller"
    # A worker's spawn message asks once per forwarded option: the parser runs once in all.
    for _ in range(80):
        assert cached()["num_users"] != "changed by a caller"
    assert len(calls) == 1
    locust_fixes.cache_default_args()  # idempotent: no cache around the cache
    assert argument_parser.default_args_dict is cached


def test_register_installs_the_cache_and_the_defaults_are_locusts_own(monkeypatch):
    monkeypatch.setattr(argument_parser, "default_args_dict", uncached())
    plugin.register(Events())
    assert getattr(argument_parser.default_args_dict, "bss_cached", False)
    defaults = argument_parser.default_args_dict()
    # The worker keeps a forwarded option only if it is not one of Locust's own: the suite's stay.
    assert "num_users" in defaults and "spawn_rate" in defaults
    assert "think_time" not in defaults and "report_dir" not in defaults
    assert defaults == uncached()()
