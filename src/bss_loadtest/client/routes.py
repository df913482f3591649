"""The endpoint table resolved for one target: full names, accepted statuses, validators, skips."""

from __future__ import annotations

from dataclasses import dataclass

from bss_loadtest.client.config import TargetConfig, load_target_config
from bss_loadtest.client.endpoints import ENDPOINTS, Endpoint
from bss_loadtest.client.validation import validator_for


class Route:
    """An endpoint resolved for one target: full name, accepted statuses, validator."""

    __slots__ = ("key", "method", "name", "expected", "expected_text", "validate", "check", "tracks",
                 "creates", "skipped", "sort", "endpoint")

    def __init__(self, endpoint: Endpoint, config: TargetConfig) -> None:
        self.endpoint = endpoint
        self.key = endpoint.key
        self.method = endpoint.method
        self.name = endpoint.template(config.resource_paths())
        self.expected = frozenset(config.expected_for(endpoint.key))
        self.expected_text = "/".join(str(s) for s in sorted(self.expected))
        self.validate = validator_for(endpoint.response)
        self.check = endpoint.check
        self.tracks = endpoint.tracks
        self.creates = endpoint.tracks if endpoint.method == "POST" else None
        """The kind a call of this route creates (``None``: it creates nothing the cleanup tracks)."""
        self.skipped = endpoint.key in config.skipped()
        self.sort = config.sort_for(endpoint.resource) if endpoint.paged else None


@dataclass(frozen=True)
class Target:
    """A target config and the table's routes on that target."""

    config: TargetConfig
    routes: dict[str, Route]

    @classmethod
    def load(cls, config_file: str | None) -> Target:
        """Read ``config_file`` (``None``: the contract's defaults); raises ``ConfigError``."""
        config = load_target_config(config_file or None)
        return cls(config, {key: Route(endpoint, config) for key, endpoint in ENDPOINTS.items()})
