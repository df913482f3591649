"""The suite in Locust's web UI, through the extension points Locust 2.47 offers.

:func:`install` (called from ``Suite.on_init`` when there is a web UI) adds:

- a Flask blueprint on ``web_ui.app`` under ``<web base path>/bss``: ``profiles`` (each
  profile's stages and thresholds), ``status`` (the live verdicts, planned against actual users,
  the report once written), ``report`` and ``runs/<run-id>/<file>`` (the run's own
  ``report.html``, ``summary.json`` and ``history.csv``, nothing else) and ``static/`` (the
  script and style below). Every route is behind ``web_ui.auth_required_if_enabled``.
- Locust's extra tabs: ``template_args["extended_tabs"]`` and ``["extended_tables"]`` declare a
  *Thresholds* and a *Stages* tab, and an ``after_request`` hook adds their rows to Locust's own
  ``/stats/requests`` poll as ``extended_stats`` (the mechanism of Locust's
  ``examples/extend_web_ui.py``); ``["extended_csv_files"]`` adds the report to *Download Data*.
- one ``<script>`` in Locust's index page (the same ``after_request`` hook): Locust's React start
  form cannot be reordered from Python, so the script puts a profile picker above the form, which
  shows the profile's stages and thresholds and writes the choice into Locust's own *Profile*
  field (which the form submits, as before); it draws the planned and actual users on the
  *Stages* tab and shows a link to ``report.html`` when the run's results are written.

Nothing here reads options or the environment's secrets: the pages carry profile files, verdicts,
user counts and the run id only. Text reaches the page through ``textContent`` (the script) or
React (the tables), never as markup.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request
from flask import send_from_directory as flask_send_from_directory
from markupsafe import Markup, escape

from bss_loadtest.core import profiles, thresholds
from bss_loadtest.core.plan import StagePlan
from bss_loadtest.run.suite import MANUAL_PROFILE

logger = logging.getLogger(__name__)

BLUEPRINT_NAME = "bss"
URL_PREFIX = "/bss"
STATIC_DIR = Path(__file__).resolve().parent / "webui" / "static"

THRESHOLDS_TAB = "bss-thresholds"
"""Key of the *Thresholds* tab (also its ``?tab=`` in the page's URL)."""
STAGES_TAB = "bss-stages"
"""Key of the *Stages* tab."""

RUN_FILES = ("report.html", "summary.json", "history.csv")
"""The files of a run directory the web UI serves; nothing else under the report dir is served."""
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

PLANNED_POINTS_MAX = 400
"""Most points of the planned-users line (a ramp is two points; this bounds a long profile)."""
ACTUAL_POINTS_MAX = 2000
"""Most points of the actual-users line sent per poll (a soak run has 7800 seconds)."""

LOCUST_INDEX = "locust.index"
LOCUST_STATS = "locust.request_stats"

MANUAL_DESCRIPTION = "No profile: Locust's own number of users, ramp up and run time from the form below."


def install(suite: Any, web_ui: Any) -> None:
    """Add the suite's routes, tabs and script to Locust's ``web_ui`` (idempotent)."""
    app = web_ui.app
    if BLUEPRINT_NAME in app.blueprints:
        return
    base = (getattr(suite.options, "web_base_path", None) or "").rstrip("/")
    guarded = web_ui.auth_required_if_enabled
    blueprint = Blueprint(
        BLUEPRINT_NAME, __name__, url_prefix=base + URL_PREFIX,
        static_folder=str(STATIC_DIR), static_url_path="/static",
    )
    blueprint.add_url_rule("/profiles", "profiles", guarded(lambda: jsonify(profiles_payload(suite))))
    blueprint.add_url_rule("/status", "status", guarded(lambda: jsonify(status_payload(suite))))
    blueprint.add_url_rule("/report", "report", guarded(lambda: latest_report(suite)))
    blueprint.add_url_rule(
        "/runs/<run_id>/<name>", "run_file", guarded(lambda run_id, name: run_file(suite, run_id, name))
    )
    app.register_blueprint(blueprint)

    args = web_ui.template_args
    args["extended_tabs"] = [
        *_others(args.get("extended_tabs"), {THRESHOLDS_TAB, STAGES_TAB}),
        {"title": "Thresholds", "key": THRESHOLDS_TAB},
        {"title": "Stages", "key": STAGES_TAB},
    ]
    args["extended_tables"] = [
        *_others(args.get("extended_tables"), {THRESHOLDS_TAB, STAGES_TAB}),
        {"key": THRESHOLDS_TAB, "structure": [
            {"key": "metric", "title": "Metric"},
            {"key": "expression", "title": "Threshold"},
            {"key": "observed", "title": "Observed"},
            {"key": "verdict", "title": "Verdict"},
            {"key": "reason", "title": "Reason"},
        ]},
        {"key": STAGES_TAB, "structure": [
            {"key": "stage", "title": "Stage"},
            {"key": "window", "title": "Time"},
            {"key": "planned", "title": "Planned users"},
            {"key": "actual", "title": "Actual users"},
            {"key": "state", "title": "State"},
        ]},
    ]
    args["extended_csv_files"] = [
        *(args.get("extended_csv_files") or []),
        {"href": f".{URL_PREFIX}/report", "title": "Report of the last finished run (report.html)"},
    ]

    def after_request(response: Response) -> Response:
        try:
            if request.endpoint == LOCUST_STATS and response.status_code == 200 and response.is_json:
                extend_stats(response, suite)
            elif request.endpoint == LOCUST_INDEX and response.status_code == 200 and response.mimetype == "text/html":
                add_script(response)
        except Exception:  # the suite's additions must never break Locust's own page or stats
            logger.exception("extending the web UI's %s failed", request.path)
        return response

    app.after_request(after_request)


def _others(entries: Any, keys: set[str]) -> list:
    """What another extension put in a template argument, without the suite's own entries."""
    return [entry for entry in entries or [] if entry.get("key") not in keys]


# -- the hooks on Locust's own pages ---------------------------------------------------------


def extend_stats(response: Response, suite: Any) -> None:
    """Add the Thresholds and Stages rows to Locust's ``/stats/requests`` answer."""
    data = response.get_json()
    extended = [e for e in data.get("extended_stats") or [] if e.get("key") not in (THRESHOLDS_TAB, STAGES_TAB)]
    extended.append({"key": THRESHOLDS_TAB, "data": threshold_rows(suite)})
    extended.append({"key": STAGES_TAB, "data": stage_rows(suite)})
    data["extended_stats"] = extended
    response.set_data(json.dumps(data))


def add_script(response: Response) -> None:
    """Load the suite's script and style in Locust's index page (before ``</body>``)."""
    from bss_loadtest import __version__

    version = escape(__version__)
    tags = Markup(
        '<link rel="stylesheet" href="./bss/static/bss.css?v={v}">'
        '<script defer src="./bss/static/bss.js?v={v}" data-thresholds-tab="{t}" data-stages-tab="{s}"></script>'
    ).format(v=version, t=THRESHOLDS_TAB, s=STAGES_TAB)
    html = response.get_data(as_text=True)
    at = html.rfind("</body>")
    if at < 0:
        return
    response.set_data(html[:at] + str(tags) + html[at:])


# -- what the routes answer ------------------------------------------------------------------


def profiles_payload(suite: Any) -> dict[str, Any]:
    """Every profile with its stages (at the current ``--time-scale``) and thresholds.

    ``{"time_scale", "selected", "profiles": [{"name", "description", "error", "total_duration_s",
    "stages": [{"start_s", "end_s", "duration_s", "from", "target", "spawn_rate"}],
    "scenarios": [{"name", "executor", "start_s", "end_s", "users", "mix"}],
    "thresholds": [{"metric", "expression", "abort_on_fail", "delay_abort_eval_s"}]}]}``; ``manual`` first.
    """
    scale = suite.time_scale
    entries: list[dict[str, Any]] = [{
        "name": MANUAL_PROFILE, "description": MANUAL_DESCRIPTION, "error": None,
        "total_duration_s": None, "stages": [], "scenarios": [], "thresholds": [],
    }]
    for info in profiles.list_profiles():
        stages = []
        if info.stages:
            scaled = [stage.model_copy(update={"duration": stage.duration * scale}) for stage in info.stages]
            for stage, given in zip(StagePlan(scaled).stages, info.stages, strict=True):
                stages.append({
                    "start_s": stage.start_s, "end_s": stage.end_s, "duration_s": stage.duration_s,
                    "from": stage.start_users, "target": stage.target, "spawn_rate": given.spawn_rate,
                })
        parsed = thresholds.parse_thresholds(info.thresholds, errors=[])
        entries.append({
            "name": info.name,
            "description": info.description,
            "error": info.error,
            "total_duration_s": info.total_duration_s * scale if info.stages or info.scenarios else None,
            "stages": stages,
            "scenarios": [
                {"name": name, "executor": scenario.executor, "start_s": scenario.startTime * scale,
                 "end_s": scenario.end_s * scale, "users": scenario.pool_size,
                 "mix": dict(scenario.users or {}) or None}
                for name, scenario in info.scenarios.items()
            ],
            "thresholds": [
                {"metric": t.key or t.metric, "expression": t.expression, "abort_on_fail": t.abort_on_fail,
                 "delay_abort_eval_s": t.delay_abort_eval_s * scale}
                for t in parsed
            ],
        })
    return {"time_scale": scale, "selected": suite.profile_ref() or MANUAL_PROFILE, "profiles": entries}


def status_payload(suite: Any) -> dict[str, Any]:
    """The current run as the script draws it: verdicts, planned and actual users, the report."""
    run = suite.run
    selection = suite.selection
    runner = suite.environment.runner
    return {
        "run_id": run.run_id,
        "profile": selection.profile.name if selection.profile is not None else MANUAL_PROFILE,
        "state": getattr(runner, "state", None),
        "finished": bool(run.run_id) and run.finished.is_set(),
        "thresholds": [
            {"metric": _metric_label(r), "expression": r.expression, "observed": r.observed,
             "observed_text": thresholds.format_value(r.observed, getattr(r, "unit", "")),
             "passed": bool(r.passed), "reason": r.reason}
            for r in suite.threshold_results()
        ],
        "planned": planned_points(selection.plan),
        "actual": actual_points(run),
        "report": report_url(suite),
    }


def threshold_rows(suite: Any) -> list[dict[str, str]]:
    """The *Thresholds* tab: the live verdicts (``Suite.threshold_results()``, the numbers of
    ``bss_loadtest_threshold_passing``); before the first evaluation, the thresholds waiting."""
    results = suite.threshold_results()
    if results:
        return [
            {"metric": _metric_label(r), "expression": r.expression,
             "observed": thresholds.format_value(r.observed, getattr(r, "unit", "")),
             "verdict": "PASS" if r.passed else "FAIL", "reason": r.reason or ""}
            for r in results
        ]
    return [
        {"metric": t.key or t.metric, "expression": t.expression, "observed": "-",
         "verdict": "waiting", "reason": "not evaluated yet"}
        for t in suite.selection.thresholds
    ]


def stage_rows(suite: Any) -> list[dict[str, str]]:
    """The *Stages* tab's table: each stage's time window, planned users and the users seen."""
    run = suite.run
    elapsed = _elapsed_s(run)
    actual = dict(actual_points(run, limit=None))
    rows = []
    for index, stage in enumerate(_stages(suite.selection.plan)):
        start_s, end_s = stage["start_s"], stage["end_s"]
        seen = [users for t, users in actual.items() if start_s <= t < end_s]
        if elapsed is None or elapsed < start_s:
            state = "planned"
        elif elapsed < end_s and not run.finished.is_set():
            state = "running"
        else:
            state = "done"
        rows.append({
            "stage": str(index + 1),
            "window": f"{_seconds(start_s)} – {_seconds(end_s)}",
            "planned": f"{stage['from']} → {stage['target']}" if stage["from"] != stage["target"] else str(stage["target"]),
            "actual": f"{min(seen)} – {max(seen)}" if seen and min(seen) != max(seen) else (str(seen[0]) if seen else "-"),
            "state": state,
        })
    return rows


def planned_points(plan: Any) -> list[list[float]]:
    """The planned users as a polyline ``[[t_s, users], ...]`` (a ramp is a line, an explicit
    spawn rate a step), or ``[]`` (manual mode)."""
    points: list[list[float]] = []
    for stage in _stages(plan):
        if not points:
            points.append([stage["start_s"], stage["from"]])
        if stage["step"]:
            points.append([stage["start_s"], stage["target"]])
        points.append([stage["end_s"], stage["target"]])
    return points[:PLANNED_POINTS_MAX]


def actual_points(run: Any, limit: int | None = ACTUAL_POINTS_MAX) -> list[list[float]]:
    """The users Locust ran, one point per sampled second ``[[t_s, users], ...]`` since the start."""
    started = run.started_at
    if started is None:
        return []
    points = [[max(0.0, second - started), users] for second, users in sorted(run.stats.users_at.items())]
    if limit is not None and len(points) > limit:
        step = -(-len(points) // limit)
        points = points[::step] + ([points[-1]] if (len(points) - 1) % step else [])
    return points


def report_url(suite: Any) -> str | None:
    """``./bss/runs/<id>/report.html`` once the current run's results are written, else None."""
    run = suite.run
    run_dir = getattr(suite.results, "run_dir", None)
    if not run.run_id or not run.finished.is_set() or run_dir is None or Path(run_dir).name != str(run.run_id):
        return None
    if not (Path(run_dir) / "report.html").is_file():
        return None
    return f".{URL_PREFIX}/runs/{run.run_id}/report.html"


def latest_report(suite: Any) -> Response:
    url = report_url(suite)
    if url is None:
        return Response("No run has finished in this Locust process yet.\n", status=404, mimetype="text/plain")
    return redirect(url.removeprefix(f".{URL_PREFIX}/"), code=302)


def run_file(suite: Any, run_id: str, name: str) -> Response:
    """One of :data:`RUN_FILES` of a run under the report dir; 404 for anything else."""
    if name not in RUN_FILES or not RUN_ID_PATTERN.fullmatch(run_id):
        return Response("Not found.\n", status=404, mimetype="text/plain")
    runs = Path(suite.option("report_dir", "reports")).resolve() / "runs"
    path = (runs / run_id / name).resolve()
    if not path.is_relative_to(runs) or not path.is_file():
        return Response("Not found.\n", status=404, mimetype="text/plain")
    response = flask_send_from_directory(runs, f"{run_id}/{name}", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- helpers ---------------------------------------------------------------------------------


def _stages(plan: Any) -> list[dict[str, Any]]:
    """The plan's stages (also of an aborted run's plan) as dicts with ``from`` and ``step``."""
    inner = getattr(plan, "plan", plan)
    planned = getattr(inner, "stages", None)
    if planned:
        return [
            {"start_s": s.start_s, "end_s": s.end_s, "from": s.start_users, "target": s.target,
             "step": s.explicit_rate is not None}
            for s in planned
        ]
    stages, previous = [], 0
    for entry in plan.stages_timeline() if plan is not None else []:
        stages.append({"start_s": entry["start_s"], "end_s": entry["end_s"], "from": previous,
                       "target": entry["target"], "step": False})
        previous = entry["target"]
    return stages


def _metric_label(result: Any) -> str:
    return f"{result.metric}{{{result.scope}}}" if result.scope else result.metric


def _elapsed_s(run: Any) -> float | None:
    if run.started_at is None:
        return None
    end = run.stats.ended_at if run.finished.is_set() and run.stats.ended_at else time.time()
    return end - run.started_at


def _seconds(value: float) -> str:
    return profiles.format_duration(round(value, 2))
