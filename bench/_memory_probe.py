"""A locustfile with no users that ``bench/memory_real_run.py`` loads beside ``loadtests/``.

Every ``BSS_BENCH_PROBE_EVERY`` seconds (30 by default) it appends one JSON line to the file named
by ``BSS_BENCH_PROBE``: the process's users, the entities in their pools (``BssUser.ids``: up to
``client.data.POOL_SIZE`` per kind and user, the part of the run's memory that fills and then
stays), the cleanup registry's entries (entities created and not yet deleted: grows with what the
target keeps), the objects Python's garbage collector tracks, the memory blocks Python's allocator
has handed out (``sys.getallocatedblocks``: strings and bytes too) and, from glibc's ``mallinfo2``,
the bytes in use by ``malloc`` (C extensions, large objects). The bench sets these beside the
resident memory, so that growth can be put on what grew. With ``BSS_BENCH_TRACEMALLOC=1`` it also
traces Python's allocations (slower) and writes, at every sample, the source lines whose memory grew
most since the first sample after the users started (``<probe file>.top``). Without
``BSS_BENCH_PROBE`` it does nothing; it never sends a request. ``BSS_BENCH_REGISTRY_LIMIT=N`` lowers
the cleanup registry's bound, so that a short run reaches it.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
import time
import tracemalloc

import gevent
from locust import events


@events.test_start.add_listener
def _start(environment, **_kw) -> None:
    path = os.environ.get("BSS_BENCH_PROBE")
    if not path or environment.runner is None or type(environment.runner).__name__ == "MasterRunner":
        return
    every = float(os.environ.get("BSS_BENCH_PROBE_EVERY", "30"))
    limit = os.environ.get("BSS_BENCH_REGISTRY_LIMIT")
    if limit:  # reach the cleanup registry's bound inside a short run (client.cleanup.REGISTRY_LIMIT)
        from bss_loadtest.client.state import client_state

        client_state(environment).registry.limit = int(limit)
    if os.environ.get("BSS_BENCH_TRACEMALLOC") == "1":
        tracemalloc.start(3)
    gevent.spawn(_probe, environment, path, every)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _malloc_in_use() -> int | None:
    """Bytes in use by glibc's malloc (``uordblks`` + ``hblkhd``: the arenas' and mmap'd), or None."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return int(info.uordblks + info.hblkhd)


_TRACE_FROM_MIN = float(os.environ.get("BSS_BENCH_TRACEMALLOC_FROM", "0") or 0)
"""Minutes into the run of the first tracemalloc snapshot (the others are compared with it)."""


def _write_top(path: str, first, minute: float, limit: int = 15) -> None:
    stats = tracemalloc.take_snapshot().compare_to(first, "lineno")
    with open(path + ".top", "a") as fh:
        fh.write(f"--- minute {minute:.1f}: the source lines whose memory grew most since the first sample\n")
        for stat in stats[:limit]:
            fh.write(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks  {stat.traceback}\n")


def _probe(environment, path: str, every: float) -> None:
    started = time.monotonic()
    first = None
    while True:
        users = list(environment.runner.user_greenlets)
        live = [g.args[0] for g in users if g.args]
        pools = sum(len(u.ids) for u in live if hasattr(u, "ids"))
        state = getattr(environment, "bss_client", None)
        line = {"minute": round((time.monotonic() - started) / 60, 2), "pid": os.getpid(), "users": len(live),
                "pool_items": pools, "registry": len(state.registry) if state is not None else None,
                "gc_objects": len(gc.get_objects()), "blocks": sys.getallocatedblocks(),
                "malloc_bytes": _malloc_in_use()}
        with open(path, "a") as fh:
            fh.write(json.dumps(line) + "\n")
        if tracemalloc.is_tracing() and live and line["minute"] >= _TRACE_FROM_MIN:
            if first is None:
                first = tracemalloc.take_snapshot()
            else:
                _write_top(path, first, line["minute"])
        gevent.sleep(every)
