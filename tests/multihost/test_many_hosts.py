"""Many hosts: the master, two workers and the reference server, each in a network namespace of
its own (tests/multihost/netns.py), joined by a bridge, talking over real TCP between addresses.

Shown here: the profile and the run id reach the workers; the run's totals equal what the server
counted; a worker whose link is cut mid-run is reported lost and the run ends partial, in bounded
time; a worker that joins after the run started takes its share of the users. Needs root.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from tests.multihost.netns import SUBNET, Network, available, wait_for

from bss_loadtest.core.stats import SIDE_REQUEST_TYPES

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SERVER_PORT = 8080
MASTER_PORT = 5557
METRICS_PORT = 9646
START_TIMEOUT_S = 30
"""How long a process may take to come up (Locust imports take a few seconds)."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.multihost,
    pytest.mark.skipif(available() is not None, reason=available() or ""),
]

PROFILE = """\
description: Many hosts test, {seconds} s of CustomerUser only (the mix reaches the workers).
stages:
{stages}
users:
  CustomerUser: 1
think_time: {{min: 0.1, max: 0.3}}
# Guarded, and the test's own network listed: no --allow-host, no other target.
allowed_hosts: ["{subnet}.0/24"]
guard_hosts: true
"""

CUSTOMER_NAMES = re.compile(r"^/api/v1/customers")


def write_profile(directory: Path, name: str, stages: list[tuple[int, int]]) -> Path:
    lines = "\n".join(f"  - {{duration: {d}s, target: {t}, spawn_rate: 10}}" for d, t in stages)
    path = directory / f"{name}.yaml"
    path.write_text(PROFILE.format(seconds=sum(d for d, _ in stages), stages=lines, subnet=SUBNET))
    return path


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """The bridge and the server's namespace, with the reference server in it; workers and
    masters get namespaces of their own per test (``lab``)."""
    logs = tmp_path_factory.mktemp("multihost")
    net = Network().create()
    try:
        server = net.add_host("srv", 2)
        net.add_host("master", 3)
        net.add_host("w1", 4)
        net.add_host("w2", 5)
        log = logs / "server.log"
        process = net.start(server, [PYTHON, "-m", "bss_reference", "--host", server.address,
                                     "--port", str(SERVER_PORT), "--db", ":memory:"], log, cwd=ROOT)
        wait_for(lambda: "listening on" in log.read_text() or process.poll() is not None, START_TIMEOUT_S,
                 "the reference server")
        assert process.poll() is None, log.read_text()[-3000:]
        yield net
    finally:
        net.close()


class Lab:
    """One test's master and workers in the module's namespaces; ended by PID at the test's end."""

    def __init__(self, net: Network, directory: Path) -> None:
        self.net = net
        self.dir = directory
        self.reports = directory / "reports"
        self.request_log = directory / "requests.csv"
        self.run_id = "mh-" + directory.name[-12:].strip("_-").replace("_", "-")
        self.started: list[subprocess.Popen] = []

    @property
    def host_url(self) -> str:
        return f"http://{self.net.hosts['srv'].address}:{SERVER_PORT}"

    def master(self, profile: Path, expect_workers: int, *extra: str) -> subprocess.Popen:
        master = self.net.hosts["master"]
        command = [
            PYTHON, "-m", "locust", "-f", str(ROOT / "loadtests"), "--headless", "--master",
            "--master-bind-host", master.address, "--master-bind-port", str(MASTER_PORT),
            "--expect-workers", str(expect_workers), "--profile", str(profile), "--host", self.host_url,
            "--report-dir", str(self.reports), "--run-id", self.run_id,
            "--request-log", str(self.request_log), *(extra or ("--prometheus-port", "0")),
        ]
        process = self.net.start(master, command, self.dir / "master.log", cwd=ROOT)
        self.started.append(process)
        return process

    def worker(self, name: str) -> subprocess.Popen:
        command = [PYTHON, "-m", "locust", "-f", str(ROOT / "loadtests"), "--worker",
                   "--master-host", self.net.hosts["master"].address, "--master-port", str(MASTER_PORT)]
        process = self.net.start(self.net.hosts[name], command, self.dir / f"{name}.log", cwd=ROOT)
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait(self, process: subprocess.Popen, timeout: float) -> int:
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the master did not end within {timeout} s:\n{self.log('master')[-4000:]}") from None

    @property
    def summary(self) -> dict:
        return json.loads((self.reports / "runs" / self.run_id / "summary.json").read_text())

    def request_logs(self, process: subprocess.Popen) -> list[list[str]]:
        """The rows of one worker's request log (``--request-log PATH`` writes ``PATH.<pid>``;
        ``ip netns exec`` execs Locust, so the PID is the worker's)."""
        path = Path(f"{self.request_log}.{process.pid}")
        return list(csv.reader(path.open())) if path.exists() else []

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                self.net.kill(process)


