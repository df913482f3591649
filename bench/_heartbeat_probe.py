"""A locustfile with no users that ``bench/worker_heartbeat.py`` loads beside the suite's.

With ``BSS_HEARTBEAT_PROBE`` set to a directory, every Locust process (master and workers) writes
``<role>-<pid>.json`` there when it quits:

- ``lag``: every stall of its gevent loop past ``STALL_MS`` (a timer greenlet due every 50 ms
  notes how late it woke: the time the loop spent elsewhere), as ``[t, ms]``;
- ``spawns`` (workers): each ``spawn_users`` call, ``[t, users, wall ms, CPU ms]`` (the time the loop spent
  constructing and starting that many users, without a switch);
- ``messages`` (workers): each "spawn" message's handling by Locust's worker greenlet,
  ``[t, wall ms, CPU ms]`` (before the spawn itself, which runs in a greenlet of its own);
- ``heartbeats``: on a worker, when the master's answers to its heartbeats arrived; on the
  master, per worker, when its heartbeats were received;
- ``cpu``: the process's CPU seconds (user + system) every second, ``[t, s]``.

``t`` is ``time.time()``. With ``BSS_HEARTBEAT_PROBE_UNCACHED`` set it also undoes the suite's
cache of Locust's ``default_args_dict`` (``run/locust_fixes.py``), to measure a spawn message without it.
Without ``BSS_HEARTBEAT_PROBE`` it does nothing; it never sends a request.
"""

from __future__ import annotations

import json
import os
import time

import gevent
from locust import events

STALL_MS = 100.0
TICK_S = 0.05


class _Probe:
    def __init__(self, environment, directory: str) -> None:
        self.environment = environment
        self.directory = directory
        self.role = type(environment.runner).__name__.replace("Runner", "").lower()
        self.lag: list[list[float]] = []
        self.spawns: list[list[float]] = []
        self.messages: list[list[float]] = []
        self.heartbeats: dict[str, list[float]] = {}
        self.cpu: list[list[float]] = []
        gevent.spawn(self._timer)
        gevent.spawn(self._cpu)
        runner = environment.runner
        if self.role == "worker":
            original = runner.spawn_users

            def timed(user_classes_spawn_count, wait=False):
                start, cpu = time.perf_counter(), time.process_time()
                try:
                    return original(user_classes_spawn_count, wait)
                finally:
                    self.spawns.append([time.time(), sum(user_classes_spawn_count.values()),
                                        round((time.perf_counter() - start) * 1000, 2),
                                        round((time.process_time() - cpu) * 1000, 2)])

            runner.spawn_users = timed
            handle = runner.handle_message

            def timed_handle(msg):
                if msg.type != "spawn":
                    return handle(msg)
                start, cpu = time.perf_counter(), time.process_time()
                try:
                    return handle(msg)
                finally:
                    self.messages.append([time.time(), round((time.perf_counter() - start) * 1000, 2),
                                          round((time.process_time() - cpu) * 1000, 2)])

            runner.handle_message = timed_handle
            environment.events.heartbeat_received.add_listener(
                lambda client_id, timestamp: self.heartbeats.setdefault("master", []).append(timestamp))
        else:
            environment.events.heartbeat_sent.add_listener(
                lambda client_id, timestamp: self.heartbeats.setdefault(client_id, []).append(timestamp))

    def _timer(self) -> None:
        while True:
            due = time.time() + TICK_S
            gevent.sleep(TICK_S)
            late = (time.time() - due) * 1000
            if late > STALL_MS:
                self.lag.append([round(due, 3), round(late, 1)])

    def _cpu(self) -> None:
        while True:
            times = os.times()
            self.cpu.append([round(time.time(), 3), round(times.user + times.system, 3)])
            gevent.sleep(1.0)

    def dump(self) -> None:
        path = os.path.join(self.directory, f"{self.role}-{os.getpid()}.json")
        with open(path, "w") as fh:
            json.dump({"role": self.role, "pid": os.getpid(), "lag": self.lag, "spawns": self.spawns, "messages": self.messages,
                       "heartbeats": self.heartbeats, "cpu": self.cpu}, fh)


@events.init.add_listener
def _init(environment, **_kw) -> None:
    directory = os.environ.get("BSS_HEARTBEAT_PROBE")
    if not directory or environment.runner is None:
        return
    if os.environ.get("BSS_HEARTBEAT_PROBE_UNCACHED"):
        from locust import argument_parser

        original = getattr(argument_parser.default_args_dict, "bss_original", None)
        if original is not None:
            argument_parser.default_args_dict = original
    probe = _Probe(environment, directory)
    environment.events.quitting.add_listener(lambda **_kw: probe.dump())
