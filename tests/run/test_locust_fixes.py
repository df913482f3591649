"""The suite's work-arounds for Locust's own costs (run/locust_fixes.py)."""

from __future__ import annotations

import csv

import gevent
from locust import argument_parser
from locust.env import Environment
from locust.event import Events
from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter

from bss_loadtest.reports import results
from bss_loadtest.reports.results import ResultsWriteError
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


def csv_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_csv_files_get_the_numbers_of_the_last_second_when_they_are_closed(tmp_path):
    locust_fixes.write_csv_at_close()
    environment = Environment(events=Events())
    writer = StatsCSVFileWriter(environment, PERCENTILES_TO_REPORT, str(tmp_path / "run"))
    writing = gevent.spawn(writer.stats_writer)
    environment.stats.log_request("POST", "/api/v1/customers", 12.0, 100)
    gevent.sleep(0.2)  # the writer's first pass: one request, then it sleeps for a second
    assert [r["Request Count"] for r in csv_rows(tmp_path / "run_stats.csv") if r["Name"] == "/api/v1/customers"] == ["1"]
    # the last requests of a run: finished after that pass, less than a second before the end
    environment.stats.log_request("POST", "/api/v1/customers", 15.0, 100)
    environment.stats.log_request("GET", "/api/v1/customers/{id}", 3.0, 50)
    environment.stats.log_error("GET", "/api/v1/customers/{id}", "HTTP 503")
    writer.close_files()
    writing.kill()
    counts = {(r["Type"], r["Name"]): (r["Request Count"], r["Failure Count"])
              for r in csv_rows(tmp_path / "run_stats.csv")}
    assert counts == {("POST", "/api/v1/customers"): ("2", "0"), ("GET", "/api/v1/customers/{id}"): ("1", "1"),
                      ("", "Aggregated"): ("3", "1")}
    assert [(r["Name"], r["Error"], r["Occurrences"]) for r in csv_rows(tmp_path / "run_failures.csv")] == [
        ("/api/v1/customers/{id}", "HTTP 503", "1")]
    assert csv_rows(tmp_path / "run_exceptions.csv") == []
    assert writer.requests_csv_filehandle.closed and writer.failures_csv_filehandle.closed


def test_a_last_write_that_fails_is_one_warning_and_leaves_locusts_own_files_whole(tmp_path, caplog, monkeypatch):
    locust_fixes.write_csv_at_close()
    environment = Environment(events=Events())
    writer = StatsCSVFileWriter(environment, PERCENTILES_TO_REPORT, str(tmp_path / "run"))
    writing = gevent.spawn(writer.stats_writer)
    environment.stats.log_request("GET", "/api/assets", 3.0, 50)
    gevent.sleep(0.2)
    environment.stats.log_request("GET", "/api/assets", 4.0, 50)

    def full_disk(path, data, **kwargs):
        raise ResultsWriteError(f"{path}: cannot write: No space left on device")

    monkeypatch.setattr(results, "atomic_write_bytes", full_disk)
    writer.close_files()
    writing.kill()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "No space left on device" in warnings[0], warnings
    # Locust's own last write, whole: a second short, not cut
    assert [(r["Name"], r["Request Count"]) for r in csv_rows(tmp_path / "run_stats.csv")] == [
        ("/api/assets", "1"), ("Aggregated", "1")]
    assert all(h.closed for h in (writer.requests_csv_filehandle, writer.stats_history_csv_filehandle,
                                  writer.failures_csv_filehandle, writer.exceptions_csv_filehandle))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run_exceptions.csv", "run_failures.csv", "run_stats.csv", "run_stats_history.csv"]


def test_register_makes_the_csv_writer_write_at_close_once():
    plugin.register(Events())
    close = StatsCSVFileWriter.close_files
    assert getattr(close, "bss_final_write", False)
    locust_fixes.write_csv_at_close()
    assert StatsCSVFileWriter.close_files is close  # idempotent: one final write, not one per call
