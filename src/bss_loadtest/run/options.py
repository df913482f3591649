"""The suite's own Locust options (custom arguments). Does not import locust."""

from __future__ import annotations

from typing import Any

LOOPBACK_WEB_HOST = "127.0.0.1"
DEFAULT_STOP_TIMEOUT_S = 3
"""Seconds a stopping user may take to finish its current task (Locust's ``--stop-timeout``)."""


def add_arguments(parser: Any) -> None:
    """Add the suite's options to Locust's parser (called from ``init_command_line_parser``).

    They are custom arguments, so the master forwards them to workers with the spawn message.
    ``LocustArgumentParser.add_argument`` (not a group's) knows ``include_in_web_ui``.
    """
    group = parser
    group.add_argument(
        "--time-scale",
        type=float,
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
    group.add_argument("--run-id", default="", include_in_web_ui=False, help="Run id (generated)")
    group.add_argument(
        "--fixed-run-id",
        default="",
        include_in_web_ui=False,
        env_var="BSS_RUN_ID",
        help="Use this run id instead of a generated one",
    )
    group.add_argument(
        "--prometheus-port",
        type=int,
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
        help="Address the metrics endpoint binds to",
    )
    group.add_argument(
        "--prometheus-linger",
        type=float,
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
        type=float,
        default=10.0,
        env_var="BSS_PUSH_INTERVAL",
        include_in_web_ui=False,
        help="Seconds between two Pushgateway pushes",
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
    # The web UI listens on loopback unless exposed on purpose; users finish the request they are
    # in when a run stops, so every request the target served is also counted here.
    parser.set_defaults(web_host=LOOPBACK_WEB_HOST, stop_timeout=str(DEFAULT_STOP_TIMEOUT_S))