@pytest.fixture
def lab(network, tmp_path):
    lab = Lab(network, tmp_path)
    try:
        yield lab
    finally:
        lab.close()
        for host in ("master", "w1", "w2"):
            network.hosts[host].link(up=True)


def scrape(net: Network, url: str, source: str = "master") -> str:
    """GET ``url`` from inside a namespace (the root namespace cannot reach any of them)."""
    code = f"import urllib.request,sys;sys.stdout.write(urllib.request.urlopen({url!r},timeout=5).read().decode())"
    result = subprocess.run([*net.hosts[source].exec_prefix(), PYTHON, "-c", code], capture_output=True,
                            text=True, timeout=20)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def server_requests(text: str) -> int:
    """Business requests the server counted (``http_server_requests_seconds_count`` under /api)."""
    total = 0
    for line in text.splitlines():
        if line.startswith("http_server_requests_seconds_count{") and 'uri="/api/' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def test_two_workers_get_the_profile_and_run_id_and_the_totals_match_the_server(lab, tmp_path):
    profile = write_profile(tmp_path, "two-workers", [(12, 4)])
    before = server_requests(scrape(lab.net, lab.host_url + "/actuator/prometheus"))
    started = time.monotonic()
    # /metrics on the master's own address, as in a pod: only with --expose-metrics.
    metrics_url = f"http://{lab.net.hosts['master'].address}:{METRICS_PORT}/metrics"
    master = lab.master(profile, 2, "--prometheus-port", str(METRICS_PORT),
                        "--prometheus-host", lab.net.hosts["master"].address, "--expose-metrics")
    workers = [lab.worker("w1"), lab.worker("w2")]
    wait_for(lambda: "All users spawned" in lab.log("master"), START_TIMEOUT_S, "the users to start")
    live = scrape(lab.net, metrics_url, source="srv")
    assert f'run_id="{lab.run_id}"' in live, live[:2000]
    code = lab.wait(master, 12 + 60)
    elapsed = time.monotonic() - started
    summary = lab.summary
    assert code == 0, lab.log("master")[-4000:]
    assert summary["status"] == "complete" and summary["workers"] == {"count": 2, "lost": []}, summary["workers"]
    assert summary["profile"] == "two-workers" and elapsed < 60

    # The run id reached each worker (its users' test data is tagged with it) and so did the
    # profile: each worker ran its mix (CustomerUser only) and made requests.
    rows = {}
    for name, worker in zip(("w1", "w2"), workers, strict=True):
        assert f"BSS client: run id {lab.run_id}" in lab.log(name), lab.log(name)[-3000:]
        rows[name] = lab.request_logs(worker)
        business = [r for r in rows[name] if r[1] not in SIDE_REQUEST_TYPES]
        assert business, f"{name} made no request"
        assert all(CUSTOMER_NAMES.match(r[2]) for r in business), Counter(r[2] for r in business)

    # The totals are every request the workers made, and what the server served.
    made = sum(1 for name in rows for r in rows[name] if r[1] not in SIDE_REQUEST_TYPES)
    assert summary["totals"]["count"] == made
    reconciliation = summary["reconciliation"]
    assert reconciliation is not None and reconciliation["reconciled"], reconciliation
    assert reconciliation["endpoints_compared"] > 0 and reconciliation["mismatches"] == []
    # And by the server's own count, read here: every business request, plus the test-data cleanup's
    # (its deletes and its sweep's searches).
    after = server_requests(scrape(lab.net, lab.host_url + "/actuator/prometheus"))
    cleanup = summary["cleanup"]
    assert 1 <= cleanup["requests"].get("GET /api/v1/customers/search", 0) <= len(workers), cleanup
    assert after - before == made + sum(cleanup["requests"].values()), (after - before, made, cleanup)


