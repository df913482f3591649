"""Shared fixtures: reference BSS servers run as real processes on loopback.

``reference_server`` (session scope): auth on, in-memory database, default flags.
``reference_server_factory(**kwargs)``: more servers with other flags (``extra_args``, ``db``,
``env``, ...: the arguments of ``ReferenceServer``), each stopped at the end of the test.
"""

from __future__ import annotations

import pytest

from bss_reference.process import ReferenceServer


@pytest.fixture(scope="session")
def reference_server():
    server = ReferenceServer(port=0, db=":memory:")
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def reference_server_factory():
    servers: list[ReferenceServer] = []

    def _start(**kwargs) -> ReferenceServer:
        server = ReferenceServer(**kwargs)
        servers.append(server)
        return server.start()

    try:
        yield _start
    finally:
        for server in servers:
            server.close()
