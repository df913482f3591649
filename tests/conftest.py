"""Shared fixtures: reference BSS servers run as real processes on loopback.

``reference_server`` (session scope): auth on, in-memory database, default flags.
``reference_server_factory(**kwargs)``: more servers with other flags (``extra_args``, ``db``,
``env``, ...: the arguments of ``ReferenceServer``), each stopped at the end of the test.
Both start their servers with ``tests.servers.start_server`` (a start that hangs is said and tried
once more).
"""

from __future__ import annotations

import os

import pytest
from tests.servers import start_server

from bss_reference.process import ReferenceServer

# The runs the tests start must not write into the CI job's summary (GitHub Actions sets this for
# the whole job); a test of that output passes its own file.
os.environ.pop("GITHUB_STEP_SUMMARY", None)


@pytest.fixture(scope="session")
def reference_server():
    started: list[ReferenceServer] = []
    server = start_server(started, lambda: ReferenceServer(port=0, db=":memory:"))
    try:
        yield server
    finally:
        for each in started:
            each.close()


@pytest.fixture
def reference_server_factory():
    servers: list[ReferenceServer] = []

    def _start(**kwargs) -> ReferenceServer:
        return start_server(servers, lambda: ReferenceServer(**kwargs))

    try:
        yield _start
    finally:
        for server in servers:
            server.close()


# -- the glue tests (tests/run) ----------------------------------------------------------------

GLUE_DIR = "run"
"""tests/run builds the suite's Locust glue in-process. Importing Locust monkey-patches the
standard library (gevent), which must happen before anything imports ssl, so those tests run in
their own pytest process started with Locust imported first: ``./dev test`` does it (see
tests/run/README.md). The main process does not collect them."""


def _gevent_patched() -> bool:
    import sys

    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket"))


def pytest_ignore_collect(collection_path, config):
    parts = collection_path.parts
    if GLUE_DIR in parts and parts[parts.index(GLUE_DIR) - 1] == "tests" and not _gevent_patched():
        return True
    return None
