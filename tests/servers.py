"""Starting the tests' reference servers (the fixtures of tests/conftest.py).

A server whose start hangs before it listens (seen now and then on two busy cores: no 'listening'
line in 30 s and nothing on stderr, cause not known) is reported as a warning, with the stacks it
hung in, and started once more: the tests are not about the start, and the warning keeps every
such start in the run's output. A server that listens and does not answer is not started again.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from bss_reference.process import ReferenceServer, ReferenceServerError


class ServerStartHung(UserWarning):
    """A reference server did not listen within its start timeout and was started again."""


def start_server(servers: list[ReferenceServer], make: Callable[[], ReferenceServer]) -> ReferenceServer:
    """A server ``make()`` made and started, each one made appended to ``servers`` (to be closed)."""
    server = make()
    servers.append(server)
    try:
        return server.start()
    except ReferenceServerError as exc:
        if "no 'listening' line" not in str(exc):
            raise
        warnings.warn(f"reference server start hung, started once more: {exc}", ServerStartHung, stacklevel=2)
    server = make()
    servers.append(server)
    return server.start()
