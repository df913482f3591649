"""The compare package: rules and their one tolerance vocabulary, noise widening, endpoints missing/new,
warnings and the four renderers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from synthetic import KEYS, make_run_dir

from bss_loadtest.core.errors import InputError
from bss_loadtest.core.profiles import Tolerances
from bss_loadtest.reports.baseline import read_baseline, save_baseline
from bss_loadtest.reports.compare import (
    DEFAULT_TOLERANCES,
    NOISE_K,
    CompareTolerances,
    RegressionRule,
    compare,
    exit_code,
    rules_from,
    run_compare,
    to_html,
    to_json,
    to_junit,
    to_markdown,
)
from bss_loadtest.reports.results import load_summary

NOW = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
DURATION = 30
REQUESTS = 20_000  # ~1,000 per endpoint: p50 and p95 are judged per endpoint, p99 only on Aggregated


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("compare")


_made: dict[str, Path] = {}


def run(root: Path, name: str, **kwargs) -> Path:
    """A run directory, made once per module (names identify the parameters)."""
    if name not in _made:
        kwargs.setdefault("duration_s", DURATION)
        kwargs.setdefault("total_requests", REQUESTS)
        _made[name] = make_run_dir(root, name, **kwargs)
    return _made[name]


def baseline_of(run_dir: Path, store: Path, days: int = 0):
    return read_baseline(save_baseline(run_dir, store, now=NOW + timedelta(days=days)))


@pytest.fixture(scope="module")
def base(root):
    return baseline_of(run(root, "base", seed=1), root / "store")


def regressed_endpoints(comparison) -> set[str]:
    return {r.endpoint for r in comparison.regressions}


# -- rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "run", "fails"),
    [(100, 109, False), (100, 111, True), (20, 24, False), (20, 26, True), (100, 50, False), (None, 500, False)],
)
def test_latency_rule_needs_both_relative_and_absolute(baseline, run, fails):
    rule = rules_from(None)["p95_ms"]
    assert (rule.fails(baseline, run) is not None) is fails


def test_rule_message_and_improvement():
    rule = RegressionRule("p95_ms", relative=0.10, absolute=5.0)
    assert rule.fails(100, 130) == "p95 100.0 ms → 130.0 ms (+30.0 ms, +30.0 %; allowed ±10.0 ms)"
    assert rule.improves(100, 70) and not rule.improves(100, 95)


def test_error_rate_and_throughput_rules():
    rules = rules_from(None)
    assert rules["error_rate"].fails(0.002, 0.011) is None
    assert "+1.30 pp" in rules["error_rate"].fails(0.002, 0.015)
    assert rules["rps"].fails(10.0, 9.1) is None
    assert rules["rps"].fails(10.0, 8.9) is not None
    assert rules["rps"].fails(10.0, 20.0) is None and rules["rps"].improves(10.0, 20.0)


def test_noise_widens_the_allowance():
    rule = RegressionRule("p95_ms", relative=0.10, absolute=5.0)
    assert rule.fails(100, 120) is not None
    assert rule.fails(100, 120, sigma=8.0) is None  # 3σ = 24 ms
    assert rule.fails(100, 125, sigma=8.0) is not None
    assert NOISE_K == 3


def test_tolerances_from_the_profile_and_bad_ones():
    rules = rules_from({"p95_ms": {"relative": 0.5}, "error_rate": {"absolute": 0.05}, "rps": {"relative": 0.2}, "noise_k": 2})
    assert rules["p95_ms"].fails(100, 140) is None and rules["p95_ms"].noise_k == 2
    assert rules["p95_ms"].absolute == 5.0  # the default part that was not overridden
    assert rules["error_rate"].fails(0.0, 0.04) is None
    assert rules["rps"].fails(10, 8.5) is None
    with pytest.raises(InputError, match=r"tolerances.p96: unknown metric \(known: p50_ms"):
        rules_from({"p96": 0.1})
    with pytest.raises(InputError, match=r"tolerances.p95_ms.rel: unknown key"):
        rules_from({"p95_ms": {"rel": 0.1}})
    with pytest.raises(InputError, match=r"must be a non-negative number"):
        rules_from({"p95_ms": {"relative": -1}})


@pytest.mark.parametrize(("tolerances", "message"), [
    ({"p95": {"relative": 0.1}}, r"^tolerances\.p95: unknown metric \(known: p50_ms, p95_ms, p99_ms, error_rate, rps, noise_k\)$"),
    ({"throughput": 0.2}, r"^tolerances\.throughput: unknown metric"),
    ({"p95_ms": 0.2}, r"^tolerances\.p95_ms: must be a mapping with relative/absolute$"),
    ({"p95_ms": {"relative": "0.1"}}, r"^tolerances\.p95_ms\.relative: must be a non-negative number or null$"),
    ({"error_rate": {"absolute": True}}, r"^tolerances\.error_rate\.absolute: must be a non-negative number or null$"),
    ({"noise_k": -1}, r"^tolerances\.noise_k: must be a non-negative number$"),
    (["p95_ms"], r"^tolerances: must be a mapping of metric to tolerance$"),
])
def test_one_tolerance_vocabulary(tolerances, message):
    """Only CompareTolerances' keys: no aliases (p95, throughput) and no bare numbers."""
    with pytest.raises(InputError, match=message):
        rules_from(tolerances)


