"""``ReferenceServer``: run the reference server as a subprocess (tests, demo, nightly jobs).

    with ReferenceServer(extra_args=["--rate-limit"]) as server:
        httpx.get(server.url + "/actuator/health")

``start()`` runs ``sys.executable -m bss_reference``, waits (bounded) for ``/actuator/health`` to
answer UP and raises :class:`ReferenceServerError` with the tail of the server's stderr if it does
not. ``stop()`` ends the process by its own PID (SIGTERM, then SIGKILL) and is idempotent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from bss_reference.cli import LISTENING_PREFIX
from bss_reference.config import BACKEND_CLIENT_ID, DEFAULT_CLIENT_SECRET

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
TOKEN_PATH = "/realms/bss/protocol/openid-connect/token"


class ReferenceServerError(RuntimeError):
    """The server could not be started or answered an admin call unexpectedly."""


class ReferenceServer:
    def __init__(self, port: int = 0, db: str = ":memory:", extra_args: Sequence[str] = (),
                 env: Mapping[str, str] | None = None, host: str = "127.0.0.1",
                 start_timeout_s: float = START_TIMEOUT_S,
                 client_secret: str = DEFAULT_CLIENT_SECRET,
                 command_prefix: Sequence[str] = ()) -> None:
        """``port=0`` lets the server pick a free port; ``env`` is added to the current environment;
        ``command_prefix`` wraps the command (e.g. ``["taskset", "-c", "0"]``)."""
        self.host = host
        self.requested_port = port
        self.db = db
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.start_timeout_s = start_timeout_s
        self.client_secret = client_secret
        self.command_prefix = list(command_prefix)
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._stdout: Any = None
        self._stderr: Any = None
        self._health_problem = "not asked yet"

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.port is None:
            raise ReferenceServerError("the reference server is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        return [*self.command_prefix, sys.executable, "-m", "bss_reference", "--host", self.host,
                "--port", str(self.requested_port), "--db", self.db, *self.extra_args]

    def start(self) -> ReferenceServer:
        if self.process is not None:
            return self
        self._stdout = tempfile.TemporaryFile()
        self._stderr = tempfile.TemporaryFile()
        # a start that hangs is asked where it hangs: SIGABRT then dumps its threads' stacks
        env = {**os.environ, "PYTHONFAULTHANDLER": "1", **self.env}
        src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(self.command(), stdout=self._stdout, stderr=self._stderr,
                                        stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + self.start_timeout_s
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ReferenceServerError(
                        f"reference server exited with code {self.process.returncode}: "
                        f"{self.stderr_tail()}")
                if self.port is None:
                    self.port = self._read_port()
                if self.port is not None and self._healthy():
                    return self
                time.sleep(0.05)
            waiting_on = (f"listening on port {self.port}, /actuator/health: {self._health_problem}"
                          if self.port is not None else "no 'listening' line on its stdout yet")
            raise ReferenceServerError(f"reference server not UP within {self.start_timeout_s:.0f} s "
                                       f"({waiting_on}): {self._where_it_hangs()}")
        except BaseException:
            self.stop()
            raise

    def _read_port(self) -> int | None:
        self._stdout.seek(0)
        text = self._stdout.read().decode("utf-8", "replace")
        for line in text[: text.rfind("\n") + 1].splitlines():  # complete lines only
            if line.startswith(LISTENING_PREFIX):
                return int(line.rsplit(":", 1)[1])
        return None

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/actuator/health", timeout=1) as resp:
                answer = json.loads(resp.read())
        except (OSError, ValueError) as exc:
            self._health_problem = str(exc) or type(exc).__name__
            return False
        status = answer.get("status") if isinstance(answer, dict) else None
        self._health_problem = f"status {status!r}"
        return status == "UP"

    def _where_it_hangs(self) -> str:
        """The tail of the stderr of a server that did not come up, with the stacks it was in (its
        faulthandler's dump on SIGABRT) when it still runs."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGABRT)
                proc.wait(timeout=STOP_TIMEOUT_S)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        return self.stderr_tail(lines=40)

    def stderr_tail(self, lines: int = 20) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return "\n".join(text[-lines:]) or "(no stderr output)"

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """Terminate the server (SIGTERM, then SIGKILL). Returns its exit code; idempotent."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout_s)
            except ProcessLookupError:
                pass
        return proc.returncode

    def close(self) -> None:
        self.stop()
        for f in (self._stdout, self._stderr):
            if f is not None:
                f.close()
        self._stdout = self._stderr = None

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: bytes | None = None,
              headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def token(self, client_id: str = BACKEND_CLIENT_ID, client_secret: str | None = None) -> str:
        """A fresh access token for ``client_id`` from the server's token endpoint."""
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": client_secret or self.client_secret})
        status, body = self._call("POST", TOKEN_PATH, form.encode(),
                                  {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise ReferenceServerError(f"token request failed: {status} {body[:200]!r}")
        return json.loads(body)["access_token"]

    def faults(self) -> dict[str, Any]:
        status, body = self._call("GET", "/admin/faults")
        return json.loads(body)

    def set_faults(self, faults: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the fault configuration (see ``bss_reference.faults.FaultConfig``)."""
        status, body = self._call("PUT", "/admin/faults", json.dumps(faults).encode(),
                                  {"Content-Type": "application/json"})
        if status != 200:
            raise ReferenceServerError(f"set_faults failed: {status} {body[:500]!r}")
        return json.loads(body)

    def reset_faults(self) -> dict[str, Any]:
        """Restore the command-line fault values."""
        status, body = self._call("DELETE", "/admin/faults")
        return json.loads(body)

    def metrics_text(self) -> str:
        status, body = self._call("GET", "/actuator/prometheus")
        return body.decode("utf-8")
