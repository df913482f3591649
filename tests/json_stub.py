"""A JSON HTTP server on loopback for tests: ``answer(method, path, headers) -> (status, body)``."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Answer = Callable[[str, str, dict[str, str]], tuple[int, bytes]]


@contextlib.contextmanager
def json_server(answer: Answer, tls: tuple[Path, Path] | None = None,
                keep_alive: bool = False) -> Iterator[ThreadingHTTPServer]:
    """Serve GET and POST with ``answer`` (a request body is read and dropped) until the block ends;
    over TLS with ``tls`` = (certificate, key) files; HTTP/1.1, keeping each connection open, with
    ``keep_alive`` (else HTTP/1.0: one request per connection)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, body = answer(self.command, self.path, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply  # noqa: N815 - the names http.server calls

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
