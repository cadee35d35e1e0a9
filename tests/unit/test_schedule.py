"""The sans-IO arrival schedule of the open model, on plans made by the real workloads.

Arrival ``k`` is due when the integral of the target rate reaches ``k`` (wrk2's absolute
schedule), so every test checks times against that integral, computed here independently.
"""

from __future__ import annotations

import itertools
import math

import pytest

from perfeng.engine.schedule import ArrivalSchedule, count_arrivals
from perfeng.engine.workloads import ConstantRate, Plan, RampingRate, Stage, parse_stages


def offsets(plan: Plan) -> list[float]:
    schedule, out = ArrivalSchedule(plan), []
    while (offset := schedule.next_offset_s()) is not None:
        out.append(offset)
    return out


def integral(plan: Plan, t_s: float) -> float:
    """Arrivals the plan asks for in [0, t_s): the area under its piecewise-linear rate."""
    total = 0.0
    for stage in plan.stages:
        if t_s <= 0:
            break
        span = min(t_s, stage.duration_s)
        slope = (stage.end - stage.start) / stage.duration_s
        total += stage.start * span + slope * span * span / 2
        t_s -= stage.duration_s
    return total


def area(plan: Plan) -> float:
    return integral(plan, plan.duration_s)


def assert_close(got: list[float], expected: list[float], tol: float = 1e-9) -> None:
    assert len(got) == len(expected)
    worst = max((abs(a - b) for a, b in zip(got, expected, strict=True)), default=0.0)
    assert worst <= tol


def ramp(text: str, start_rate: float = 0.0) -> Plan:
    return RampingRate(parse_stages(text, "--stages"), start_rate=start_rate).plan()


# ---- constant rate ------------------------------------------------------------------------------

WHOLE_PRODUCTS = [
    (1, 1),
    (1, 10),
    (10, 2),
    (100, 10),
    (3, 7),
    (7, 3),
    (1000, 1),
    (0.5, 4),
    (0.25, 8),
    (250, 0.2),
    (10, 0.3),
    (0.1, 30),
    (33, 3),
    (50_000, 1),
]


@pytest.mark.parametrize(("rate", "duration"), WHOLE_PRODUCTS)
def test_constant_rate_gives_rate_times_duration_arrivals_at_k_over_rate(
    rate: float, duration: float
) -> None:
    plan = ConstantRate(rate, duration).plan()
    got = offsets(plan)
    n = round(rate * duration)
    assert len(got) == n
    assert_close(got, [k / rate for k in range(n)], 1e-12 * max(duration, 1))
    assert got[0] == 0.0
    assert count_arrivals(plan) == n
    assert plan.expected_requests == n


@pytest.mark.parametrize(
    ("rate", "duration", "count"),
    [(2.5, 1, 3), (0.4, 1, 1), (3, 0.5, 2), (0.3, 10, 3), (7, 0.1, 1), (1.5, 1, 2), (10, 0.25, 3)],
)
def test_constant_rate_with_a_fractional_product_rounds_up(
    rate: float, duration: float, count: int
) -> None:
    """Arrivals at 0, 1/rate, 2/rate, ... strictly before the end: ceil(rate * duration)."""
    plan = ConstantRate(rate, duration).plan()
    got = offsets(plan)
    assert len(got) == count == math.ceil(rate * duration)
    assert_close(got, [k / rate for k in range(count)])
    assert all(t < duration for t in got)


@pytest.mark.parametrize(
    ("rate", "duration"), [*WHOLE_PRODUCTS, (2.5, 1), (0.4, 1), (3, 0.5), (1.5, 1), (10, 0.25)]
)
def test_constant_rate_plan_expects_what_the_schedule_sends(rate: float, duration: float) -> None:
    """--dry-run and pre-allocation read expected_requests; it must match the schedule."""
    plan = ConstantRate(rate, duration).plan()
    assert plan.expected_requests == count_arrivals(plan)


# ---- ramps --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("peak", "seconds"), [(100, 10), (1000, 30), (10, 1), (50, 4), (3, 5)])
def test_ramp_up_from_zero(peak: float, seconds: float) -> None:
    plan = RampingRate(((seconds, peak),)).plan()
    got = offsets(plan)
    expected = peak * seconds / 2
    assert abs(len(got) - expected) <= 1
    # arrival k where peak/seconds * t^2 / 2 = k
    assert_close(got, [math.sqrt(2 * k * seconds / peak) for k in range(len(got))])
    gaps = [b - a for a, b in itertools.pairwise(got)]
    assert all(later <= earlier + 1e-9 for earlier, later in itertools.pairwise(gaps))
    assert gaps[0] > gaps[-1]


@pytest.mark.parametrize(("peak", "seconds"), [(100, 10), (1000, 30), (50, 4)])
def test_ramp_down_to_zero_spreads_arrivals_out(peak: float, seconds: float) -> None:
    plan = RampingRate(((seconds, 0),), start_rate=peak).plan()
    got = offsets(plan)
    assert abs(len(got) - peak * seconds / 2) <= 1
    gaps = [b - a for a, b in itertools.pairwise(got)]
    assert all(later >= earlier - 1e-9 for earlier, later in itertools.pairwise(gaps))
    assert gaps[-1] > gaps[0]


