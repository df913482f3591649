"""``bss-loadtest import-k6``: a k6 script's options as a profile.

k6 resolves the options (:mod:`bss_loadtest.k6.inspect`); this module maps them:

- top-level ``stages`` (ramping VUs) → the profile's ``stages``;
- ``scenarios``, and the shortcuts as k6 converts them (``vus`` + ``duration`` → ``constant-vus``,
  ``iterations`` [+ ``vus``] → ``shared-iterations``) → the profile's ``scenarios``, k6's fields kept;
- ``thresholds`` → ``thresholds``, string and object forms and their tags as written, where the
  suite can evaluate them.

What does not map (custom metrics, ``setup()``/``teardown()`` data, values read from ``__ENV``,
``exec`` functions, scenario ``env``/``tags``, ``hosts``, ``userAgent``, ...) becomes a comment in
the profile and one warning each. The profile is validated as ``bss-loadtest profiles check``
validates it before anything is written, and written atomically, never over an existing file
unless asked to.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bss_loadtest.core import profiles, thresholds
from bss_loadtest.core.errors import ConfigError, one_line
from bss_loadtest.k6 import summary_export
from bss_loadtest.k6.inspect import Inspection

DEFAULT_MIX_PROFILE = "load"
"""The profile whose user mix an import takes when ``--users`` is not given."""
LOOPBACK = ["localhost", "127.0.0.0/8", "::1"]
"""``allowed_hosts`` of every profile in ``profiles/``."""
GUARD_ABOVE_USERS = 100
GUARD_ABOVE_S = 30 * 60
"""A profile over this many users or longer than this is guarded, as stress, spike and soak are."""

SCENARIO_FIELDS = (
    "executor", "startTime", "gracefulStop", "vus", "duration", "iterations", "maxDuration", "startVUs", "stages",
    "gracefulRampDown", "rate", "startRate", "timeUnit", "preAllocatedVUs", "maxVUs",
)
"""The k6 scenario fields a profile's scenario has, in the order they are written."""
DURATION_FIELDS = {"startTime", "gracefulStop", "duration", "maxDuration", "gracefulRampDown", "timeUnit"}
FIXED_POOL_EXECUTORS = ("constant-vus", "per-vu-iterations", "shared-iterations")
MAPPED_OPTIONS = {"stages", "scenarios", "vus", "duration", "iterations", "thresholds"}

K6_BUILTIN_METRICS = (
    "http_req_blocked", "http_req_connecting", "http_req_tls_handshaking", "http_req_sending", "http_req_waiting",
    "http_req_receiving", "data_sent", "data_received", "group_duration",
)
"""k6's own metrics beside those the suite evaluates: the suite's threshold parser says why each is not one."""

OPTION_NOTES = {
    "hosts": "k6 resolves these names to fixed addresses; the suite uses the system resolver (or give --host the address)",
    "userAgent": "the suite sends its own User-Agent",
    "tags": "k6 tags every sample with these; the suite tags its requests with the run id",
    "summaryTrendStats": "--summary-export writes avg, min, med, max, p(90), p(95), p(99)",
    "summaryTimeUnit": "--summary-export writes durations in milliseconds, as k6 does by default",
    "noConnectionReuse": "the suite's users keep their connections",
    "insecureSkipTLSVerify": "the suite verifies TLS certificates",
    "rps": "a global request-rate cap has no counterpart; an arrival-rate scenario sets the rate instead",
    "minIterationDuration": "the suite paces users with think_time",
    "setupTimeout": "there is no setup() in a profile",
    "teardownTimeout": "there is no teardown() in a profile",
}

