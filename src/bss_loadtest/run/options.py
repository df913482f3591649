"""The suite's own Locust options (custom arguments). Does not import locust."""

from __future__ import annotations

import argparse
import logging
from typing import Any

LOOPBACK_WEB_HOST = "127.0.0.1"
DEFAULT_STOP_TIMEOUT_S = 3
"""Seconds a stopping user may take to finish its current task (Locust's ``--stop-timeout``)."""
DEFAULT_HEARTBEAT_LIVENESS = 10
"""Heartbeat intervals (1 s) without a heartbeat before the master marks a worker missing
(``--heartbeat-liveness``; Locust's own ``HEARTBEAT_LIVENESS`` is 3). bench/worker_heartbeat.py:
during a 500 users/s ramp on two cores shared with the target and other jobs, a worker's heartbeats
reached the master up to 3.6 s apart, against Locust's 4 s; a dead worker is found 7 s later."""
MAX_HEARTBEAT_LIVENESS = 3600
LOCUST_TABLES_LOGGER = "locust.stats_logger"
"""The logger Locust writes its statistics tables to, and nothing else (``locust.stats``)."""


class LocustTablesFilter(logging.Filter):
    """Drops Locust's own statistics tables: the suite prints its one end-of-run report instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def show_locust_tables(show: bool) -> None:
    """Let Locust's statistics tables through (``--locust-tables``) or not (the default).

    Locust prints its final tables at quit unless ``--json-file`` is given, and no option of its
    own turns them off, so the suite filters the one logger they go to. The filter is on the
    logger itself, which Locust's logging set-up (``dictConfig``) keeps.
    """
    logger = logging.getLogger(LOCUST_TABLES_LOGGER)
    for existing in [f for f in logger.filters if isinstance(f, LocustTablesFilter)]:
        logger.removeFilter(existing)
    if not show:
        logger.addFilter(LocustTablesFilter())


class _ShowLocustTablesAction(argparse._StoreTrueAction):
    """``--locust-tables``: a flag (config files and env vars say true/false) that lets the tables through."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        super().__call__(parser, namespace, values, option_string)
        show_locust_tables(True)