STAGES = [
    ("10s:100,30s:1000,10s:0", 0.0),
    ("10s:100", 0.0),
    ("1s:1", 0.0),
    ("5s:0,5s:10", 0.0),
    ("10s:100,10s:0,10s:0,10s:50", 0.0),
    ("2s:10,2s:10,2s:10", 0.0),
    ("10s:20", 10.0),
    ("10s:0", 10.0),
    ("3s:7,1s:0,2.5s:13,500ms:1,1m:2", 0.0),
    ("1s:1,1s:1", 0.0),  # 0.5 left over from the first stage carries into the second
    ("100ms:1000,100ms:1000,100ms:0", 0.0),
    ("30s:1000/m,30s:0", 0.0),
    ("7s:3", 0.5),
]
STAGE_IDS = [f"{text}@{start:g}" for text, start in STAGES]


@pytest.mark.parametrize(("text", "start"), STAGES, ids=STAGE_IDS)
def test_arrivals_follow_the_integral_of_the_rate(text: str, start: float) -> None:
    plan = ramp(text, start)
    got = offsets(plan)
    assert abs(len(got) - area(plan)) <= 1
    assert count_arrivals(plan) == len(got)
    for k, t in enumerate(got):
        assert integral(plan, t) == pytest.approx(k, abs=1e-6), (k, t)


@pytest.mark.parametrize(("text", "start"), STAGES, ids=STAGE_IDS)
def test_arrival_times_are_ordered_and_inside_the_plan(text: str, start: float) -> None:
    plan = ramp(text, start)
    got = offsets(plan)
    assert got
    assert got[0] >= 0.0
    assert got[-1] < plan.duration_s
    assert all(a < b for a, b in itertools.pairwise(got))


@pytest.mark.parametrize(("text", "start"), STAGES, ids=STAGE_IDS)
def test_each_stage_gets_its_share(text: str, start: float) -> None:
    plan = ramp(text, start)
    got = offsets(plan)
    boundary = 0.0
    for stage in plan.stages:
        boundary += stage.duration_s
        before = sum(1 for t in got if t < boundary)
        assert abs(before - integral(plan, boundary)) <= 1, boundary


@pytest.mark.parametrize(("text", "start"), STAGES, ids=STAGE_IDS)
def test_plan_expects_what_the_schedule_sends(text: str, start: float) -> None:
    plan = ramp(text, start)
    assert plan.expected_requests is not None
    assert abs(plan.expected_requests - count_arrivals(plan)) <= 1


def test_the_documented_example() -> None:
    plan = ramp("10s:100,30s:1000,10s:0")
    # 0->100 over 10 s, 100->1000 over 30 s, 1000->0 over 10 s
    assert area(plan) == pytest.approx(500 + 16_500 + 5_000)
    assert count_arrivals(plan) == 22_000
    got = offsets(plan)
    assert sum(1 for t in got if t < 10) == 500
    assert sum(1 for t in got if 10 <= t < 40) == 16_500
    assert sum(1 for t in got if t >= 40) == 5_000


@pytest.mark.parametrize(
    ("text", "start", "silent"),
    [
        ("10s:100,10s:0,10s:0,10s:50", 0.0, [(20.0, 30.0)]),
        ("5s:0,5s:10", 0.0, [(0.0, 5.0)]),
        ("5s:0,5s:0,5s:10", 0.0, [(0.0, 10.0)]),
        ("5s:10,5s:0,5s:0,5s:10,5s:0", 0.0, [(10.0, 15.0)]),
        ("1s:5,1s:0,1s:0,1s:0,1s:5", 0.0, [(2.0, 4.0)]),
        ("10s:0", 10.0, []),
    ],
)
def test_stages_at_rate_zero_produce_no_arrivals(
    text: str, start: float, silent: list[tuple[float, float]]
) -> None:
    got = offsets(ramp(text, start))
    for low, high in silent:
        assert not [t for t in got if low <= t < high], (low, high)


def test_a_plan_of_only_zero_stages_produces_nothing() -> None:
    plan = Plan("open", "req/s", (Stage(5, 0, 0), Stage(5, 0, 0)), 0)
    assert offsets(plan) == []
    assert count_arrivals(plan) == 0


def test_an_empty_plan_produces_nothing() -> None:
    assert offsets(Plan("open", "req/s", (), 0)) == []


def test_a_finished_schedule_stays_finished() -> None:
    schedule = ArrivalSchedule(ConstantRate(10, 1).plan())
    for _ in range(10):
        assert schedule.next_offset_s() is not None
    assert schedule.issued == 10
    for _ in range(3):
        assert schedule.next_offset_s() is None
    assert schedule.issued == 10


def test_issued_counts_the_arrivals_given_so_far() -> None:
    schedule = ArrivalSchedule(ramp("10s:100,10s:0"))
    for k in range(1, 600):
        assert schedule.next_offset_s() is not None
        assert schedule.issued == k


def test_two_schedules_of_one_plan_agree() -> None:
    plan = ramp("3s:7,1s:0,2.5s:13,500ms:1,1m:2")
    assert offsets(plan) == offsets(plan)


def test_the_schedule_is_absolute() -> None:
    """Times depend only on k: reading them late (as a stalled runner does) shifts nothing."""
    plan = ramp("10s:100,30s:1000,10s:0")
    eager = offsets(plan)
    schedule = ArrivalSchedule(plan)
    lazy = []
    for _ in range(len(eager)):
        offset = schedule.next_offset_s()
        assert offset is not None
        lazy.append(offset)
    assert lazy == eager


def test_a_high_rate_is_cheap_to_count() -> None:
    plan = ConstantRate(1_000_000, 0.2).plan()
    assert count_arrivals(plan) == 200_000