def test_a_profiles_tolerances_are_in_that_vocabulary():
    mapping = Tolerances(p95_pct=20, error_rate_points=2, throughput_pct=5).as_compare_mapping()
    assert CompareTolerances.model_validate(mapping).model_dump(exclude_unset=True) == mapping
    rules = rules_from(mapping)
    assert (rules["p95_ms"].relative, rules["p95_ms"].absolute) == (0.2, 5.0)
    assert (rules["error_rate"].relative, rules["error_rate"].absolute) == (None, 0.02)
    assert (rules["rps"].relative, rules["rps"].absolute) == (0.05, None)
    assert rules["p50_ms"] == rules_from(None)["p50_ms"]  # what the profile does not set keeps compare's default
    assert Tolerances().as_compare_mapping() == {m: DEFAULT_TOLERANCES[m] for m in ("p95_ms", "error_rate", "rps")}


# -- comparisons of synthetic runs ----------------------------------------------------------


def test_identical_run_has_no_regression(root, base):
    comparison = compare(load_summary(run(root, "base", seed=1)), base)
    assert not comparison.regressions and not comparison.improvements
    assert exit_code(comparison) == 0
    assert {r.status for r in comparison.rows} <= {"ok", "too few"}
    assert comparison.verdict().startswith("OK")


def test_another_night_of_the_same_system_is_not_a_regression(root, base):
    comparison = compare(load_summary(run(root, "same", seed=2)), base)
    assert comparison.regressions == []
    assert exit_code(comparison) == 0


def test_flags_exactly_the_endpoint_with_50ms_more(root, base):
    slow = KEYS[3]
    comparison = compare(load_summary(run(root, "slow", seed=2, slow={slow: 50.0})), base)
    assert regressed_endpoints(comparison) == {slow}
    metrics = {r.metric for r in comparison.regressions}
    assert {"p50_ms", "p95_ms"} <= metrics and metrics <= {"p50_ms", "p95_ms", "p99_ms"}
    p95 = next(r for r in comparison.regressions if r.metric == "p95_ms")
    assert 40 < p95.delta < 60
    assert exit_code(comparison) == 1
    # p99 of ~1,000 requests is ten requests deep: shown, not judged
    p99 = next(r for r in comparison.rows if r.endpoint == slow and r.metric == "p99_ms")
    assert p99.status == "too few"


def test_improvement_is_reported_not_failed(root, base):
    fast = KEYS[13]  # POST /api/v1/services/activate, 150 ms
    comparison = compare(load_summary(run(root, "fast", seed=2, slow={fast: -60.0})), base)
    assert not comparison.regressions and exit_code(comparison) == 0
    assert fast in {r.endpoint for r in comparison.improvements}
    assert "improvement" in comparison.verdict()


