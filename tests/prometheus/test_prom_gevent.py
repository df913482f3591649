"""Under gevent's monkey-patching (as inside Locust): the server answers and the pusher never blocks the loop.

Runs in a subprocess, because monkey-patching the pytest process would affect every other test.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = r'''
from gevent import monkey; monkey.patch_all()
import sys, time, urllib.request, logging, gevent, socket
from bss_loadtest.core.stats import RunStats
from bss_loadtest.run import prometheus as prom
class S:
    stats = RunStats()
    def user_count(self): return 1
    def threshold_results(self): return []
    def run_info(self): return {"run_id": "g", "profile": "smoke", "host": "http://x"}
s = S(); s.stats.record("GET", "/a", 5.0)
reg = prom.build_registry(s)
srv = prom.MetricsServer(reg, port=0).start()
# a ticker greenlet proves the loop is not blocked
ticks = []
def ticker():
    while True:
        ticks.append(time.monotonic()); gevent.sleep(0.01)
g = gevent.spawn(ticker)
body = urllib.request.urlopen(srv.url, timeout=5).read()
assert b"bss_loadtest_requests_total" in body
with socket.socket() as silent:
    silent.bind(("127.0.0.1", 0)); silent.listen(8)
    p = prom.Pusher(reg, f"http://127.0.0.1:{silent.getsockname()[1]}", run_id="g", interval=0.1, timeout=0.5).start()
    gevent.sleep(1.0)
    n_before = len(ticks)
    t0 = time.monotonic(); landed = p.stop(final=True); took = time.monotonic() - t0
srv.stop(); srv.stop()
g.kill()
gaps = [b - a for a, b in zip(ticks, ticks[1:])]
print("ticks", len(ticks), "max gap %.3f" % max(gaps), "final landed", landed, "stop took %.2f" % took)
assert max(gaps) < 0.2, max(gaps)
print("OK")
'''


@pytest.mark.slow  # seconds of CPU: outside the --fast loop
@pytest.mark.timeout(60)
def test_server_and_pusher_under_gevent_monkey_patching():
    pytest.importorskip("gevent")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=50)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr
