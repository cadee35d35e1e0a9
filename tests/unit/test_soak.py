"""The soak analyses on synthetic series with known answers: latency drift, error bursts,
memory growth, and when they apply."""

from __future__ import annotations

import random
from typing import Any

import pytest

from perfeng.analysis.seconds import Second
from perfeng.analysis.soak import (
    burst_finding,
    drift_finding,
    error_bursts,
    held,
    hold_of,
    latency_drift,
    memory_finding,
    memory_trend,
    soak_rules,
)


def second(t: int, **kwargs: Any) -> Second:
    values: dict[str, Any] = {
        "time": 1_700_000_000 + t,
        "elapsed_s": float(t),
        "duration_s": 1.0,
        "offered": 100.0,
        "achieved": 100.0,
        "requests": 100,
        "errors": 0,
        "dropped": 0,
        "in_flight": 1,
        "p50_ms": 5.0,
        "p99_ms": 10.0,
        "max_ms": 20.0,
        "mean_ms": 5.5,
    }
    values.update(kwargs)
    return Second(**values)


def noisy(rng: random.Random, level: float) -> float:
    return level * (1 + rng.gauss(0, 0.05))


def test_a_step_in_p99_is_one_drift_where_it_happened() -> None:
    rng = random.Random(1)
    seconds = [
        second(t, p99_ms=noisy(rng, 10.0 if t < 300 else 25.0), p50_ms=noisy(rng, 5.0))
        for t in range(600)
    ]
    (drift,) = latency_drift(seconds)
    assert drift.percentile == "p99"
    # 600 seconds in 240 buckets of 3 s: the step at 300 s lands on a bucket boundary
    assert drift.at_s == 300.0
    assert drift.before_ms == pytest.approx(10.0, rel=0.05)
    assert drift.after_ms == pytest.approx(25.0, rel=0.05)
    finding = drift_finding([drift], (0.0, 600.0))
    assert finding is not None and finding.id == "latency_drift"
    assert finding.window_s == [300.0, 600.0] and finding.impact == 0.5
    assert "p99 went from 10 ms to 25 ms" in finding.evidence[0]


def test_steady_latency_and_a_fall_are_no_drift() -> None:
    rng = random.Random(2)
    steady = [second(t, p99_ms=noisy(rng, 10.0), p50_ms=noisy(rng, 5.0)) for t in range(600)]
    assert latency_drift(steady) == []
    falling = [second(t, p99_ms=noisy(rng, 20.0 if t < 200 else 10.0)) for t in range(600)]
    assert latency_drift(falling) == []
    assert drift_finding([], (0.0, 600.0)) is None


def test_one_slow_second_is_not_a_drift() -> None:
    rng = random.Random(3)
    seconds = [second(t, p99_ms=400.0 if t == 250 else noisy(rng, 10.0)) for t in range(600)]
    assert latency_drift(seconds) == []


def test_a_burst_of_errors_is_found_and_spread_errors_are_not() -> None:
    rng = random.Random(4)
    # 0.5 % of errors spread evenly at random, and 40 % for 4 seconds from 200 s
    seconds = [
        second(t, errors=40 if 200 <= t < 204 else sum(rng.random() < 0.005 for _ in range(100)))
        for t in range(600)
    ]
    bursts, rate = error_bursts(seconds)
    assert [(b.start_s, b.end_s, b.errors, b.requests) for b in bursts] == [
        (200.0, 204.0, 160, 400)
    ]
    assert 0.003 < rate < 0.01
    finding = burst_finding(bursts, rate, 60_000)
    assert finding is not None and finding.figures["bursts"] == 1
    assert "40.0%" in finding.evidence[0]
    spread = [second(t, errors=sum(rng.random() < 0.01 for _ in range(100))) for t in range(600)]
    assert error_bursts(spread)[0] == []


def test_errors_everywhere_are_a_level_not_bursts() -> None:
    seconds = [second(t, errors=50 if t >= 100 else 0) for t in range(200)]
    assert error_bursts(seconds)[0] == []
    assert error_bursts([second(t) for t in range(100)]) == ([], 0.0)


def test_memory_growing_10_percent_an_hour() -> None:
    start = 100 * 2**20
    seconds = [
        second(t, rss_bytes=int(start * (1 + 0.10 * t / 3600)), mem_available_bytes=2**30)
        for t in range(0, 7200, 10)
    ]
    trend = memory_trend(seconds)
    assert trend is not None
    assert trend.percent_per_hour == pytest.approx(10.0, rel=1e-3)
    assert trend.r_squared == pytest.approx(1.0)
    finding = memory_finding(trend, seconds)
    assert finding is not None and finding.id == "memory_trend"
    assert finding.certainty == "high" and finding.figures["percent_per_hour"] == 10.0
    # 1 GiB available at 10 MiB an hour: about 102 hours, more than a day
    assert finding.severity == "warning"


def test_flat_or_slow_memory_is_no_finding() -> None:
    rng = random.Random(5)
    flat = [second(t, rss_bytes=int(noisy(rng, 2**27))) for t in range(0, 3600, 10)]
    assert memory_finding(memory_trend(flat), flat) is None
    slow = [second(t, rss_bytes=int(2**27 * (1 + 0.02 * t / 3600))) for t in range(0, 3600, 10)]
    assert memory_finding(memory_trend(slow), slow) is None
    assert memory_trend(slow[:10]) is None  # too few samples


def plan(*stages: tuple[float, float, float], pattern: str | None = None) -> dict[str, Any]:
    workload: dict[str, Any] = {
        "plan": {"stages": [{"duration_s": d, "start": a, "end": b} for d, a, b in stages]}
    }
    if pattern:
        workload |= {"type": "pattern", "pattern": pattern}
    return {"workloads": [workload]}


def test_the_hold_is_the_longest_constant_stage() -> None:
    document = plan((60, 0, 100), (480, 100, 100), (60, 100, 0))
    assert hold_of(document) == (60.0, 540.0)
    assert hold_of(plan((60, 0, 100))) is None
    seconds = [second(t) for t in range(600)]
    inside = held(seconds, (60.0, 540.0))
    assert (inside[0].elapsed_s, inside[-1].elapsed_s) == (60.0, 539.0)


class _Run:
    def __init__(self, document: dict[str, Any], seconds: list[Second]) -> None:
        self.document, self.seconds = document, seconds


def test_the_checks_run_for_a_soak_or_a_long_hold_only() -> None:
    rng = random.Random(6)
    seconds = [second(t, p99_ms=noisy(rng, 10.0 if t < 300 else 30.0)) for t in range(600)]
    short = _Run(plan((600, 100, 100)), seconds)
    assert soak_rules(short, []) == []  # type: ignore[arg-type]
    soak = _Run(plan((600, 100, 100), pattern="soak"), seconds)
    drift, bursts, memory = soak_rules(soak, [])  # type: ignore[arg-type]
    assert drift is not None and drift.id == "latency_drift"
    assert bursts is None and memory is None
    long = _Run(plan((1800, 100, 100)), seconds)
    assert soak_rules(long, [])[0] is not None  # type: ignore[arg-type]


def test_a_rise_under_a_millisecond_is_no_drift() -> None:
    # a loaded machine's scheduler moves a sub-millisecond median by a third
    rng = random.Random(7)
    seconds = [
        second(t, p50_ms=noisy(rng, 0.33 if t < 300 else 0.44), p99_ms=noisy(rng, 4.0))
        for t in range(600)
    ]
    assert latency_drift(seconds) == []
