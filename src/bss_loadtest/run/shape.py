"""The suite's one ``LoadTestShape``: the selected profile's stages, or plain Locust options.

Its ``tick()`` is :func:`shape_tick`: ask the :class:`~bss_loadtest.run.suite.Suite` hung on the
environment for the active :class:`~bss_loadtest.core.plan.StagePlan` and forward the answer.
"""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape

from bss_loadtest.run import runtime


def shape_tick(environment: Any, run_time_s: float) -> tuple[int, float, list | None] | None:
    """What ``ProfileShape.tick()`` returns, as a function of the environment and the run time.

    Profile mode: ``(users, spawn_rate, user_classes)`` from the active plan, None after its last
    stage (which ends the run). Manual mode (no profile, or no suite on the environment): see
    :func:`manual_target`.
    """
    suite = getattr(environment, "bss", None)
    plan = suite.active_plan() if suite is not None else None
    if plan is None:
        target = manual_target(getattr(environment, "parsed_options", None), run_time_s)
    else:
        target = plan.advance(run_time_s)
    if target is None:
        # Stop every user (on all workers) before Locust quits, so the last numbers are collected.
        runtime.stop_users(environment)
        return None
    classes = suite.active_user_classes() if suite is not None else None
    return target[0], target[1], classes


def manual_target(options: Any, elapsed_s: float) -> tuple[int, float] | None:
    """Manual mode: Locust's own users / spawn rate until ``run_time`` seconds have passed.

    Locust does not enforce ``--run-time`` when a shape is in use, so the shape does. Without a
    run time it runs until stopped.
    """
    run_time = getattr(options, "run_time", None)
    if run_time and elapsed_s >= float(run_time):
        return None
    users = getattr(options, "num_users", None) or 1
    spawn_rate = getattr(options, "spawn_rate", None) or 1
    return int(users), float(spawn_rate)


class ProfileShape(LoadTestShape):
    """The suite's one shape: follows the selected profile, or plain Locust options in manual mode.

    Profile mode: ``(users, spawn_rate, user_classes)`` from the active plan, None after its last
    stage (which ends the run). Manual mode (no profile): the web UI's / command line's users and
    spawn rate until ``--run-time`` has elapsed.
    """

    use_common_options = True  # the web UI keeps its users / spawn rate / run time fields (manual)

    def tick(self) -> tuple[int, float, list | None] | None:
        return shape_tick(self.runner.environment, self.get_run_time())