class _TraceUrlAction(argparse.Action):
    """``--trace-url TEMPLATE``: checked as it is parsed (an http(s) URL containing ``{trace_id}``);
    a bad one is one ``error:`` line and exit code 104, before anything starts."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        from bss_loadtest.core import errors
        from bss_loadtest.reports.results import trace_url_problem

        problem = trace_url_problem(str(values)) if values else None
        if problem:
            with errors.boundary():
                raise errors.ConfigError(f"--trace-url {errors.quote(str(values))}: {problem}")
        setattr(namespace, self.dest, values)


def add_arguments(parser: Any) -> None:
    """Add the suite's options to Locust's parser (called from ``init_command_line_parser``).

    They are custom arguments, so the master forwards them to workers with the spawn message.
    ``LocustArgumentParser.add_argument`` (not a group's) knows ``include_in_web_ui``.
    """
    group = parser
    group.add_argument(
        "--time-scale",
        default=1.0,
        env_var="BSS_TIME_SCALE",
        help="Multiply every duration of the profile (0.02 runs 'load' in about 20 s)",
    )
    group.add_argument(
        "--report-dir",
        default="reports",
        env_var="BSS_REPORT_DIR",
        help="Root of the run results (reports/runs/<run-id>/)",
    )
    group.add_argument(
        "--think-time",
        default="",
        env_var="BSS_THINK_TIME",
        help="MIN,MAX seconds between two tasks of a user (default: the profile's)",
    )
    # One option, two spellings (--fixed-run-id is the older one). What the user asks for is
    # ``fixed_run_id``; the run's id in force is ``run_id``, set by the master at test_start and
    # forwarded to workers with the other options.
    group.add_argument(
        "--run-id",
        "--fixed-run-id",
        dest="fixed_run_id",
        default="",
        include_in_web_ui=False,
        env_var="BSS_RUN_ID",
        help="Run id, the name of the results directory REPORT_DIR/runs/RUN_ID: letters, digits, '.', '_', '-' "
             "(default: generated)",
    )
    group.add_argument(
        "--prometheus-port",
        default=9646,
        env_var="BSS_PROMETHEUS_PORT",
        include_in_web_ui=False,
        help="Serve live metrics on 127.0.0.1:PORT/metrics (0 disables)",
    )
    group.add_argument(
        "--prometheus-host",
        default="127.0.0.1",
        env_var="BSS_PROMETHEUS_HOST",
        include_in_web_ui=False,
        help="Address the metrics endpoint binds to (a non-loopback one needs --expose-metrics)",
    )
    group.add_argument(
        "--expose-metrics",
        action="store_true",
        default=False,
        env_var="BSS_EXPOSE_METRICS",
        include_in_web_ui=False,
        help="Allow /metrics to listen on a non-loopback --prometheus-host (a pod address, for a scraper)",
    )
    group.add_argument(
        "--prometheus-linger",
        default=0.0,
        env_var="BSS_PROMETHEUS_LINGER",
        include_in_web_ui=False,
        help="Keep serving the final numbers this many seconds after the run, for a last scrape",
    )
    group.add_argument(
        "--pushgateway",
        default="",
        env_var="BSS_PUSHGATEWAY",
        include_in_web_ui=False,
        help="Push live metrics to this Pushgateway URL",
    )
    group.add_argument(
        "--push-interval",
        default=10.0,
        env_var="BSS_PUSH_INTERVAL",
        include_in_web_ui=False,
        help="Seconds between two Pushgateway pushes",
    )
    group.add_argument(
        "--otlp-endpoint",
        default="",
        metavar="URL",
        env_var="BSS_OTLP_ENDPOINT",
        include_in_web_ui=False,
        help="Also export the run's metrics over OTLP/HTTP to URL (an OpenTelemetry Collector's http://host:4318; "
             "/v1/metrics is added) every --push-interval seconds and at the end of the run",
    )
    group.add_argument(
        "--request-log",
        default="",
        env_var="BSS_REQUEST_LOG",
        include_in_web_ui=False,
        help="Also write every request (time, method, name, ms, failure class) as CSV to PATH.<pid>",
    )
    group.add_argument(
        "--allow-host",
        action="store_true",
        default=False,
        include_in_web_ui=False,
        help="Let a guarded profile (stress, spike, soak) target a host outside its allowed_hosts",
    )
    group.add_argument(
        "--expose-web-ui",
        action="store_true",
        default=False,
        include_in_web_ui=False,
        help="Allow the web UI to listen on a non-loopback --web-host (requires --web-login)",
    )
    group.add_argument(
        "--junit",
        default="",
        metavar="FILE",
        env_var="BSS_JUNIT",
        include_in_web_ui=False,
        help="Also write the thresholds as JUnit XML to FILE (one test case per threshold, a crossed one failed)",
    )
    group.add_argument(
        "--trace-url",
        action=_TraceUrlAction,
        default="",
        metavar="TEMPLATE",
        env_var="BSS_TRACE_URL",
        include_in_web_ui=False,
        help="Link each slow request in report.html to its trace: a URL with {trace_id}, e.g. Jaeger's "
             "http://localhost:16686/trace/{trace_id} (kept in summary.json, so later reports link too)",
    )
    group.add_argument(
        "--heartbeat-liveness",
        default=DEFAULT_HEARTBEAT_LIVENESS,
        metavar="BEATS",
        env_var="BSS_HEARTBEAT_LIVENESS",
        include_in_web_ui=False,
        help=f"The master marks a worker missing (its users drop out of the count, the run ends partial) when "
             f"no heartbeat came from it for over BEATS+1 seconds (default {DEFAULT_HEARTBEAT_LIVENESS}; Locust's "
             f"own is 3, too few for a worker spawning hundreds of users a second on shared cores)",
    )
    # Locust's own tables only when asked for: each parse of the command line sets the filter anew.
    show_locust_tables(False)
    group.add_argument(
        "--locust-tables",
        action=_ShowLocustTablesAction,
        default=False,
        env_var="BSS_LOCUST_TABLES",
        include_in_web_ui=False,
        help="Also print Locust's own statistics tables (periodic and final) besides the suite's end-of-run report",
    )
    # The web UI listens on loopback unless exposed on purpose; users finish the request they are
    # in when a run stops, so every request the target served is also counted here.
    parser.set_defaults(web_host=LOOPBACK_WEB_HOST, stop_timeout=str(DEFAULT_STOP_TIMEOUT_S))