def test_error_rate_rule_on_runs(root, base):
    key = KEYS[7]
    small = compare(load_summary(run(root, "err-small", seed=2, error_rates={key: 0.008})), base)
    assert small.regressions == []
    big = compare(load_summary(run(root, "err-big", seed=2, error_rates={key: 0.04})), base)
    assert [(r.endpoint, r.metric) for r in big.regressions] == [(key, "error_rate")]


def test_throughput_rule_on_runs(root, base):
    key = KEYS[10]
    comparison = compare(load_summary(run(root, "rps-drop", seed=2, weights={key: 0.7})), base)
    assert [(r.endpoint, r.metric) for r in comparison.regressions] == [(key, "rps")]


def test_missing_and_new_endpoints_are_notes_not_regressions(root, base):
    gone, new = KEYS[19], "GET /api/v1/health"
    comparison = compare(load_summary(run(root, "changed-set", seed=2, skip={gone},
                                          extra=[("GET", "/api/v1/health", 5.0)])), base)
    assert comparison.missing_in_run == [gone] and comparison.new_in_run == [new]
    assert any(w.startswith(f"{gone}: not exercised") for w in comparison.warnings)
    assert any(n.level == "info" and n.message.startswith(new) for n in comparison.notes)
    assert gone not in regressed_endpoints(comparison) and new not in regressed_endpoints(comparison)
    assert not comparison.regressions  # removing one of 20 endpoints shifts totals by ~5 %: within tolerance


def test_warnings_when_run_and_baseline_differ(root, base):
    other = run(root, "other-target", seed=2, summary_meta={
        "host": "https://staging.example", "suite_version": "0.2.0", "profile_hash": "def456"})
    warnings = compare(load_summary(other), base).warnings
    assert any(w.startswith("host differs: run https://staging.example vs baseline http://127.0.0.1:8080") for w in warnings)
    assert any(w.startswith("suite version differs") for w in warnings)
    assert any(w.startswith("profile hash differs") for w in warnings)


def test_profile_tolerances_are_used(root, base):
    slow = KEYS[3]
    loose = run(root, "slow-loose", seed=2, slow={slow: 50.0},
                summary_meta={"tolerances": {"p50_ms": {"relative": 3.0}, "p95_ms": {"relative": 3.0}, "p99_ms": {"relative": 3.0}}})
    assert compare(load_summary(loose), base).regressions == []


# -- noise ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy_store(root):
    """Five nightly baselines in which one endpoint's latency wanders by ±10 ms from night to night."""
    store = root / "noisy"
    history = []
    for night, offset in enumerate([0.0, 15.0, 5.0, 20.0, 10.0]):
        run_dir = run(root, f"noisy-{night}", seed=100 + night, slow={KEYS[5]: offset})
        history.append(baseline_of(run_dir, store, days=night))
    return store, history


@pytest.mark.slow  # seconds of CPU: outside the --fast loop
def test_noise_of_several_baselines_absorbs_a_within_noise_change(root, noisy_store):
    store, history = noisy_store
    summary = load_summary(run(root, "noisy-run", seed=200, slow={KEYS[5]: 24.0}))
    latest = history[-1]  # +10 ms night
    alone = compare(summary, latest)
    assert KEYS[5] in regressed_endpoints(alone)  # +14 ms on a ~55 ms median is > 10 % and > 5 ms
    widened = compare(summary, latest, history)
    assert KEYS[5] not in regressed_endpoints(widened)
    row = next(r for r in widened.rows if r.endpoint == KEYS[5] and r.metric == "p50_ms")
    assert row.sigma is not None and row.allowance == pytest.approx(NOISE_K * row.sigma)
    assert widened.noise_baselines == 5


def test_noise_does_not_hide_a_real_jump(root, noisy_store):
    store, history = noisy_store
    summary = load_summary(run(root, "noisy-jump", seed=201, slow={KEYS[5]: 80.0}))
    assert KEYS[5] in regressed_endpoints(compare(summary, history[-1], history))


def test_run_compare_uses_the_stored_history(root, noisy_store, tmp_path):
    store, _ = noisy_store
    comparison, paths = run_compare(run(root, "noisy-run", seed=200, slow={KEYS[5]: 24.0}),
                                    baselines_root=store, out_dir=tmp_path)
    assert comparison.noise_baselines == 5 and comparison.baseline_run_id == "noisy-4"
    assert KEYS[5] not in regressed_endpoints(comparison)


