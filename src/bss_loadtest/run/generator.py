"""Generator validity: was the load generator's CPU saturated (so it made less load than promised)?

Runs inside Locust's gevent loop, but does not import locust.
"""

from __future__ import annotations

import gevent

CPU_SATURATION_PERCENT = 90.0
CPU_SATURATION_SAMPLES = 3
"""A generator above this CPU usage for this many samples made less load than it promised."""

SAMPLE_INTERVAL_S = 1.0


class CpuSampler:
    """This process's CPU usage, sampled every second while a run is on (workers and local); the
    suite holds one per process.

    Locust's own monitor samples every 10 s, too coarse for a short run to notice saturation.
    """

    def __init__(self) -> None:
        self.max = 0.0
        self.high = 0
        self._greenlet = None

    def start(self) -> None:
        self.max, self.high = 0.0, 0
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        import psutil

        process = psutil.Process()
        process.cpu_percent()
        while True:
            gevent.sleep(SAMPLE_INTERVAL_S)
            usage = process.cpu_percent()
            self.max = max(self.max, usage)
            if usage >= CPU_SATURATION_PERCENT:
                self.high += 1

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def snapshot(self) -> dict:
        return {"max": self.max, "high": self.high}

    def take(self) -> dict:
        return self.snapshot()

