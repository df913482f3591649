"""Checks on the ``--host`` a run targets: URL shape, the allow-list (the one host matcher of the
suite), reachability, and :func:`redact_url`, the one redaction of every URL the suite prints.
No locust import; only :func:`resolve` touches the network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from bss_loadtest.core.errors import ConfigError, TargetError

LOOPBACK_HOSTS = ("localhost", "127.0.0.0/8", "::1")
"""Where a guarded profile may send load without ``--allow-host``."""


def redact_url(url: str | None) -> str:
    """``url`` without userinfo (``user:pass@``), query and fragment: safe for labels and logs.

    A URL that does not parse (an unclosed IPv6 bracket) loses the same parts by text, so even
    the message that says it is malformed never shows a password.
    """
    if not url:
        return ""
    bare = "//" not in url
    text = f"//{url}" if bare else url
    try:
        parts = urlsplit(text)
        cleaned = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    except ValueError:
        scheme, _, rest = text.partition("//")
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        path = rest[end:].split("?", 1)[0].split("#", 1)[0]
        cleaned = f"{scheme}//{rest[:end].rpartition('@')[2]}{path}"
    return cleaned.removeprefix("//") if bare else cleaned


def host_name(host: str) -> str:
    try:
        return urlsplit(host).hostname or redact_url(host)
    except ValueError:
        return redact_url(host)


def check_host(host: str) -> None:
    """A base URL with an http(s) scheme and a host name, or one line saying what is wrong."""
    shown = repr(redact_url(host))
    try:
        parts = urlsplit(host)
    except ValueError as error:  # e.g. an unclosed IPv6 bracket
        raise ConfigError(f"--host {shown}: not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--host {shown}: expected a base URL such as http://127.0.0.1:8080")
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(f"--host {shown}: the port is not a number between 0 and 65535") from None
    if parts.path not in ("", "/"):
        raise ConfigError(f"--host {shown}: give the base URL only; API paths come from the target config")


def check_url(url: str, option: str) -> None:
    """An absolute http(s) URL with a host name and a valid port (``--token-url``), or one line."""
    shown = repr(redact_url(url))
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as error:
        raise ConfigError(f"{option} {shown}: not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{option} {shown}: expected an http(s) URL such as http://127.0.0.1:8080/path")


def resolve(host: str) -> list[str]:
    """The addresses a host name resolves to; an unresolvable name is a :class:`TargetError`."""
    name = host_name(host)
    try:
        infos = socket.getaddrinfo(name, None)
    except socket.gaierror as error:
        raise TargetError(f"--host {redact_url(host)}: cannot resolve {name!r} ({error.strerror})") from None
    return sorted({info[4][0] for info in infos})


def _host_of(target: str) -> str:
    """The host of a URL, a ``host:port`` or a bare host name / IP address, lower case."""
    text = target.strip()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:
            return ""
    elif text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.strip("[]").lower()


def host_allowed(
    target: str, allowed: Iterable[str], *, resolver: Callable[[str], list[str]] | None = None
) -> bool:
    """Whether the host of ``target`` (a URL, or a host name / IP) is covered by ``allowed``.

    ``allowed`` holds host names (``*.example.com`` also matches every subdomain), IP addresses
    and CIDR networks. An IP address is matched against the networks; a host name that no name
    pattern covers is resolved (``resolver``, default DNS) and allowed when every address it
    resolves to lies in one of the networks (``localhost`` in ``127.0.0.0/8``).
    """
    host = _host_of(target)
    if not host:
        return False
    patterns = [pattern.strip().lower() for pattern in allowed]
    networks = []
    for pattern in patterns:
        try:
            networks.append(ipaddress.ip_network(pattern, strict=False))
        except ValueError:
            continue
    try:
        addresses = [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        if any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns):
            return True
        if not networks:
            return False
        try:
            resolved = (resolver or resolve)(host)
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolved]
        except (TargetError, ValueError):
            return False
    return bool(addresses) and all(any(a in n for n in networks) for a in addresses)
