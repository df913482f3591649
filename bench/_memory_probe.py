"""A locustfile with no users that ``bench/memory_real_run.py`` loads beside ``loadtests/``.

Every ``BSS_BENCH_PROBE_EVERY`` seconds (30 by default) it appends one JSON line to the file named
by ``BSS_BENCH_PROBE``: the process's users, the entities in their pools (``BssUser.ids``: up to
``client.data.POOL_SIZE`` per kind and user, the part of the run's memory that fills and then
stays), the cleanup registry's entries (entities created and not yet deleted: grows with what the
target keeps) and the objects Python's garbage collector tracks. The bench sets these beside the
resident memory, so that growth can be put on what grew. Without ``BSS_BENCH_PROBE`` it does
nothing; it never sends a request.
"""

from __future__ import annotations

import gc
import json
import os
import time

import gevent
from locust import events


@events.test_start.add_listener
def _start(environment, **_kw) -> None:
    path = os.environ.get("BSS_BENCH_PROBE")
    if not path or environment.runner is None or type(environment.runner).__name__ == "MasterRunner":
        return
    every = float(os.environ.get("BSS_BENCH_PROBE_EVERY", "30"))
    gevent.spawn(_probe, environment, path, every)


def _probe(environment, path: str, every: float) -> None:
    started = time.monotonic()
    while True:
        users = list(environment.runner.user_greenlets)
        live = [g.args[0] for g in users if g.args]
        pools = sum(len(u.ids) for u in live if hasattr(u, "ids"))
        state = getattr(environment, "bss_client", None)
        line = {"minute": round((time.monotonic() - started) / 60, 2), "pid": os.getpid(), "users": len(live),
                "pool_items": pools, "registry": len(state.registry) if state is not None else None,
                "gc_objects": len(gc.get_objects())}
        with open(path, "a") as fh:
            fh.write(json.dumps(line) + "\n")
        gevent.sleep(every)