# -- renderers and run_compare ---------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_comparison(root, base):
    return compare(load_summary(run(root, "slow", seed=2, slow={KEYS[3]: 50.0})), base)


def test_markdown(slow_comparison):
    md = to_markdown(slow_comparison)
    lines = md.splitlines()
    assert lines[0].startswith("## ❌ REGRESSION")
    regressions_at, all_at = lines.index("### Regressions"), lines.index("### All endpoints")
    assert regressions_at < all_at
    regression_rows = [line for line in lines[regressions_at:all_at] if line.startswith("| GET")]
    assert regression_rows and all("orders/{id}" in line for line in regression_rows)
    table = [line for line in lines[all_at:] if line.startswith("| ")]
    assert len(table) == 1 + 21  # header + 20 endpoints + Aggregated
    assert all(line.count("|") - line.count("\\|") == 7 for line in table)


def test_json(slow_comparison):
    data = json.loads(to_json(slow_comparison))
    assert data["regressed"] is True and data["exit_code"] == 1
    assert {r["endpoint"] for r in data["rows"] if r["status"] == "regression"} == {KEYS[3]}


def test_junit(slow_comparison):
    root = ET.fromstring(to_junit(slow_comparison).encode())
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 21 * 5 == int(suite.get("tests"))
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == len(slow_comparison.regressions) == int(suite.get("failures"))
    assert {c.get("classname") for c in failed} == {KEYS[3]}


def test_html_is_self_contained(slow_comparison):
    html = to_html(slow_comparison)
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert 'src="http' not in html and 'href="http' not in html and "<script" not in html


def test_run_compare_writes_all_formats(root, base):
    slow = run(root, "slow", seed=2, slow={KEYS[3]: 50.0})
    store = root / "store"
    comparison, paths = run_compare(slow, "latest", baselines_root=store)
    assert set(paths) == {"md", "html", "json", "junit"}
    assert all(p.parent == slow / "compare" and p.stat().st_size > 0 for p in paths.values())
    assert exit_code(comparison) == 1
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == 2  # p95 bars + latency over time (run and baseline)
    _, only = run_compare(slow, base.path, baselines_root=store, out_dir=root / "only-md", formats=["md"])
    assert list(only) == ["md"]
    with pytest.raises(InputError, match="unknown compare format"):
        run_compare(slow, baselines_root=store, formats=["pdf"])


def test_counting_noise_widens_throughput_and_error_rate():
    from bss_loadtest.reports.compare.compute import _sampling_error

    # 100 requests in 10 s each: rps 10 ± √(100/100 + 100/100) = ±1.41/s; 3σ = 4.2/s beats 10 % = 1/s
    assert _sampling_error("rps", 100, 100, 10.0, 10.0, 10.0, 10.0) == pytest.approx(2 ** 0.5)
    rule = rules_from(None)["rps"]
    assert rule.fails(10.0, 8.5) is not None
    assert rule.fails(10.0, 8.5, sampling=2 ** 0.5) is None
    # error rate 5 % of 100 vs 10 % of 100: pooled 7.5 %, σ ≈ 3.7 pp
    e = _sampling_error("error_rate", 100, 100, 0.10, 0.05, 10.0, 10.0)
    assert e == pytest.approx((0.075 * 0.925 * 0.02) ** 0.5)
    assert rules_from(None)["error_rate"].fails(0.05, 0.10, sampling=e) is None
    assert _sampling_error("p95_ms", 100, 100, 1.0, 1.0, 10.0, 10.0) is None


@pytest.mark.slow  # seconds of CPU: outside the --fast loop
def test_small_endpoints_do_not_cry_wolf(root):
    """~100 requests per endpoint: chance alone moves counts by ±10 %; nothing may flag."""
    small_base = baseline_of(run(root, "small-base", seed=11, total_requests=2_000), root / "small-store")
    for seed in (12, 13, 14):
        comparison = compare(load_summary(run(root, f"small-{seed}", seed=seed, total_requests=2_000)), small_base)
        assert comparison.regressions == [], [r.message for r in comparison.regressions]
