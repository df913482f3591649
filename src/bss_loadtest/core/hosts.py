"""Checks on the ``--host`` a run targets. Pure: no locust import, no network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from bss_loadtest.core.errors import ConfigError, TargetError

LOOPBACK_HOSTS = ("localhost", "127.0.0.0/8", "::1")
"""Where a guarded profile may send load without ``--allow-host``."""


def host_name(host: str) -> str:
    return urlsplit(host).hostname or host


def check_host(host: str) -> None:
    """A base URL with an http(s) scheme and a host name, or one line saying what is wrong."""
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--host {host!r}: expected a base URL such as http://127.0.0.1:8080")
    try:
        parts.port
    except ValueError:
        raise ConfigError(f"--host {host!r}: the port is not a number between 0 and 65535") from None
    if parts.path not in ("", "/"):
        raise ConfigError(f"--host {host!r}: give the base URL only; API paths come from the target config")


def resolve(host: str) -> list[str]:
    """The addresses a host name resolves to; an unresolvable name is a :class:`TargetError`."""
    name = host_name(host)
    try:
        infos = socket.getaddrinfo(name, None)
    except socket.gaierror as error:
        raise TargetError(f"--host {host}: cannot resolve {name!r} ({error.strerror})") from None
    return sorted({info[4][0] for info in infos})


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether the host's name, or every address it resolves to, is in ``allowed`` (names/CIDRs)."""
    name = host_name(host).lower()
    allowed = list(allowed)
    if name in (a.lower() for a in allowed):
        return True
    networks = []
    for entry in allowed:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    if not networks:
        return False
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host)]
    except TargetError:
        return False
    return bool(addresses) and all(any(a in n for n in networks) for a in addresses)


PREFLIGHT_TIMEOUT_S = 5.0


def check_reachable(host: str, timeout: float = PREFLIGHT_TIMEOUT_S) -> None:
    """Open (and close) one TCP connection to the host, or raise :class:`TargetError`."""
    parts = urlsplit(host)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    resolve(host)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise TargetError(f"--host {host}: cannot connect to {parts.hostname}:{port} ({reason})") from None
