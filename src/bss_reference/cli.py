"""Command line of the reference server: ``configure_parser(parser)`` and ``run(args)``.

``bss-loadtest reference-server`` (the suite's CLI) and ``python -m bss_reference`` both use these
two functions. ``run`` serves in the foreground until SIGINT/SIGTERM and returns 0; a user error at
start (bad option value, port in use, unusable ``--db``) prints one line ``error: ...`` to stderr
and returns 2. Once listening it prints ``bss-reference listening on http://HOST:PORT`` to stdout.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from bss_reference.config import (
    DEFAULT_CLIENT_SECRET,
    DEFAULT_RATE_LIMIT_IP,
    DEFAULT_RATE_LIMIT_USER,
    DEFAULT_RUN_ID_HEADER,
    DEFAULT_TOKEN_TTL_S,
    Settings,
)
from bss_reference.otlp import traces_url
from bss_reference.tracing import TracingError, check_header_name

EXIT_OK = 0
EXIT_USAGE = 2
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LISTENING_PREFIX = "bss-reference listening on "


class StartupError(Exception):
    """A user error found before serving; its message is one line."""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the reference server's options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8080, help="Port (default 8080; 0 = any free port).")
    parser.add_argument("--db", default=":memory:",
                        help="SQLite file (kept across restarts, WAL mode) or :memory: (default).")
    parser.add_argument("--no-auth", action="store_true",
                        help="Serve /api/** without requiring a bearer token.")
    parser.add_argument("--client-secret", default=os.environ.get("BSS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
                        help="Secret of every client (env BSS_CLIENT_SECRET, default bss-secret).")
    parser.add_argument("--token-ttl", type=int, default=DEFAULT_TOKEN_TTL_S,
                        help="Access token lifetime in seconds (default 300).")
    parser.add_argument("--rate-limit", action="store_true",
                        help="Enforce the per-user / per-IP 60 s sliding-window limits.")
    parser.add_argument("--rate-limit-user", type=int, default=DEFAULT_RATE_LIMIT_USER,
                        help="Requests per 60 s per token subject (default 100).")
    parser.add_argument("--rate-limit-ip", type=int, default=DEFAULT_RATE_LIMIT_IP,
                        help="Requests per 60 s per client IP (default 200).")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="Extra latency added to every /api request (ms).")
    parser.add_argument("--error-rate", type=float, default=0.0,
                        help="Fraction (0..1) of /api requests answered 503.")
    parser.add_argument("--quirks", action="store_true", default=_env_flag("BSS_REFERENCE_QUIRKS"),
                        help="Reproduce known backend bugs (env BSS_REFERENCE_QUIRKS=1).")
    parser.add_argument("--log-level", default="warning", type=str.lower,
                        help=f"Server log level: {', '.join(LOG_LEVELS)} (default warning).")
    parser.add_argument("--access-log", metavar="PATH", default=None,
                        help="Write one JSON line per request (trace id, run id, route, status, "
                             "duration) to PATH (appended; - for stdout).")
    parser.add_argument("--run-id-header", metavar="NAME", default=DEFAULT_RUN_ID_HEADER,
                        help=f"Request header with the load test's run id (default {DEFAULT_RUN_ID_HEADER}; "
                             "else loadtest.run_id from the baggage header).")
    parser.add_argument("--otlp-endpoint", metavar="URL", default=None,
                        help="Export the server spans over OTLP/HTTP to URL (e.g. http://127.0.0.1:4318; "
                             "/v1/traces is added to a URL without a path). Needs the otlp extra.")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Validate option values; raise :class:`StartupError` naming the bad option."""
    if not 0 <= args.port <= 65535:
        raise StartupError(f"--port: must be between 0 and 65535, got {args.port}")
    if args.token_ttl <= 0:
        raise StartupError(f"--token-ttl: must be greater than 0, got {args.token_ttl}")
    if args.rate_limit_user <= 0:
        raise StartupError(f"--rate-limit-user: must be greater than 0, got {args.rate_limit_user}")
    if args.rate_limit_ip <= 0:
        raise StartupError(f"--rate-limit-ip: must be greater than 0, got {args.rate_limit_ip}")
    if not 0 <= args.latency_ms <= 600_000:
        raise StartupError(f"--latency-ms: must be between 0 and 600000, got {args.latency_ms}")
    if not 0.0 <= args.error_rate <= 1.0:
        raise StartupError(f"--error-rate: must be between 0 and 1, got {args.error_rate}")
    if args.log_level not in LOG_LEVELS:
        raise StartupError(f"--log-level: must be one of {', '.join(LOG_LEVELS)}, got {args.log_level!r}")
    if not args.client_secret:
        raise StartupError("--client-secret: must not be empty")
    if not args.db:
        raise StartupError("--db: must be a file path or :memory:")
    if args.access_log is not None and not args.access_log:
        raise StartupError("--access-log: must be a file path or -")
    problem = check_header_name(args.run_id_header)
    if problem:
        raise StartupError(f"--run-id-header: {problem}")
    if args.otlp_endpoint is not None:
        try:
            traces_url(args.otlp_endpoint)
        except TracingError as exc:
            raise StartupError(str(exc)) from None
    return Settings(db=args.db, auth=not args.no_auth, client_secret=args.client_secret,
                    token_ttl_s=args.token_ttl, rate_limit=args.rate_limit,
                    rate_limit_user=args.rate_limit_user, rate_limit_ip=args.rate_limit_ip,
                    latency_ms=args.latency_ms, error_rate=args.error_rate, quirks=args.quirks,
                    access_log=args.access_log, run_id_header=args.run_id_header,
                    otlp_endpoint=args.otlp_endpoint)


def bind_socket(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family = infos[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise StartupError(f"--host: cannot resolve {host!r}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def run(args: argparse.Namespace) -> int:
    """Serve in the foreground until SIGINT/SIGTERM. 0 on a clean stop, 2 on a start-up error."""
    from bss_reference.db import DatabaseError

    try:
        settings = settings_from_args(args)
        try:
            from bss_reference.app import create_app

            app, ctx = create_app(settings)
        except DatabaseError as exc:
            raise StartupError(f"--db: {exc}") from None
        except TracingError as exc:
            raise StartupError(str(exc)) from None
        try:
            sock = bind_socket(args.host, args.port)
        except StartupError:
            ctx.close()
            raise
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE

    import uvicorn

    port = sock.getsockname()[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, lifespan="off",
                            loop="auto", http="auto", server_header=False, date_header=False)
    class _Server(uvicorn.Server):
        # A stop by SIGINT/SIGTERM is the normal end of a foreground run: exit 0, do not
        # re-raise the signal after the graceful shutdown (uvicorn's default).
        def handle_exit(self, sig, frame):  # type: ignore[no-untyped-def]
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    server = _Server(config)
    print(f"{LISTENING_PREFIX}http://{shown_host}:{port}", flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        ctx.close()  # the last spans are exported here (bounded), after the graceful shutdown
    return EXIT_OK


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line ``error: ...`` (exit 2), not usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_USAGE)


def main(argv: list[str] | None = None) -> int:
    parser = _OneLineParser(prog="python -m bss_reference",
                            description="Reference BSS server (intended API contract).")
    configure_parser(parser)
    return run(parser.parse_args(argv))
