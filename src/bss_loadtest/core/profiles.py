"""Load profiles: the pydantic schema of ``profiles/*.yaml``, loading and listing them.

A profile says how a run loads the target: its stages (k6 semantics), the user mix, the think
time, the thresholds that decide pass/fail, the hosts it may be pointed at, and the tolerances a
later ``compare`` uses. Everything is validated before any user starts, and every problem is one
line naming the file and the dotted path to the bad key::

    profiles/stress.yaml: stages[2].spawn_rate: must be greater than 0

This module is pure: it does not import locust.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bss_loadtest.core import hosts
from bss_loadtest.core.errors import ConfigError, one_line, quote
from bss_loadtest.core.thresholds import (
    Threshold,
    ThresholdError,
    parse_duration,
    parse_thresholds,
    scope_problem,
)

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "PROFILES_DIR",
    "Profile",
    "ProfileInfo",
    "Scenario",
    "Stage",
    "ThinkTime",
    "Tolerances",
    "available_profiles",
    "format_duration",
    "format_profile_info",
    "format_validation_error",
    "list_profiles",
    "load_profile",
    "parse_duration",
    "resolve_profile",
]

PROFILES_DIR = Path(__file__).resolve().parents[3] / "profiles"
"""The repository's ``profiles/`` directory (used when the working directory has none)."""

PROFILE_SUFFIXES = (".yaml", ".yml")

DEFAULT_ALLOWED_HOSTS = hosts.LOOPBACK_HOSTS

DEFAULT_THINK_TIME = (0.5, 2.0)
"""Seconds between two tasks of one user when neither the profile nor ``--think-time`` says."""
"""Hosts every profile may target: loopback only."""

MAX_PROFILE_BYTES = 256 * 1024
"""The largest profile file read; a real one is a few kilobytes."""
MAX_YAML_DEPTH = 20
"""The deepest nesting of lists and mappings a profile may have (a real one has 5 levels);
deeper input would exhaust the recursion of the YAML composer and of validation."""
MAX_YAML_VALUES = 10_000
"""The most values a profile may hold once its YAML aliases are expanded (a real one has about
100): an alias bomb is refused while it is still a small graph."""
MAX_USERS = 100_000
"""The most users a stage may ask for."""
MAX_SPAWN_RATE = 1000.0
"""The fastest a stage may start or stop users, per second. Locust starts users one greenlet at
a time; far above this the ramp falls behind and a short stage runs many times its length."""

_HOST_NAME = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_RAMP_EPSILON_S = 1e-6


class _Strict(BaseModel):
    # allow_inf_nan=False: YAML's .inf / .nan are refused in every number of a profile.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _check_host_pattern(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
        return value
    except ValueError:
        pass
    if not _HOST_NAME.match(value):
        raise ValueError(f"{quote(value)} is neither a host name nor an IP address or CIDR network")
    return value.lower()


class Stage(_Strict):
    """One stage: move from the previous target to ``target`` users over ``duration``."""

    duration: float = Field(
        description='How long the stage lasts: "30s", "2m", "1h30m" or a number of seconds (> 0).'
    )
    target: Annotated[int, Field(strict=True, ge=0, le=MAX_USERS)] = Field(
        description="Users at the end of the stage (the previous stage's target, or 0, at its start)."
    )
    spawn_rate: float | None = Field(
        default=None,
        gt=0,
        le=MAX_SPAWN_RATE,
        description=(
            "Users started/stopped per second. Omitted: the count moves linearly over the stage (k6). "
            "Given: Locust is asked for `target` at this rate; the ramp must fit in the stage."
        ),
    )
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")] | None = Field(
        default=None,
        description="A name for the stage, for threshold scopes such as http_req_duration{stage:peak}.",
    )

    @field_validator("duration", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds <= 0:
            raise ValueError(f"must be longer than 0 s, got {quote(value)}")
        return seconds


class ThinkTime(_Strict):
    """Seconds a user waits between two tasks, uniformly drawn from [min, max]."""

    min: float = Field(default=DEFAULT_THINK_TIME[0], ge=0, description="Shortest wait, seconds.")
    max: float = Field(default=DEFAULT_THINK_TIME[1], ge=0, description="Longest wait, seconds.")
    scale_with_time: bool = Field(
        default=False,
        description="Whether --time-scale also shortens think time (false: only stage durations shrink).",
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> ThinkTime:
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g} s) is greater than max ({self.max:g} s)")
        return self


