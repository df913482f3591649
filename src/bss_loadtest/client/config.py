"""Target configuration: what differs between targets is data, not code in the user classes.

A ``TargetConfig`` says, per target, the base path of each resource, the ``sort`` parameter each
resource's lists are sent with, which statuses each endpoint may answer on success, and which
endpoints to skip altogether, and which tracing headers its requests carry (``tracing``:
:class:`TracingConfig`). ``targets/reference.yaml`` holds the contract's defaults;
``targets/droid-spring.yaml`` the real backend's known deviations.

Endpoints are named either by key (``products.list``) or by display name
(``GET /api/products``).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bss_loadtest.client.endpoints import DEFAULT_PATHS, ENDPOINTS, RESOURCES, resolve_key
from bss_loadtest.core.errors import ConfigError
from bss_loadtest.core.profiles import parse_yaml

DEFAULT_SORT = "createdAt,desc"
DEFAULT_RUN_ID_HEADER = "X-Load-Test-Run-Id"
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
"""An HTTP field name (RFC 9110 token), at most 100 characters."""
RESERVED_HEADERS = frozenset({"authorization", "baggage", "content-length", "content-type", "host", "traceparent",
                              "tracestate", "accept-encoding", "transfer-encoding", "connection"})
"""Headers the client sets itself: a run-id header may not take their name."""


class TracingConfig(BaseModel):
    """The headers that tie a target's traces and logs to the run (see :mod:`bss_loadtest.client.tracing`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    traceparent: bool = Field(True, description="Send a W3C traceparent with a fresh trace id on every request")
    baggage: bool = Field(True, description="Send W3C baggage with loadtest.run_id and loadtest.user_class")
    run_id_header: bool = Field(True, description="Send the run id in a header of its own (run_id_header_name)")
    run_id_header_name: str = Field(DEFAULT_RUN_ID_HEADER, description="The name of the run-id header")

    @field_validator("run_id_header_name")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not HEADER_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an HTTP header name (letters, digits and !#$%&'*+.^_`|~-, "
                             "at most 100)")
        if value.lower() in RESERVED_HEADERS:
            raise ValueError(f"{value!r}: the client sets that header itself; choose another name")
        return value


class TargetConfig(BaseModel):
    """How one target deviates from (or follows) the contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("reference", description="A label for reports")
    paths: dict[str, str] = Field(default_factory=dict, description="Base path per resource (overrides defaults)")
    sort: dict[str, str | None] = Field(
        default_factory=dict,
        description="`sort` query value per resource for paged lists; null sends none. Default createdAt,desc",
    )
    accepted_statuses: dict[str, list[int]] = Field(
        default_factory=dict, description="Success statuses per endpoint (replaces the contract's)"
    )
    skip: list[str] = Field(default_factory=list, description="Endpoints never called on this target")
    tracing: TracingConfig = Field(
        default_factory=TracingConfig,
        description="Trace context, baggage and run-id header on every request; each can be switched off",
    )

    @field_validator("paths", "sort")
    @classmethod
    def _known_resources(cls, value: dict) -> dict:
        for resource in value:
            if resource not in RESOURCES:
                raise ValueError(f"unknown resource {resource!r} (allowed: {', '.join(RESOURCES)})")
        return value

    @field_validator("paths")
    @classmethod
    def _clean_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for resource, path in value.items():
            if not path.startswith("/") or path.endswith("/"):
                raise ValueError(f"{resource}: a base path starts with '/' and has no trailing '/': {path!r}")
        return value

    @field_validator("accepted_statuses")
    @classmethod
    def _statuses(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        for key, statuses in value.items():
            if not statuses or any(not 100 <= s <= 599 for s in statuses):
                raise ValueError(f"{key}: statuses must be a non-empty list of HTTP statuses")
        return value

    @model_validator(mode="after")
    def _known_endpoints(self) -> TargetConfig:
        paths = self.resource_paths()
        for field_name in ("accepted_statuses", "skip"):
            for key in getattr(self, field_name):
                if resolve_key(key, paths) is None:
                    raise ValueError(f"{field_name}: unknown endpoint {key!r} (use a key such as "
                                     f"'products.list' or a name such as 'GET /api/products')")
        return self

    def resource_paths(self) -> dict[str, str]:
        return {**DEFAULT_PATHS, **self.paths}

    def sort_for(self, resource: str) -> str | None:
        return self.sort.get(resource, DEFAULT_SORT)

    def expected_for(self, key: str) -> tuple[int, ...]:
        paths = self.resource_paths()
        for given, statuses in self.accepted_statuses.items():
            if resolve_key(given, paths) == key:
                return tuple(statuses)
        return ENDPOINTS[key].expected

    def skipped(self) -> frozenset[str]:
        paths = self.resource_paths()
        return frozenset(resolve_key(key, paths) for key in self.skip)  # type: ignore[misc]


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_target_config(path: str | Path | None) -> TargetConfig:
    """Load and validate a target config; ``None`` gives the contract's defaults.

    Raises ``ConfigError`` with one line: ``<file>: <field path>: <message>``.
    """
    if path is None or str(path) == "":
        return TargetConfig()
    path = Path(path)
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read target config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: cannot read target config: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None)
        raise ConfigError(f"{path}: {where}invalid YAML" + (f": {problem}" if problem else "")) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a target config is a mapping of fields")
    try:
        return TargetConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = _location(error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {where}: {message}") from None
