"""Load patterns: each pattern's exact stages, its defaults and the combinations refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfeng.engine.workloads.pattern import BREAKPOINT_THRESHOLDS, Pattern, make_pattern
from perfeng.errors import ConfigError, UsageError
from perfeng.scenario.patterns import with_pattern_thresholds
from perfeng.scenario.quick import LoadFlags, quick_scenario, workload_from_flags
from perfeng.scenario.toml_loader import load_toml_scenario

URL = "http://127.0.0.1:9/"


def stages(workload: Pattern) -> list[tuple[float, float, float]]:
    return [(s.duration_s, s.start, s.end) for s in workload.plan().stages]


@pytest.mark.parametrize(
    ("pattern", "duration_s", "expected"),
    [
        ("smoke", 30.0, [(30.0, 100.0, 100.0)]),
        ("load", 600.0, [(60.0, 0.0, 100.0), (480.0, 100.0, 100.0), (60.0, 100.0, 0.0)]),
        ("stress", 900.0, [(180.0, 0.0, 100.0), (630.0, 100.0, 100.0), (90.0, 100.0, 0.0)]),
        ("spike", 60.0, [(36.0, 0.0, 100.0), (6.0, 100.0, 100.0), (18.0, 100.0, 0.0)]),
        ("soak", 4 * 3600.0, [(300.0, 0.0, 100.0), (13800.0, 100.0, 100.0), (300.0, 100.0, 0.0)]),
        ("soak", 600.0, [(60.0, 0.0, 100.0), (480.0, 100.0, 100.0), (60.0, 100.0, 0.0)]),
        ("breakpoint", 600.0, [(600.0, 0.0, 100.0)]),
    ],
)
def test_each_pattern_has_its_stages(
    pattern: str, duration_s: float, expected: list[tuple[float, float, float]]
) -> None:
    workload = make_pattern(pattern, peak=100.0, duration_s=duration_s)
    assert stages(workload) == expected
    assert workload.plan().duration_s == pytest.approx(duration_s)
    assert workload.plan().model == "open"


@pytest.mark.parametrize(
    ("pattern", "duration_s", "peak"),
    [("smoke", 30.0, 5.0), ("soak", 14400.0, None), ("breakpoint", 600.0, 10_000.0)],
)
def test_defaults(pattern: str, duration_s: float, peak: float | None) -> None:
    given = None if peak is not None else 50.0
    workload = make_pattern(pattern, peak=given)
    assert workload.duration_s == duration_s
    assert workload.peak == (peak or given)
    assert workload.name == pattern


def test_the_closed_model_ramps_users() -> None:
    workload = make_pattern("spike", users=40)
    plan = workload.plan()
    assert (plan.model, plan.unit, plan.expected_requests) == ("closed", "users", None)
    assert stages(workload) == [(36.0, 0.0, 40.0), (6.0, 40.0, 40.0), (18.0, 40.0, 0.0)]
    assert make_pattern("smoke", users=None).peak == 5.0
    assert make_pattern("breakpoint", users=200).plan().stages[-1].end == 200


def test_the_open_plan_counts_its_arrivals() -> None:
    # 0 -> 10/s over 10 s, 10/s for 80 s, 10 -> 0 over 10 s: 50 + 800 + 50
    assert make_pattern("load", peak=10.0, duration_s=100.0).plan().expected_requests == 900


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "load"}, "the load pattern needs its peak: --peak 200/s"),
        ({"pattern": "spike"}, "or in the rush you test"),
        ({"pattern": "spkie", "peak": 5.0}, "unknown pattern 'spkie': did you mean 'spike'?"),
        ({"pattern": "load", "peak": 5.0, "users": 5}, "give the peak once"),
        (
            {"pattern": "load", "peak": 5.0, "duration_s": 5.0},
            "duration 5s is too short for the load pattern: its shortest stage would last "
            "0.5s; give at least 10s",
        ),
        ({"pattern": "stress", "peak": 5.0, "duration_s": 9.0}, "give at least 10s"),
        ({"pattern": "spike", "peak": 5.0, "duration_s": 3600.0}, "a spike lasts at most 10 min"),
        ({"pattern": "load", "peak": 0.0}, "the peak must be above 0"),
        ({"pattern": "load", "users": 5, "max_in_flight": 3}, "--max-in-flight applies to"),
    ],
)
def test_impossible_combinations_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        make_pattern(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (LoadFlags(pattern="load", peak="5/s", stages="1s:3"), "--pattern and --stages"),
        (LoadFlags(pattern="load", rate="5/s"), "give its peak with --peak"),
        (LoadFlags(peak="5/s"), "--peak goes with --pattern"),
        (LoadFlags(pattern="load", peak="fast"), "invalid rate 'fast'"),
    ],
)
def test_flags_refused(flags: LoadFlags, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        workload_from_flags(flags)


def test_flags_give_a_pattern() -> None:
    workload = workload_from_flags(LoadFlags(pattern="stress", peak="600/m", duration="100s"))
    assert isinstance(workload, Pattern)
    assert (workload.peak, workload.duration_s, workload.model) == (10.0, 100.0, "open")
    closed = workload_from_flags(LoadFlags(pattern="load", users="7"))
    assert isinstance(closed, Pattern) and closed.model == "closed" and closed.peak == 7


def test_breakpoint_gets_abort_thresholds_only_without_its_own() -> None:
    flags = LoadFlags(pattern="breakpoint", peak="100/s", duration="20s")
    scenario = with_pattern_thresholds(quick_scenario(URL, None, [], None, flags))
    assert scenario.thresholds == BREAKPOINT_THRESHOLDS
    own = LoadFlags(pattern="breakpoint", thresholds=("p95<20ms:abort", "p99<1s"))
    kept = with_pattern_thresholds(quick_scenario(URL, None, [], None, own))
    assert kept.thresholds == ("p95<20ms:abort", "p99<1s")
    gating = LoadFlags(pattern="breakpoint", thresholds=("p99<1s",))
    added = with_pattern_thresholds(quick_scenario(URL, None, [], None, gating))
    assert added.thresholds == ("p99<1s", *BREAKPOINT_THRESHOLDS)
    other = LoadFlags(pattern="load", peak="5/s")
    assert with_pattern_thresholds(quick_scenario(URL, None, [], None, other)).thresholds == ()


TOML = """
base_url = "http://127.0.0.1:9"
[[requests]]
path = "/"
[[workloads]]
{workload}
"""


def test_a_scenario_file_takes_a_pattern(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML.format(workload='pattern = "spike"\npeak = "300/s"\nduration = "2m"'))
    (workload,) = load_toml_scenario(path).workloads
    assert isinstance(workload, Pattern)
    assert (workload.name, workload.peak, workload.duration_s) == ("spike", 300.0, 120.0)
    path.write_text(TOML.format(workload='type = "pattern"\npattern = "soak"\nusers = 9'))
    (closed,) = load_toml_scenario(path).workloads
    assert isinstance(closed, Pattern) and closed.model == "closed" and closed.peak == 9


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        ('pattern = "load"', 'the load pattern needs its peak: peak = "200/s"'),
        ('pattern = "load"\npeak = "5/s"\nusers = 3', "give the peak once"),
        ('pattern = "surge"\npeak = "5/s"', "unknown pattern 'surge'"),
        ('pattern = "load"\npeak = "5/s"\nstages = "1s:1"', "unknown key 'stages'"),
        ('type = "pattern"\npeak = "5/s"', "missing required key 'pattern'"),
    ],
)
def test_a_wrong_pattern_table_is_one_line(tmp_path: Path, workload: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML.format(workload=workload))
    with pytest.raises(ConfigError, match=message) as info:
        load_toml_scenario(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("pattern", ["smoke", "load", "stress", "spike", "soak", "breakpoint"])
def test_the_expected_count_is_the_schedule_s(pattern: str) -> None:
    from perfeng.engine.schedule import count_arrivals

    plan = make_pattern(pattern, peak=37.0, duration_s=47.0).plan()
    assert plan.expected_requests == count_arrivals(plan)
