"""Server settings: one frozen dataclass built by the CLI and handed to ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_CLIENT_SECRET = "bss-secret"
DEFAULT_TOKEN_TTL_S = 300
DEFAULT_RATE_LIMIT_USER = 100
DEFAULT_RATE_LIMIT_IP = 200
RATE_LIMIT_WINDOW_S = 60.0
CLIENT_POOL_SIZE = 16
BACKEND_CLIENT_ID = "bss-backend"
DEFAULT_RUN_ID_HEADER = "X-Load-Test-Run-Id"


def client_ids() -> list[str]:
    """The confidential clients the token endpoint knows: ``bss-backend`` plus the load-test pool."""
    return [BACKEND_CLIENT_ID] + [f"bss-loadtest-{i:02d}" for i in range(1, CLIENT_POOL_SIZE + 1)]


@dataclass(frozen=True)
class Settings:
    db: str = ":memory:"
    auth: bool = True
    client_secret: str = DEFAULT_CLIENT_SECRET
    token_ttl_s: int = DEFAULT_TOKEN_TTL_S
    rate_limit: bool = False
    rate_limit_user: int = DEFAULT_RATE_LIMIT_USER
    rate_limit_ip: int = DEFAULT_RATE_LIMIT_IP
    latency_ms: float = 0.0
    error_rate: float = 0.0
    quirks: bool = False
    access_log: str | None = None  # a file path, "-" for stdout, None for no access log
    run_id_header: str = DEFAULT_RUN_ID_HEADER
    otlp_endpoint: str | None = None  # OTLP/HTTP traces URL, None for no span export
    clients: tuple[str, ...] = field(default_factory=lambda: tuple(client_ids()))
