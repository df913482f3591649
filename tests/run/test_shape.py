"""The Locust shape, in the gevent-patched glue test process (see tests/run/README.md)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from tests.unit.test_stage_plan import REPO_PROFILES

from bss_loadtest.core.plan import StagePlan
from bss_loadtest.core.profiles import Profile, load_profile
from bss_loadtest.run import runtime
from bss_loadtest.run.shape import ProfileShape, manual_target, shape_tick


def plan_for(name: str, time_scale: float = 1.0) -> StagePlan:
    return StagePlan(load_profile(name, profiles_dir=REPO_PROFILES).scaled(time_scale))


def fake_environment(monkeypatch: pytest.MonkeyPatch, plan: StagePlan | None, options=None) -> SimpleNamespace:
    """An environment with a suite that answers the shape's two questions (what it reads of it)."""
    classes = ["CustomerUser class"] if plan is not None else None
    suite = SimpleNamespace(active_plan=lambda: plan, active_user_classes=lambda: classes)
    stopped = []
    monkeypatch.setattr(runtime, "stop_users", lambda env: stopped.append(env))
    return SimpleNamespace(parsed_options=options, bss=suite, stopped=stopped)


def test_tick_in_profile_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = fake_environment(monkeypatch, plan_for("load"))
    assert [shape_tick(environment, t) for t in (0.0, 120.0, 420.0, 480.0)] == [
        (0, 1.0, ["CustomerUser class"]),
        (10, 1.0, ["CustomerUser class"]),
        (10, 1.0, ["CustomerUser class"]),
        (15, 1.0, ["CustomerUser class"]),
    ]
    assert shape_tick(environment, 540.0) == (20, 1.0, ["CustomerUser class"])
    assert shape_tick(environment, 900.0) == (10, 1.0, ["CustomerUser class"])
    assert shape_tick(environment, 960.0) is None


@pytest.mark.parametrize(
    ("options", "run_time", "expected"),
    [
        (SimpleNamespace(num_users=25, spawn_rate=5.0, run_time=60), 10.0, (25, 5.0, None)),
        (SimpleNamespace(num_users=25, spawn_rate=5.0, run_time=60), 60.0, None),
        (SimpleNamespace(num_users=None, spawn_rate=None, run_time=None), 1e6, (1, 1.0, None)),
        (None, 0.0, (1, 1.0, None)),
    ],
)
def test_tick_in_manual_mode(monkeypatch: pytest.MonkeyPatch, options, run_time: float, expected) -> None:
    environment = fake_environment(monkeypatch, None, options)
    assert shape_tick(environment, run_time) == expected
    assert manual_target(options, run_time) == (expected[:2] if expected else None)
    assert environment.stopped == ([] if expected else [environment])


def test_tick_without_a_suite_is_manual_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "stop_users", lambda env: None)
    environment = SimpleNamespace(parsed_options=SimpleNamespace(num_users=3, spawn_rate=2.0, run_time=None))
    assert shape_tick(environment, 5.0) == (3, 2.0, None)


def test_profile_shape_is_a_locust_shape_that_ticks_through_the_plan() -> None:
    from locust import LoadTestShape

    assert issubclass(ProfileShape, LoadTestShape) and ProfileShape.use_common_options is True
    plan = StagePlan(Profile(description="x", stages=[{"duration": 10, "target": 4}], users={"A": 1}))
    suite = SimpleNamespace(active_plan=lambda: plan, active_user_classes=lambda: None)
    options = SimpleNamespace(num_users=7, spawn_rate=2, run_time=None)
    shape = ProfileShape()
    shape.runner = SimpleNamespace(environment=SimpleNamespace(parsed_options=options, bss=suite))
    shape.get_run_time = lambda: 5.0
    assert shape.tick() == (2, 1.0, None)
    suite.active_plan = lambda: None
    assert shape.tick() == (7, 2.0, None)
