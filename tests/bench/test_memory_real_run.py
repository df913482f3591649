"""The pure parts of bench/memory_real_run.py: /proc parsing, finding a process's children, the
requests from /metrics, the growth after the warm-up and its verdict. No run, no timing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import memory_real_run as m  # noqa: E402

STATUS = """Name:\tpython
Umask:\t0022
State:\tS (sleeping)
Pid:\t4242
PPid:\t4200
VmPeak:\t  300000 kB
VmSize:\t  290000 kB
VmHWM:\t   80000 kB
VmRSS:\t   70212 kB
RssAnon:\t   50000 kB
Threads:\t3
"""


def test_vmrss_is_read_in_kib_and_absent_for_a_zombie():
    assert m.parse_vmrss_kib(STATUS) == 70212
    assert m.parse_vmrss_kib("Name:\tpython\nState:\tZ (zombie)\nPid:\t1\n") is None


def test_ppid_survives_a_command_with_spaces_and_parentheses():
    assert m.parse_ppid("4242 (python) S 4200 4242 4242 0 -1 4194304") == 4200
    assert m.parse_ppid("4243 (locust: a (b) c) R 4242 4242 4242 0 -1") == 4242


def test_children_are_found_by_parent_pid(tmp_path):
    for pid, ppid in ((10, 1), (11, 10), (12, 10), (13, 11)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (py thon) S {ppid} {pid} {pid} 0 -1\n")
        (tmp_path / str(pid) / "status").write_text(STATUS.replace("70212", str(1000 * pid)))
    (tmp_path / "self").mkdir()  # not a PID
    (tmp_path / "14").mkdir()  # gone: no stat
    assert m.children_of(10, proc=tmp_path) == [11, 12]
    assert m.children_of(13, proc=tmp_path) == []
    assert m.rss_kib(12, proc=tmp_path) == 12000
    assert m.rss_kib(99, proc=tmp_path) is None


def test_this_process_is_readable_in_the_real_proc():
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc")
    assert m.rss_kib(os.getpid()) > 1000
    assert os.getpid() in m.children_of(os.getppid())


def test_requests_from_metrics_sum_the_business_requests():
    text = "\n".join([
        "# HELP bss_loadtest_requests_total requests",
        "# TYPE bss_loadtest_requests_total counter",
        'bss_loadtest_requests_total{run_id="r",method="GET",name="/api/v1/customers/{id}",outcome="success"} 120.0',
        'bss_loadtest_requests_total{run_id="r",method="POST",name="/api/v1/orders",outcome="server_error"} 3.0',
        'bss_loadtest_requests_total{run_id="r",method="AUTH",name="token",outcome="success"} 7.0',
        'bss_loadtest_requests_total{run_id="r",method="CONNECT",name="127.0.0.1:8080",outcome="success"} 5.0',
        'bss_loadtest_request_duration_seconds_count{run_id="r",method="GET",name="/x"} 999.0',
    ])
    assert m.requests_from_metrics(text) == 123
    assert m.requests_from_metrics("") == 0


def test_slope_is_least_squares():
    assert m.slope_per_minute([(0, 1.0), (1, 3.0), (2, 5.0)]) == pytest.approx(2.0)
    assert m.slope_per_minute([(0, 1.0), (1, 2.0), (2, 1.0), (3, 2.0)]) == pytest.approx(0.2)
    assert m.slope_per_minute([(1, 1.0)]) is None
    assert m.slope_per_minute([(1, 1.0), (1, 2.0)]) is None


def test_growth_leaves_out_the_warm_up_and_scales_to_10_minutes_and_an_hour():
    # 10 MiB in the first 5 minutes (warm-up), then 0.05 MiB a minute: 0.5 per 10 min, 3 per hour.
    samples = [{"minute": t / 2, "master": (t / 2 * 2 if t <= 10 else 10 + (t / 2 - 5) * 0.05)}
               for t in range(0, 61)]
    g = m.growth(samples, "master", warmup_min=5)
    assert g["samples"] == 51
    assert g["per_10_min"] == pytest.approx(0.5)
    assert g["per_hour"] == pytest.approx(3.0)
    assert (g["from_mib"], g["to_mib"], g["span_min"]) == (pytest.approx(10.0), pytest.approx(11.25), 25.0)
    assert m.verdict(g["per_hour"]).startswith("PASS")
    assert m.verdict(5.01).startswith("FAIL")
    assert m.verdict(None).startswith("no verdict")


def test_growth_skips_missing_samples_and_needs_two():
    samples = [{"minute": 6.0, "worker1": None}, {"minute": 7.0, "worker1": 60.0}]
    assert m.growth(samples, "worker1", warmup_min=5) is None
    samples.append({"minute": 8.0, "worker1": 61.0})
    assert m.growth(samples, "worker1", warmup_min=5)["per_hour"] == pytest.approx(60.0)


def test_the_profile_is_one_the_suite_accepts(tmp_path):
    from bss_loadtest.core import profiles

    path = tmp_path / "memory-real-run.yaml"
    path.write_text(m.PROFILE.format(users=40, hold=29))
    profile = profiles.load_profile(str(path))
    assert profile.total_duration_s == 30 * 60


def test_the_probe_lines_are_summed_per_round_over_processes_and_a_torn_line_is_skipped(tmp_path):
    path = tmp_path / "probe.jsonl"
    path.write_text(
        '{"minute": 0.0, "pid": 1, "users": 0, "pool_items": 0, "registry": 0, "gc_objects": 100}\n'
        '{"minute": 0.1, "pid": 2, "users": 0, "pool_items": 0, "registry": null, "gc_objects": 90}\n'
        '{"minute": 0.5, "pid": 1, "users": 20, "pool_items": 300, "registry": 40, "gc_objects": 150}\n'
        '{"minute": 0.6, "pid": 2, "users": 20, "pool_items": 200, "registry": 30, "gc_objects": 140}\n'
        '{"minute": 1.0, "pid": 1, "users": 20, "pool_'
    )
    rows = m.read_probe(path)
    assert len(rows) == 4
    totals = m.probe_totals(rows)
    assert totals == [
        {"minute": 0.1, "users": 0, "pool_items": 0, "registry": 0, "gc_objects": 190, "blocks": 0, "malloc_bytes": 0},
        {"minute": 0.6, "users": 40, "pool_items": 500, "registry": 70, "gc_objects": 290, "blocks": 0, "malloc_bytes": 0},
    ]
    assert m.read_probe(tmp_path / "missing.jsonl") == []
