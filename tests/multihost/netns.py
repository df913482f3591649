"""A private network of namespaces for the many-hosts tests: one bridge, one namespace per host.

``Network`` makes a bridge namespace and, per host, a namespace joined to the bridge by a veth
pair, with an address of ``SUBNET`` that the test picks itself; the namespaces see nothing else
(no default route), so no other address can be a target. Processes run inside with
``ip netns exec``; ``close()`` kills them by process group id, then deletes the namespaces, and
runs even when the test failed. Needs root and iproute2.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.231.0"
"""The /24 the tests give addresses from (the namespaces are private, so parallel sessions can
use the same one)."""
PREFIX = 24
IP_TIMEOUT_S = 10


def available() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    return None


def ip(*args: str, namespace: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *(["netns", "exec", namespace, "ip"] if namespace else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=IP_TIMEOUT_S)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result


@dataclass
class Host:
    name: str
    namespace: str
    address: str
    device: str = "eth0"

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.namespace]

    def link(self, up: bool) -> None:
        """Cut (or restore) this host's only link, from inside its namespace."""
        ip("link", "set", self.device, "up" if up else "down", namespace=self.namespace)


@dataclass
class Network:
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"bsslt-{self.tag}-br"

    def _add_namespace(self, name: str) -> None:
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("link", "set", "lo", "up", namespace=name)

    def create(self) -> Network:
        self._add_namespace(self.bridge)
        ip("link", "add", "br0", "type", "bridge", namespace=self.bridge)
        ip("link", "set", "br0", "up", namespace=self.bridge)
        return self

    def add_host(self, name: str, last_octet: int) -> Host:
        namespace = f"bsslt-{self.tag}-{name}"
        self._add_namespace(namespace)
        peer = f"v{len(self.hosts)}"
        # Both ends are made inside their namespaces: no name is ever taken in the root namespace.
        ip("link", "add", "eth0", "netns", namespace, "type", "veth", "peer", "name", peer, "netns", self.bridge)
        ip("link", "set", peer, "master", "br0", namespace=self.bridge)
        ip("link", "set", peer, "up", namespace=self.bridge)
        address = f"{SUBNET}.{last_octet}"
        ip("addr", "add", f"{address}/{PREFIX}", "dev", "eth0", namespace=namespace)
        ip("link", "set", "eth0", "up", namespace=namespace)
        host = Host(name, namespace, address)
        self.hosts[name] = host
        return host

    def start(self, host: Host, command: list[str], log: Path, *, cwd: Path, env: dict | None = None) -> subprocess.Popen:
        """Start ``command`` inside ``host`` in a session of its own, output to ``log``."""
        with log.open("ab") as out:
            process = subprocess.Popen(
                [*host.exec_prefix(), *command], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}, start_new_session=True,
            )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                self.kill(process)
        for namespace in reversed(self.namespaces):
            ip("netns", "del", namespace, check=False)
        self.namespaces.clear()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