EXECUTOR_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "constant-vus": (("duration",), ("vus",)),
    "ramping-vus": (("stages",), ("startVUs", "gracefulRampDown")),
    "per-vu-iterations": ((), ("vus", "iterations", "maxDuration")),
    "shared-iterations": ((), ("vus", "iterations", "maxDuration")),
    "constant-arrival-rate": (("rate", "duration", "preAllocatedVUs"), ("timeUnit", "maxVUs")),
    "ramping-arrival-rate": (("stages", "preAllocatedVUs"), ("startRate", "timeUnit", "maxVUs")),
}
"""k6's executors: (required fields, optional fields) of each, beside the common ones."""

SCENARIO_COMMON_FIELDS = ("executor", "startTime", "gracefulStop", "users", "think_time")
_SCENARIO_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Executor = Literal[
    "constant-vus", "ramping-vus", "per-vu-iterations", "shared-iterations",
    "constant-arrival-rate", "ramping-arrival-rate",
]


def _duration_field(description: str, default: float | None = None) -> Any:
    return Field(default=default, description=description)


class Scenario(_Strict):
    """One k6 scenario: an executor with k6's fields and meaning, a start time and a user mix.

    Field names are k6's (camelCase) so that a k6 script's ``options.scenarios`` reads the same.
    An iteration is one task of a user class (a journey's task is one pass of the journey).
    """

    executor: Executor = Field(description="The k6 executor: " + ", ".join(EXECUTOR_FIELDS) + ".")
    startTime: float = Field(default=0.0, description="When the scenario starts, from the start of the run.")
    gracefulStop: float = Field(
        default=30.0, description="How long iterations still running at the scenario's end may take to finish."
    )
    users: dict[str, Annotated[int, Field(strict=True, gt=0)]] | None = Field(
        default=None, description="This scenario's user mix (class → weight); omitted: the profile's `users`."
    )
    think_time: ThinkTime | None = Field(
        default=None,
        description=(
            "Wait between two iterations of one user (VU and iteration executors; arrival-rate executors "
            "pace by arrivals and never wait); omitted: the profile's `think_time`."
        ),
    )
    vus: Annotated[int, Field(strict=True, gt=0, le=MAX_USERS)] | None = Field(
        default=None, description="Users (constant-vus, per-vu-iterations, shared-iterations; default 1)."
    )
    duration: float | None = _duration_field("How long new iterations start (constant-vus, constant-arrival-rate).")
    iterations: Annotated[int, Field(strict=True, gt=0, le=1_000_000_000)] | None = Field(
        default=None, description="Iterations per user (per-vu-iterations) or in all (shared-iterations); default 1."
    )
    maxDuration: float | None = _duration_field("The longest an iteration executor may run (default 10m).")
    startVUs: Annotated[int, Field(strict=True, ge=0, le=MAX_USERS)] | None = Field(
        default=None, description="Users at the start of a ramping-vus scenario (default 1)."
    )
    stages: list[Stage] | None = Field(
        default=None,
        min_length=1,
        description="ramping-vus: users over time; ramping-arrival-rate: iterations per timeUnit over time.",
    )
    gracefulRampDown: float | None = _duration_field(
        "ramping-vus: how long a user that is no longer needed may finish its iteration (default 30s).")
    rate: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        default=None, description="constant-arrival-rate: iterations started per timeUnit."
    )
    startRate: Annotated[float, Field(ge=0, le=1_000_000)] | None = Field(
        default=None, description="ramping-arrival-rate: iterations per timeUnit at the start (default 0)."
    )
    timeUnit: float | None = _duration_field("The period of rate, startRate and stage targets (default 1s).")
    preAllocatedVUs: Annotated[int, Field(strict=True, ge=0, le=MAX_USERS)] | None = Field(
        default=None, description="Arrival-rate executors: users allocated at the start."
    )
    maxVUs: Annotated[int, Field(strict=True, gt=0, le=MAX_USERS)] | None = Field(
        default=None, description="Arrival-rate executors: the most users it may use (default preAllocatedVUs)."
    )

    @field_validator("startTime", "gracefulStop", "duration", "maxDuration", "gracefulRampDown", "timeUnit",
                     mode="before")
    @classmethod
    def _parse_duration(cls, value: Any, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        seconds = parse_duration(value)
        if seconds <= 0 and info.field_name in ("duration", "maxDuration", "timeUnit"):
            raise ValueError(f"must be longer than 0 s, got {quote(value)}")
        return seconds

    @model_validator(mode="after")
    def _fields_of_executor(self) -> Scenario:
        required, optional = EXECUTOR_FIELDS[self.executor]
        given = self.model_fields_set - set(SCENARIO_COMMON_FIELDS)
        foreign = sorted(given - set(required) - set(optional))
        if foreign:
            allowed = ", ".join((*required, *optional, *SCENARIO_COMMON_FIELDS[1:]))
            raise ValueError(f"{foreign[0]} does not apply to {self.executor} (its fields: {allowed})")
        missing = [name for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.executor} needs {missing[0]}")
        if self.maxVUs is not None and self.preAllocatedVUs is not None and self.maxVUs < self.preAllocatedVUs:
            raise ValueError(f"maxVUs ({self.maxVUs}) is less than preAllocatedVUs ({self.preAllocatedVUs})")
        if self.executor.endswith("arrival-rate") and self.pool_size == 0:
            raise ValueError("an arrival-rate scenario needs at least one user: set preAllocatedVUs or maxVUs above 0")
        return self

    # -- k6 defaults, resolved -----------------------------------------------------------------

    def value(self, name: str) -> Any:
        """A field with k6's default applied."""
        given = getattr(self, name)
        if given is not None:
            return given
        return _SCENARIO_DEFAULTS.get(name)

    @property
    def pool_size(self) -> int:
        """How many users the scenario may use at most (they are all started with the run)."""
        executor = self.executor
        if executor in ("constant-vus", "per-vu-iterations", "shared-iterations"):
            return int(self.value("vus"))
        if executor == "ramping-vus":
            return max([int(self.value("startVUs")), *(stage.target for stage in self.stages or ())])
        return int(self.maxVUs if self.maxVUs is not None else (self.preAllocatedVUs or 0))

    @property
    def span_s(self) -> float:
        """Seconds from its start time until it starts no new iteration (maxDuration for iteration executors)."""
        executor = self.executor
        if executor in ("constant-vus", "constant-arrival-rate"):
            return float(self.duration or 0.0)
        if executor in ("ramping-vus", "ramping-arrival-rate"):
            return sum(stage.duration for stage in self.stages or ())
        return float(self.value("maxDuration"))

    @property
    def end_s(self) -> float:
        """When it starts no new iteration, from the start of the run."""
        return self.startTime + self.span_s

    def scaled(self, time_scale: float) -> Scenario:
        """Times multiplied by ``time_scale`` (rates, counts and their timeUnit stay: a compressed
        run keeps the load's intensity); think time only when its ``scale_with_time`` says so."""
        update: dict[str, Any] = {"startTime": self.startTime * time_scale, "gracefulStop": self.gracefulStop * time_scale}
        for name in ("duration", "maxDuration", "gracefulRampDown"):
            if getattr(self, name) is not None:
                update[name] = getattr(self, name) * time_scale
        if self.stages is not None:
            update["stages"] = [stage.model_copy(update={"duration": stage.duration * time_scale})
                                for stage in self.stages]
        if self.think_time is not None and self.think_time.scale_with_time:
            update["think_time"] = self.think_time.model_copy(
                update={"min": self.think_time.min * time_scale, "max": self.think_time.max * time_scale})
        copy = self.model_copy(update=update)
        copy.__pydantic_fields_set__ = set(self.model_fields_set)
        return copy


_SCENARIO_DEFAULTS: dict[str, Any] = {
    "vus": 1, "iterations": 1, "maxDuration": 600.0, "startVUs": 1, "gracefulRampDown": 30.0,
    "startRate": 0.0, "timeUnit": 1.0,
}
"""k6's defaults of the executor fields."""


class Tolerances(_Strict):
    """How far a run may drift from its baseline before ``compare`` calls it a regression."""

    p95_pct: float = Field(default=10.0, ge=0, description="Allowed p95 increase, percent of the baseline.")
    p95_min_ms: float = Field(
        default=5.0, ge=0, description="p95 increases smaller than this many milliseconds never count."
    )
    error_rate_points: float = Field(
        default=1.0, ge=0, description="Allowed error-rate increase, in percentage points."
    )
    throughput_pct: float = Field(default=10.0, ge=0, description="Allowed throughput drop, percent of the baseline.")

    def as_compare_mapping(self) -> dict[str, dict[str, float | None]]:
        """The same tolerances in the form :func:`bss_loadtest.reports.compare.rules_from` reads.

        ``summary.json``'s ``tolerances`` should hold this mapping, not ``model_dump()``: compare
        speaks in fractions per metric (``{"p95_ms": {"relative": 0.1, "absolute": 5}}``).
        """
        return {
            "p95_ms": {"relative": self.p95_pct / 100, "absolute": self.p95_min_ms},
            "error_rate": {"relative": None, "absolute": self.error_rate_points / 100},
            "rps": {"relative": self.throughput_pct / 100, "absolute": None},
        }


class Profile(_Strict):
    """A load profile: stages, user mix, think time, thresholds and guards of one kind of run."""

    description: str = Field(min_length=1, description="What this profile is for, in one or two sentences.")
    stages: list[Stage] = Field(
        default_factory=list,
        description="The load over time, in order (k6 `stages`: ramping users). A profile has stages or scenarios.",
    )
    scenarios: dict[str, Scenario] | None = Field(
        default=None,
        description=(
            "k6 scenarios: name → executor with k6's fields, startTime and its own user mix, all running "
            "side by side. A profile has stages or scenarios."
        ),
    )
    users: dict[str, Annotated[int, Field(strict=True, gt=0)]] = Field(
        min_length=1, description="The user mix: User class name → relative weight (> 0)."
    )
    think_time: ThinkTime = Field(default_factory=ThinkTime, description="Wait between two tasks of one user.")
    thresholds: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            'k6 thresholds: metric with optional {tag:value} scope → list of expressions ("p(95)<500") '
            "or objects {threshold, abortOnFail, delayAbortEval}."
        ),
    )
    allowed_hosts: list[Annotated[str, AfterValidator(_check_host_pattern)]] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS),
        description="Host names, IP addresses or CIDR networks this profile may target (default: loopback).",
    )
    guard_hosts: bool = Field(
        default=False,
        description="Refuse a target host not in allowed_hosts unless --allow-host is given (stress, spike, soak).",
    )
    tolerances: Tolerances | None = Field(
        default=None,
        description=(
            "Regression tolerances used when this run is compared with a baseline; "
            "omitted: compare's defaults (the same numbers as the fields' defaults)."
        ),
    )

    _name: str | None = PrivateAttr(default=None)
    _source_path: Path | None = PrivateAttr(default=None)
    _hash: str | None = PrivateAttr(default=None)
    _time_scale: float = PrivateAttr(default=1.0)
    _thresholds: list[Threshold] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _check_meaning(self, info: ValidationInfo) -> Profile:
        context = info.context or {}
        problems = _semantic_problems(self, context.get("user_classes"), context.get("endpoints"))
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise PydanticCustomError("profile", "{message}", {"message": first + more})
        return self

    # -- derived facts ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The file's stem (``load``), or ``"<inline>"`` for a profile not read from a file."""
        return self._name or "<inline>"

    @property
    def source_path(self) -> Path | None:
        return self._source_path

    @property
    def hash(self) -> str:
        """sha256 (hex) of the canonical content: the parsed YAML as sorted compact JSON.

        Comments and formatting do not change it; any value does. Scaling keeps the file's hash.
        """
        if self._hash is None:
            self._hash = _canonical_hash(self.model_dump(mode="json"))
        return self._hash

    @property
    def time_scale(self) -> float:
        return self._time_scale

    @property
    def total_duration_s(self) -> float:
        """How long the load lasts: the stages' sum, or when the last scenario starts no new iteration."""
        if self.scenarios:
            return max(scenario.end_s for scenario in self.scenarios.values())
        return sum(stage.duration for stage in self.stages)

    @property
    def peak_users(self) -> int:
        """The most users the profile runs at once (for scenarios: every scenario's pool together)."""
        if self.scenarios:
            return sum(scenario.pool_size for scenario in self.scenarios.values())
        return max((stage.target for stage in self.stages), default=0)

    def scenario_mix(self, name: str) -> dict[str, int]:
        """The user mix of scenario ``name``: its own, or the profile's."""
        scenario = (self.scenarios or {})[name]
        return dict(scenario.users or self.users)

    @property
    def parsed_thresholds(self) -> list[Threshold]:
        """The thresholds, parsed (``delayAbortEval`` already multiplied by the time scale)."""
        return list(self._thresholds)

    def scaled(self, time_scale: float) -> Profile:
        """A copy with every stage duration and ``delayAbortEval`` multiplied by ``time_scale``.

        Think time is scaled too only when ``think_time.scale_with_time`` is true.
        """
        if not (isinstance(time_scale, (int, float)) and math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time scale must be a positive number, got {time_scale!r}")
        stages = [stage.model_copy(update={"duration": stage.duration * time_scale}) for stage in self.stages]
        think_time = self.think_time
        if think_time.scale_with_time:
            think_time = think_time.model_copy(
                update={"min": think_time.min * time_scale, "max": think_time.max * time_scale}
            )
        update: dict[str, Any] = {"stages": stages, "think_time": think_time}
        if self.scenarios:
            update["scenarios"] = {name: scenario.scaled(time_scale) for name, scenario in self.scenarios.items()}
        copy = self.model_copy(update=update)
        copy._hash = self.hash
        copy._time_scale = self._time_scale * time_scale
        copy._thresholds = [threshold.scaled(time_scale) for threshold in self._thresholds]
        return copy

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` (a URL or a host name/IP) is covered by ``allowed_hosts``."""
        return hosts.host_allowed(host, self.allowed_hosts)


# -- semantic validation ---------------------------------------------------------------------


def _known(values: Collection[str]) -> str:
    return ", ".join(sorted(values))


def _unknown_name(kind: str, value: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {kind} {quote(value)} ({hint}known: {_known(known)})"


def _semantic_problems(
    profile: Profile, user_classes: Collection[str] | None, endpoints: Collection[str] | None
) -> list[str]:
    """Every problem of meaning, as ``"dotted.path: message"``; stores the parsed thresholds."""
    problems: list[str] = []
    if "stages" in profile.model_fields_set and not profile.stages and not profile.scenarios:
        problems.append("stages: must not be empty")
    elif bool(profile.stages) == bool(profile.scenarios):
        problems.append("a profile has either stages (ramping users, k6 `stages`) or scenarios (k6 `scenarios`)"
                        + (", not both" if profile.stages else "; it has neither"))
    for name, scenario in (profile.scenarios or {}).items():
        where = format_loc(("scenarios", name))
        if not _SCENARIO_NAME.match(name):
            problems.append(f"{where}: a scenario name is letters, digits, '_' and '-' (at most 64)")
        if user_classes is not None:
            for class_name in scenario.users or {}:
                if class_name not in user_classes:
                    problems.append(f"{format_loc(('scenarios', name, 'users', class_name))}: "
                                    f"{_unknown_name('user class', class_name, user_classes)}")
        mix = scenario.users or profile.users
        if scenario.executor in ("per-vu-iterations", "shared-iterations", "constant-vus") and \
                scenario.pool_size < len(mix):
            problems.append(f"{where}: {scenario.pool_size} user(s) cannot run a mix of {len(mix)} user classes; "
                            "give at least one user per class, or a smaller mix under this scenario's users")
    total_pool = sum(scenario.pool_size for scenario in (profile.scenarios or {}).values())
    if total_pool > MAX_USERS:
        problems.append(f"scenarios: their users add up to {total_pool}, more than {MAX_USERS}")
    named = [stage.name for stage in profile.stages if stage.name]
    for duplicate in sorted({n for n in named if named.count(n) > 1}):
        problems.append(f"stages: the name {quote(duplicate)} is given to more than one stage")
    previous = 0
    for index, stage in enumerate(profile.stages):
        rate = abs(stage.target - previous) / stage.duration
        if stage.spawn_rate is None and rate > MAX_SPAWN_RATE:
            problems.append(
                f"stages[{index}]: moving {abs(stage.target - previous)} users in {stage.duration:g} s needs "
                f"{rate:.4g} users/s, more than the {MAX_SPAWN_RATE:g}/s Locust can start; make the stage "
                "longer or the change smaller"
            )
        elif stage.spawn_rate is not None:
            ramp_s = abs(stage.target - previous) / stage.spawn_rate
            if ramp_s > stage.duration + _RAMP_EPSILON_S:
                problems.append(
                    f"stages[{index}].spawn_rate: ramp of {abs(stage.target - previous)} users at "
                    f"{stage.spawn_rate:g}/s takes {ramp_s:g} s, longer than the stage ({stage.duration:g} s)"
                )
        previous = stage.target
    if user_classes is not None:
        for name in profile.users:
            if name not in user_classes:
                problems.append(f"{format_loc(('users', name))}: unknown user class (known: {_known(user_classes)})")
    errors: list[ThresholdError] = []
    profile._thresholds = parse_thresholds(profile.thresholds, errors=errors)
    for error in errors:
        problems.append(f"{format_loc(('thresholds', *error.path))}: {error.message}")
    stage_names = [stage.name for stage in profile.stages]
    stage_targets = [stage.target for stage in profile.stages]
    for threshold in profile._thresholds:
        scope = threshold.scope
        where = format_loc(("thresholds", threshold.key))
        problem = scope_problem(threshold, stage_names, list(profile.scenarios or {}), stage_targets)
        if problem:
            problems.append(f"{where}: {problem}")
        if scope.tag == "name" and endpoints is not None and scope.value not in endpoints:
            problems.append(f"{where}: {_unknown_name('endpoint', scope.value or '', endpoints)}")
        elif scope.tag == "user_class":
            if user_classes is not None and scope.value not in user_classes:
                problems.append(f"{where}: {_unknown_name('user class', scope.value or '', user_classes)}")
            elif scope.value not in profile.users:
                problems.append(
                    f"{where}: user class {quote(scope.value)} takes no part in this profile (users: {_known(profile.users)})"
                )
    return list(dict.fromkeys(problems))  # one threshold key with several expressions reports once


# -- error formatting ------------------------------------------------------------------------


def format_loc(loc: Sequence[str | int]) -> str:
    """``("stages", 2, "spawn_rate")`` → ``stages[2].spawn_rate``; threshold keys are quoted."""
    text = ""
    for position, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        if part == "[key]":
            continue
        quote = (position > 0 and loc[position - 1] == "thresholds") or not part.isidentifier()
        text += ("." if text else "") + (json.dumps(part, ensure_ascii=False) if quote else part)
    return text


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is Union or type(annotation).__name__ == "UnionType":
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else annotation
    return annotation


def _allowed_keys(loc: Sequence[str | int]) -> list[str] | None:
    """The keys the model at ``loc`` (inside a Profile) accepts, or None if it is not a model."""
    annotation: Any = Profile
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model_field = annotation.model_fields.get(str(part))
            if model_field is None:
                return None
            annotation = model_field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return None


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_BOUND_MESSAGES = {
    "greater_than": ("greater than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}
"""pydantic's bound errors: the words of the message and the ``ctx`` key holding the bound."""

_TYPE_MESSAGES = {
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "an integer"),
    **dict.fromkeys(("float_type", "float_parsing"), "a number"),
    "finite_number": "a finite number",
    **dict.fromkeys(("bool_type", "bool_parsing"), "true or false"),
    "string_type": "a string",
    "list_type": "a list",
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type"), "a mapping"),
}
"""pydantic's type errors: what the value must be."""


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        return "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    bound = _BOUND_MESSAGES.get(kind)
    if bound is not None:
        word, key = bound
        return f"must be {word} {_number(ctx[key])}"
    expected = _TYPE_MESSAGES.get(kind)
    if expected is not None:
        return f"must be {expected}, got {_short(value)}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    message = str(error["msg"])
    if kind in ("value_error", "assertion_error"):
        message = message.split(", ", 1)[1] if ", " in message else message
    return message[:1].lower() + message[1:] if message[:2] != message[:2].upper() else message


def format_validation_error(error: ValidationError) -> str:
    """One line from pydantic's ``errors()``: the first error as ``path: message`` plus ``(and N more)``."""
    errors = error.errors()
    first = errors[0]
    path = format_loc(first["loc"])
    text = f"{path}: {_message(first)}" if path else _message(first)
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


# -- YAML ------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice (a silent typo otherwise), and
    input nested deeper than :data:`MAX_YAML_DEPTH` or holding more than :data:`MAX_YAML_VALUES`
    values once its aliases are expanded (measured on the node graph, before anything expands)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._measures: dict[int, tuple[int, int]] = {}
        """id(node) → (values, depth) with aliases expanded, for every node composed so far."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._measures:  # the alias of a node still being composed
                self._refuse("a recursive alias")
            return node
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                self._refuse(f"nested deeper than {MAX_YAML_DEPTH} levels")
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._measure(node)
        return node

    def _refuse(self, problem: str) -> None:
        raise yaml.composer.ComposerError(None, None, problem, self.peek_event().start_mark)

    def _measure(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            children: list[yaml.Node] = []
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = [child for pair in node.value for child in pair]
        measured = [self._measures[id(child)] for child in children]
        values = 1 + sum(m[0] for m in measured)
        depth = 1 + max((m[1] for m in measured), default=0)
        if values > MAX_YAML_VALUES:
            self._refuse(f"more than {MAX_YAML_VALUES} values once aliases are expanded")
        if depth > MAX_YAML_DEPTH:
            self._refuse(f"nested deeper than {MAX_YAML_DEPTH} levels once aliases are expanded")
        self._measures[id(node)] = (values, depth)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {quote(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str) -> Any:
    """YAML as a profile is read (the target config too): safe tags only, no duplicate keys,
    bounded nesting and alias expansion. Raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def _canonical_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# -- finding profiles ------------------------------------------------------------------------


def _search_dirs(profiles_dir: Path | None) -> list[Path]:
    if profiles_dir is not None:
        return [Path(profiles_dir)]
    dirs: list[Path] = []
    for candidate in (Path.cwd() / "profiles", PROFILES_DIR):
        if candidate.is_dir() and all(candidate.resolve() != d.resolve() for d in dirs):
            dirs.append(candidate)
    return dirs


def available_profiles(profiles_dir: Path | None = None) -> dict[str, Path]:
    """Profile name → file, from ``profiles_dir`` (default: ``./profiles``, then the repository's)."""
    found: dict[str, Path] = {}
    for directory in _search_dirs(profiles_dir):
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.suffix in PROFILE_SUFFIXES and path.is_file():
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def resolve_profile(ref: str | Path, profiles_dir: Path | None = None) -> Path:
    """The file ``ref`` names: a path to a .yaml/.yml file, or a profile name in ``profiles/``."""
    text = str(ref)
    if text.endswith(PROFILE_SUFFIXES) or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"profile file not found: {text}")
        return path
    available = available_profiles(profiles_dir)
    if text not in available:
        names = ", ".join(available) or "none found"
        raise ConfigError(f"unknown profile {text!r} (available: {names})")
    return available[text]


def load_profile(
    ref: str | Path,
    *,
    user_classes: Collection[str] | None = None,
    endpoints: Collection[str] | None = None,
    profiles_dir: Path | None = None,
) -> Profile:
    """Read and validate a profile; raise :class:`ConfigError` with one line for any problem.

    ``ref`` is a name in ``profiles/`` (looked up in ``profiles_dir``, default ``./profiles`` then
    the repository's ``profiles/``) or a path to a .yaml/.yml file. When ``user_classes`` /
    ``endpoints`` are given, the mix and the threshold scopes must name existing ones.
    """
    path = resolve_profile(ref, profiles_dir)
    shown = _display(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PROFILE_BYTES + 1)
        if len(raw) > MAX_PROFILE_BYTES:
            raise ConfigError(f"{shown}: larger than {MAX_PROFILE_BYTES // 1024} KiB; not a profile")
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read profile: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: cannot read profile: not UTF-8 text (byte {exc.start})") from None
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{shown}: {where}invalid YAML: {problem}") from None
    if data is None:
        raise ConfigError(f"{shown}: empty profile (expected a mapping with description, stages, users)")
    context = {
        "user_classes": set(user_classes) if user_classes is not None else None,
        "endpoints": set(endpoints) if endpoints is not None else None,
    }
    try:
        profile = Profile.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(one_line(f"{shown}: {format_validation_error(exc)}")) from None
    profile._name = path.stem
    profile._source_path = path
    profile._hash = _canonical_hash(data)
    return profile


@dataclass(frozen=True)
class ProfileInfo:
    """What ``bss-loadtest profiles`` shows about one profile file."""

    name: str
    path: Path
    description: str
    stages: list[Stage] = field(default_factory=list)
    thresholds: dict[str, Any] = field(default_factory=dict)
    total_duration_s: float = 0.0
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    peak_users: int = 0
    error: str | None = None
    """The one-line ConfigError when the file does not validate (then the other facts are empty)."""


def format_duration(seconds: float) -> str:
    """``7800`` → ``2h10m``, ``440`` → ``7m20s``, ``19.2`` → ``19.2s``."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if value)


def format_profile_info(info: ProfileInfo) -> str:
    """What ``bss-loadtest profiles`` prints for one profile: a header line, then indented details."""
    if info.error is not None:
        return f"{info.name}  INVALID\n    {info.error}"
    peak = info.peak_users or max((stage.target for stage in info.stages), default=0)
    if info.scenarios:
        count, noun = len(info.scenarios), "scenario"
    else:
        count, noun = len(info.stages), "stage"
    lines = [
        f"{info.name}  {format_duration(info.total_duration_s)}, {count} {noun}{'s' * (count != 1)}, "
        f"peak {peak} user{'s' * (peak != 1)}",
        f"    {info.description}",
    ]
    for name, scenario in info.scenarios.items():
        start = f" from {format_duration(scenario.startTime)}" if scenario.startTime else ""
        lines.append(f"    scenario {name}: {scenario.executor}{start}, {scenario.pool_size} "
                     f"user{'s' * (scenario.pool_size != 1)}")
    expressions = [
        f"{key} {spec.get('threshold')}{' (abortOnFail)' if spec.get('abortOnFail') else ''}"
        if isinstance(spec, dict)
        else f"{key} {spec}"
        for key, specs in info.thresholds.items()
        for spec in (specs if isinstance(specs, list) else [specs])
    ]
    if expressions:
        lines.append(f"    thresholds: {'; '.join(expressions)}")
    return "\n".join(lines)


def list_profiles(profiles_dir: Path | None = None) -> list[ProfileInfo]:
    """Every profile in ``profiles_dir`` (default: ``./profiles``, then the repository's), by name."""
    infos: list[ProfileInfo] = []
    for name, path in available_profiles(profiles_dir).items():
        try:
            profile = load_profile(path)
        except ConfigError as exc:
            infos.append(ProfileInfo(name=name, path=path, description="", error=exc.message))
            continue
        infos.append(
            ProfileInfo(
                name=name,
                path=path,
                description=profile.description,
                stages=list(profile.stages),
                thresholds=dict(profile.thresholds),
                total_duration_s=profile.total_duration_s,
                scenarios=dict(profile.scenarios or {}),
                peak_users=profile.peak_users,
            )
        )
    return infos