_ENV_READ = re.compile(r"__ENV\s*(?:\.\s*([A-Za-z_$][\w$]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_ALIAS = re.compile(r"^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=")
_LIFECYCLE = re.compile(
    r"export\s+(?:async\s+)?function\s+(setup|teardown|handleSummary)\b"
    r"|export\s+(?:const|let|var)\s+(setup|teardown|handleSummary)\b"
)
_LIFECYCLE_NOTES = {
    "setup": "setup() runs once before the load and hands its data to every VU; the suite's users get their "
             "tokens and test data themselves, and setup()'s data does not carry over",
    "teardown": "teardown() does not carry over; the suite deletes the test data its run created",
    "handleSummary": "handleSummary() does not carry over; the suite writes summary.json, report.html "
                     "and, with --summary-export FILE, k6's summary JSON",
}


@dataclass
class ImportResult:
    """A profile made from a k6 script: its text, the warnings and the validated profile."""

    text: str
    warnings: list[str]
    profile: profiles.Profile
    shape: str
    """One line about the load: ``5 stages, peak 20 users, 16m``."""


@dataclass
class _Notes:
    """What did not carry over: one line each, a comment in the profile and a warning."""

    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        text = one_line(text)
        if text not in self.lines:
            self.lines.append(text)


# -- small conversions -----------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """k6's ``"2m0s"`` read as seconds, written the way the profiles write them: ``2m``, ``1m30s``, ``1h``, ``0.5s``."""
    if seconds == 0:
        return "0s"
    whole_ms = round(seconds * 1000)
    hours, rest = divmod(whole_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = rest / 1000
    text = "".join(f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m")) if value)
    if secs:
        text += f"{secs:g}s"
    return text


def _duration(value: Any, where: str) -> str:
    try:
        return format_duration(profiles.parse_duration(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_users(text: str) -> dict[str, int]:
    """``CustomerUser=3,OrderUser=1`` → ``{"CustomerUser": 3, "OrderUser": 1}``; ConfigError for anything else."""
    mix: dict[str, int] = {}
    for part in text.split(","):
        name, equals, weight = part.strip().partition("=")
        name, weight = name.strip(), weight.strip()
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not re.fullmatch(r"[0-9]+", weight) \
                or int(weight) <= 0:
            raise ConfigError(f"--users {text!r}: expected Class=weight,... with weights above 0, "
                              "e.g. CustomerUser=3,OrderUser=1")
        if name in mix:
            raise ConfigError(f"--users {text!r}: {name} is given twice")
        mix[name] = int(weight)
    return mix


def _given(value: Any) -> bool:
    """Whether an option says something: not null, false, empty, or a block of nulls (k6's ``dns``)."""
    if value is None or value is False or value == [] or value == {} or value == "":
        return False
    if isinstance(value, Mapping):
        return any(_given(v) for v in value.values())
    return True


def _shown(value: Any) -> str:
    return one_line(yaml.safe_dump(value, default_flow_style=True, width=math.inf).strip().removesuffix("..."), 120)


# -- the mapping -----------------------------------------------------------------------------------


def _stages(raw: list[Any], where: str) -> list[dict[str, Any]]:
    stages = []
    for index, stage in enumerate(raw):
        if not isinstance(stage, Mapping):
            raise ConfigError(f"{where}[{index}]: not a stage")
        stages.append({"duration": _duration(stage.get("duration"), f"{where}[{index}].duration"),
                       "target": stage.get("target", 0)})
    return stages


def _scenario(name: str, raw: Mapping[str, Any], notes: _Notes, where: str) -> dict[str, Any]:
    scenario: dict[str, Any] = {}
    for key in SCENARIO_FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        if key in DURATION_FIELDS:
            value = _duration(value, f"{where}.{key}")
        elif key == "stages":
            value = _stages(value, f"{where}.stages")
        scenario[key] = value
    if raw.get("exec") not in (None, "default"):
        notes.add(f"scenario {name}: exec {raw['exec']!r}: the script's functions do not carry over; the scenario "
                  "runs the profile's user classes (its users)")
    for key in ("env", "tags"):
        if _given(raw.get(key)):
            notes.add(f"scenario {name}: {key} {_shown(raw[key])}: no counterpart in a profile")
    for key in sorted(set(raw) - set(SCENARIO_FIELDS) - {"exec", "env", "tags"}):
        if _given(raw[key]):
            notes.add(f"scenario {name}: {key} {_shown(raw[key])}: not a field the suite's scenarios have")
    return scenario


def _pool(scenario: Mapping[str, Any]) -> int:
    """How many users a scenario may use at most (k6's defaults applied)."""
    executor = scenario["executor"]
    if executor in FIXED_POOL_EXECUTORS:
        return int(scenario.get("vus", 1))
    if executor == "ramping-vus":
        return max([int(scenario.get("startVUs", 1)), *(int(s["target"]) for s in scenario.get("stages", []))])
    return int(scenario.get("maxVUs", scenario.get("preAllocatedVUs", 0)))


def _span_s(scenario: Mapping[str, Any]) -> float:
    executor = scenario["executor"]
    start = profiles.parse_duration(scenario.get("startTime", 0))
    if executor in ("constant-vus", "constant-arrival-rate"):
        return start + profiles.parse_duration(scenario.get("duration", 0))
    if executor in ("ramping-vus", "ramping-arrival-rate"):
        return start + sum(profiles.parse_duration(s["duration"]) for s in scenario.get("stages", []))
    return start + profiles.parse_duration(scenario.get("maxDuration", "10m"))


def _thresholds(raw: Any, notes: _Notes) -> tuple[dict[str, list[Any]], list[str]]:
    """(the thresholds the suite can evaluate, comment lines for the ones it cannot)."""
    kept: dict[str, list[Any]] = {}
    comments: list[str] = []
    if not isinstance(raw, Mapping):
        return kept, comments
    for key, specs in raw.items():
        specs = specs if isinstance(specs, list) else [specs]
        metric = str(key).split("{", 1)[0].strip()
        for spec in specs:
            if isinstance(spec, Mapping):
                spec = {k: v for k, v in spec.items() if v is not None}
            problems: list[thresholds.ThresholdError] = []
            thresholds.parse_thresholds({key: [spec]}, errors=problems)
            if not problems:
                kept.setdefault(key, []).append(spec)
                continue
            if metric not in thresholds.METRIC_STATISTICS and metric not in K6_BUILTIN_METRICS:
                why = (f"custom metric {metric!r}: the script's code fed it, and the suite measures only its own "
                       f"metrics ({', '.join(thresholds.METRIC_STATISTICS)})")
            else:
                why = problems[0].message
            comments.append(f"{key}: [{_shown(spec)}]   # not carried over: {why}")
            notes.add(f"threshold {key} {_shown(spec)}: {why}")
    return kept, comments


_KEY = re.compile(r"(?<![\w$.])([A-Za-z_]\w*)\s*:(?!:)")


def _keyed_segments(line: str) -> list[tuple[str, str]]:
    """``vus: A, iterations: B`` → ``[("vus", " A, "), ("iterations", " B")]``: each key with its value's text."""
    found = list(_KEY.finditer(line))
    return [(match.group(1), line[match.end(): found[i + 1].start() if i + 1 < len(found) else len(line)])
            for i, match in enumerate(found)]


def _env_notes(source: str, options: Mapping[str, Any], notes: _Notes) -> None:
    """Say which options read ``__ENV``: k6 inspect printed the values they resolved to now."""
    variables = sorted({a or b for a, b in _ENV_READ.findall(source)})
    if not variables:
        return
    option_names = set(options) | set(SCENARIO_FIELDS) | {"target", "threshold"}
    lines = source.splitlines()
    dependent: dict[str, set[str]] = {}
    aliases: dict[str, set[str]] = {}
    for line in lines:
        reads = {a or b for a, b in _ENV_READ.findall(line)}
        alias = _ALIAS.match(line)
        if alias and reads:
            aliases.setdefault(alias.group(1), set()).update(reads)
    for line in lines:
        for key, segment in _keyed_segments(line):
            if key not in option_names:
                continue
            reads = {a or b for a, b in _ENV_READ.findall(segment)}
            for alias, via in aliases.items():
                if re.search(rf"(?<![\w$.]){re.escape(alias)}(?![\w$])", segment):
                    reads |= via
            if reads:
                dependent.setdefault(key, set()).update(reads)
    if dependent:
        described = ", ".join(
            f"{key} (__ENV.{'/'.join(sorted(reads))}"
            + (f" → {_shown(options[key])}" if _given(options.get(key)) else "") + ")"
            for key, reads in sorted(dependent.items()))
        notes.add(f"options read from __ENV: {described}; the profile holds the values k6 resolved at import "
                  "(set the variables before import-k6 for others)")
    rest = sorted(set(variables) - set().union(*dependent.values())) if dependent else variables
    if rest:
        notes.add(f"the script reads __ENV.{', __ENV.'.join(rest)} outside its options (in its requests, which do "
                  "not carry over: the suite takes --host and its own settings)")


def build_profile_data(
    inspection: Inspection,
    *,
    users: Mapping[str, int] | None,
    default_mix: tuple[Mapping[str, int], str],
    notes: _Notes,
) -> tuple[dict[str, Any], list[str], list[str], str]:
    """(profile data, comment lines for the thresholds not carried over, comment above ``users``, shape line)."""
    options = inspection.options
    derived = inspection.requirements.get("scenarios") or {}
    data: dict[str, Any] = {}

    explicit_scenarios = options.get("scenarios")
    if _given(options.get("stages")) and not _given(explicit_scenarios):
        data["stages"] = _stages(options["stages"], "stages")
        if isinstance(options.get("vus"), int) and options["vus"] > 1:
            notes.add(f"vus {options['vus']} with stages: k6 starts the ramp at {options['vus']} VUs; "
                      "the profile's stages start at 0 users")
    else:
        if not derived:
            raise ConfigError(f"{inspection.script}: k6 derived no scenario from the options")
        data["scenarios"] = {name: _scenario(name, raw, notes, f"scenarios.{name}")
                             for name, raw in derived.items()}

    mix_comment: str
    if users:
        mix = dict(users)
        mix_comment = "# The user mix given to import-k6 (--users)."
    else:
        mix = dict(default_mix[0])
        mix_comment = (f"# The default user mix: that of {default_mix[1]} (k6's requests do not carry over; "
                       "choose the mix with import-k6 --users Class=weight,...).")
        for name, scenario in data.get("scenarios", {}).items():
            pool = _pool(scenario)
            if scenario["executor"] in FIXED_POOL_EXECUTORS and pool < len(mix):
                heaviest = sorted(mix.items(), key=lambda item: -item[1])[:max(pool, 1)]
                scenario["users"] = dict(heaviest)
                notes.add(f"scenario {name}: {pool} user(s) cannot run the default mix of {len(mix)} classes; "
                          f"it runs the heaviest {len(heaviest)}: {', '.join(n for n, _ in heaviest)} (or import with --users, "
                          "e.g. --users SmokeUser=1 for the suite's smoke pass)")
    data["users"] = mix

    kept, threshold_comments = _thresholds(options.get("thresholds"), notes)
    data["thresholds"] = kept

    for key in sorted(set(options) - MAPPED_OPTIONS):
        if key == "summaryTrendStats" and isinstance(options[key], list) \
                and set(options[key]) <= set(summary_export.TREND_KEYS):
            continue  # --summary-export writes these already
        if _given(options[key]):
            why = OPTION_NOTES.get(key, "no counterpart in the suite")
            if key == "summaryTrendStats" and isinstance(options[key], list):
                missing = [stat for stat in options[key] if stat not in summary_export.TREND_KEYS]
                why = f"{why}, not {', '.join(map(str, missing))}"
            notes.add(f"option {key} {_shown(options[key])}: {why}")
    for found in sorted({a or b for a, b in _LIFECYCLE.findall(inspection.source)}):
        notes.add(_LIFECYCLE_NOTES[found])
    _env_notes(inspection.source, options, notes)
    for warning in inspection.warnings:
        notes.add(f"k6: {warning}")

    if "stages" in data:
        peak = max((int(s["target"]) for s in data["stages"]), default=0)
        length = sum(profiles.parse_duration(s["duration"]) for s in data["stages"])
        shape = (f"{len(data['stages'])} stage{'s' * (len(data['stages']) != 1)}, peak {peak} "
                 f"user{'s' * (peak != 1)}, {format_duration(length)}")
    else:
        scenarios = data["scenarios"]
        peak = sum(_pool(s) for s in scenarios.values())
        length = max(_span_s(s) for s in scenarios.values())
        described = ", ".join(f"{name} ({s['executor']})" for name, s in scenarios.items())
        shape = (f"scenario{'s' * (len(scenarios) != 1)} {described}; up to {peak} user{'s' * (peak != 1)}, "
                 f"{format_duration(length)}")
    data["allowed_hosts"] = list(LOOPBACK)
    data["guard_hosts"] = peak > GUARD_ABOVE_USERS or length > GUARD_ABOVE_S
    return data, threshold_comments, [mix_comment], shape


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, allow_unicode=True, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _emit(key: str, value: Any, indent: str) -> list[str]:
    """Block mappings down to the leaves; lists of scalars, stages and threshold objects in flow style."""
    head = f"{indent}{_flow(key)}:"
    if isinstance(value, Mapping) and value:
        return [head] + [line for k, v in value.items() for line in _emit(str(k), v, indent + "  ")]
    if isinstance(value, list) and any(isinstance(item, (Mapping, list)) for item in value):
        return [head] + [f"{indent}  - {_flow(item)}" for item in value]
    return [f"{head} {_flow(value)}"]


def render(
    data: Mapping[str, Any],
    *,
    script: str,
    version: str,
    description: str,
    notes: list[str],
    threshold_comments: list[str],
    users_comment: list[str],
) -> str:
    """The profile's YAML with its comments: where it came from, what did not carry over."""

    def block(key: str, value: Any) -> str:
        return "\n".join(_emit(key, value, "")) + "\n"

    today = datetime.now(UTC).date().isoformat()
    lines = [f"# Imported from {script} by `bss-loadtest import-k6` (k6 {version} inspect), {today}.",
             "# Only the script's options carry over: the requests are the suite's user classes (users below),",
             "# paced by the default think_time (k6's sleep() calls are code, not options)."]
    if notes:
        lines += ["#", "# Not carried over (each was a warning at import):"]
        lines += [f"#   - {note}" for note in notes]
    text = "\n".join(lines) + "\n" + block("description", description)
    for key in ("stages", "scenarios"):
        if key in data:
            text += "\n" + block(key, data[key])
    text += "\n" + "\n".join(users_comment) + "\n" + block("users", data["users"])
    text += "\nthresholds:" + ("" if data["thresholds"] else " {}") + "\n"
    for key, value in data["thresholds"].items():
        if key.split("{", 1)[0] == "errors":
            text += "  # errors: the share of failed checks, which the script's custom Rate 'errors' counted\n"
        text += "\n".join(_emit(key, value, "  ")) + "\n"
    text += "".join(f"  # {comment}\n" for comment in threshold_comments)
    guard_why = ("over 100 users or 30 minutes: guarded like stress, spike and soak"
                 if data["guard_hosts"] else "unguarded like load and smoke")
    text += (f"\n# Loopback only, as every profile in profiles/ ({guard_why}); list the target's hosts here.\n"
             + block("allowed_hosts", data["allowed_hosts"]) + block("guard_hosts", data["guard_hosts"]))
    return text


def _validate(text: str, stem: str, shown: str, *, user_classes: Collection[str] | None,
              endpoints: Collection[str] | None) -> profiles.Profile:
    """Load the profile text as ``profiles check`` would; a problem names ``shown``, not the temporary file."""
    with tempfile.TemporaryDirectory(prefix="bss-import-k6-") as directory:
        path = Path(directory) / f"{stem}.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return profiles.load_profile(path, user_classes=user_classes, endpoints=endpoints)
        except ConfigError as exc:
            message = exc.message.replace(str(path), shown).replace(str(path.resolve()), shown)
            raise ConfigError(f"{message} (the profile imported from the k6 script; nothing written)") from None


def import_inspection(
    inspection: Inspection,
    *,
    script_shown: str,
    output_shown: str,
    users: Mapping[str, int] | None = None,
    user_classes: Collection[str] | None = None,
    endpoints: Collection[str] | None = None,
    default_mix_profile: str = DEFAULT_MIX_PROFILE,
) -> ImportResult:
    """The profile for an inspected script, validated (``user_classes``/``endpoints`` as ``profiles check``)."""
    default_mix = ({}, "")
    if not users:  # the default mix is read only when it is used
        default_mix = (profiles.load_profile(default_mix_profile).users, f"profiles/{default_mix_profile}.yaml")
    notes = _Notes()
    data, threshold_comments, users_comment, shape = build_profile_data(
        inspection, users=users, default_mix=default_mix, notes=notes)
    description = f"Imported from the k6 script {Path(script_shown).name} by bss-loadtest import-k6: {shape}."
    text = render(data, script=script_shown, version=inspection.version, description=description,
                  notes=notes.lines, threshold_comments=threshold_comments, users_comment=users_comment)
    stem = Path(output_shown).stem if output_shown != "-" else Path(script_shown).stem
    profile = _validate(text, stem, output_shown if output_shown != "-" else "<stdout>",
                        user_classes=user_classes, endpoints=endpoints)
    return ImportResult(text=text, warnings=list(notes.lines), profile=profile, shape=shape)


def default_output(script: str | os.PathLike[str]) -> Path:
    """``profiles/<script stem>.yaml``."""
    return Path("profiles") / f"{Path(script).stem}.yaml"


def write_profile(text: str, output: Path, *, force: bool) -> None:
    """Write atomically; an existing file only with ``force`` (else ConfigError, nothing touched)."""
    from bss_loadtest.reports.results import atomic_write_bytes

    if output.is_dir():
        raise ConfigError(f"{output}: is a directory; name the profile file to write (-o FILE.yaml)")
    if not output.parent.is_dir():
        raise ConfigError(f"{output}: directory {output.parent} does not exist")
    try:
        atomic_write_bytes(output, text.encode("utf-8"), replace=force)
    except FileExistsError:
        raise ConfigError(f"{output}: exists; pass --force to overwrite it") from None


def check_output(output: Path, *, force: bool) -> None:
    """The checks :func:`write_profile` makes, before k6 runs: a name ending .yaml/.yml, its
    directory there, no file in the way unless ``force``."""
    if output.suffix not in profiles.PROFILE_SUFFIXES:
        raise ConfigError(f"{output}: a profile file ends in .yaml or .yml")
    if output.is_dir():
        raise ConfigError(f"{output}: is a directory; name the profile file to write (-o FILE.yaml)")
    if not output.parent.is_dir():
        raise ConfigError(f"{output}: directory {output.parent} does not exist")
    if output.exists() and not force:
        raise ConfigError(f"{output}: exists; pass --force to overwrite it")