def test_a_worker_whose_link_is_cut_is_reported_lost_and_the_run_ends_partial(lab, tmp_path):
    seconds = 20
    profile = write_profile(tmp_path, "cut-link", [(seconds, 4)])
    # Locust's own liveness (missing after over 4 s without a heartbeat) rather than the suite's
    # default of 10, so that the cut is noticed well inside the profile's remaining 16 s.
    master = lab.master(profile, 2, "--prometheus-port", "0", "--heartbeat-liveness", "3")
    kept = lab.worker("w1")
    cut = lab.worker("w2")
    wait_for(lambda: "All users spawned" in lab.log("master"), START_TIMEOUT_S, "the users to start")
    time.sleep(4)  # mid-run: the worker's users are making requests (its request log is written at the end)
    assert cut.poll() is None
    lab.net.hosts["w2"].link(up=False)
    cut_at = time.monotonic()
    code = lab.wait(master, seconds + 45)
    ended_in = time.monotonic() - cut_at
    summary = lab.summary
    assert summary["status"] == "partial", summary["partial_reason"]
    assert len(summary["workers"]["lost"]) == 1 and summary["workers"]["count"] == 2, summary["workers"]
    assert "lost" in summary["partial_reason"], summary["partial_reason"]
    assert code == summary["exit_code"]
    # The profile's remaining time plus the flush of the worker still there: no wait on the lost one.
    assert ended_in < seconds + 15, (ended_in, lab.log("master")[-3000:])
    # What the lost worker had not reported yet was served but never counted: the reconciliation
    # says so (the server saw more, never less), rather than the run passing as whole.
    kept_requests = sum(1 for r in lab.request_logs(kept) if r[1] not in SIDE_REQUEST_TYPES)
    assert summary["totals"]["count"] >= kept_requests > 0  # the kept worker's, and the lost one's until cut
    reconciliation = summary["reconciliation"]
    assert not reconciliation["reconciled"], reconciliation
    assert all(m["target"] > m["suite"] for m in reconciliation["mismatches"]), reconciliation


def test_a_worker_that_joins_late_takes_its_share(lab, tmp_path):
    # One stage that holds 4 users: the late worker's share comes from Locust spreading the users
    # again when a worker connects, not from a change of the target.
    profile = write_profile(tmp_path, "late-join", [(18, 4)])
    master = lab.master(profile, expect_workers=1)
    first = lab.worker("w1")
    wait_for(lambda: "All users spawned" in lab.log("master"), START_TIMEOUT_S, "the first worker's users")
    late = lab.worker("w2")
    code = lab.wait(master, 18 + 60)
    summary = lab.summary
    assert code == 0, lab.log("master")[-4000:]
    assert summary["status"] == "complete" and summary["workers"] == {"count": 2, "lost": []}, summary["workers"]
    assert "Sending spawn jobs of 4 users at 10.00 spawn rate to 2 ready workers" in lab.log("master")
    assert f"BSS client: run id {lab.run_id}" in lab.log("w2"), lab.log("w2")[-3000:]
    # Its share: what the run counted beyond the first worker's own requests, at least a quarter
    # of what the first worker did over the whole run (it ran alone for the first seconds).
    early = sum(1 for r in lab.request_logs(first) if r[1] not in SIDE_REQUEST_TYPES)
    joined = summary["totals"]["count"] - early
    assert joined >= early / 4, (joined, early)
    deleted = re.search(r"Cleanup: (\d+) deleted", lab.log("w2"))
    assert deleted and int(deleted.group(1)) > 0, lab.log("w2")[-3000:]
    reconciliation = summary["reconciliation"]
    # Even when its first spawn came while it waited for the master's ack (before Locust's init),
    # the late worker's run started: its request log exists and its cleanup report reached the master.
    assert Path(f"{lab.request_log}.{late.pid}").exists(), lab.log("w2")[-3000:]
    assert reconciliation is not None and reconciliation["reconciled"], reconciliation
