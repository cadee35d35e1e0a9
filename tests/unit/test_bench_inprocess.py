"""In-process timing (the pytest plugin's harness) on a fake clock that only the benchmark
advances: calibration, counts of warm-ups and values, pedantic rounds and setup."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from perfeng.bench.discovery import Benchmark
from perfeng.bench.inprocess import measure_calibrated, measure_rounds
from perfeng.bench.presets import CALLABLE_PRESETS
from perfeng.bench.runner import Outcome
from perfeng.bench.worker import calibrate
from tests.unit.test_bench_worker import TickClock


def _outcome() -> Outcome:
    return Outcome(Benchmark("t", "t.py", "t", None, "t.py::t"))


def test_calibrated_like_a_worker_then_every_value_of_the_preset() -> None:
    clock = TickClock(1_000)  # 1 us a call; the fast preset's 0.05 s needs 2**16 calls
    outcome = _outcome()
    measure_calibrated(clock.work, outcome, CALLABLE_PRESETS["fast"], clock.now)
    assert outcome.loops == 2**16
    assert outcome.warmups == [1e-6]  # one warm-up
    assert outcome.values == [1e-6] * 16  # 8 processes x 2 values, here rounds in one process
    assert [sorted(timed) for timed in outcome.calibration] == [["memory", "python"]]


def test_values_measured_before_an_interruption_are_kept() -> None:
    clock = TickClock(1_000_000)  # 1 ms a call
    outcome = _outcome()
    calls = 0

    def stops() -> None:
        nonlocal calls
        calls += 1
        clock.work()
        if calls > 400:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        measure_calibrated(stops, outcome, CALLABLE_PRESETS["fast"], clock.now)
    assert outcome.loops == 64 and outcome.warmups == [1e-3]
    # 63 + 2 x 64 calls calibrating, 64 warming, 2 x 64 timed; the third value is cut
    assert outcome.values == [1e-3, 1e-3]


def _preempted_at(call: int) -> tuple[TickClock, Callable[[], None]]:
    """1 us a call, but call number ``call`` waits 20 ms for the CPU."""
    clock = TickClock(1_000)

    def target() -> None:
        clock.work()
        if clock.calls == call:
            clock.ns += 20_000_000

    return clock, target


def test_a_preempted_calibration_timing_is_not_believed() -> None:
    clock, target = _preempted_at(100)  # within the first 64-loop timing (calls 64 to 127)
    # 20 ms looks enough once, but the second 64-loop timing takes 64 us: doubling goes on
    assert calibrate(lambda: target, 0.01, clock.now) == 2**14  # 16 ms of calls >= 10 ms


def test_pedantic_rounds_iterations_and_warmups_no_calibration() -> None:
    clock = TickClock(2_000)
    outcome = _outcome()
    args_seen: list[tuple[Any, ...]] = []

    def target(*args: Any) -> int:
        args_seen.append(args)
        clock.work()
        return len(args_seen)

    result = measure_rounds(
        target, outcome, args=(1, 2), kwargs={}, setup=None,
        rounds=3, iterations=5, warmup_rounds=2, now=clock.now,
    )  # fmt: skip
    assert result == 25 and args_seen == [(1, 2)] * 25
    assert outcome.loops == 5
    assert outcome.warmups == [2e-6] * 2 and outcome.values == [2e-6] * 3
    assert len(outcome.calibration) == 1  # the machine's kernels, once, before the rounds


def test_pedantic_setup_gives_each_round_its_arguments_outside_the_timing() -> None:
    clock = TickClock(1_000)
    outcome = _outcome()
    made = iter(range(10))

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        clock.ns += 10**9  # setup's time is not counted
        return (next(made),), {"scale": 2}

    def target(n: int, scale: int) -> int:
        clock.work()
        return n * scale

    result = measure_rounds(
        target, outcome, args=(), kwargs={}, setup=setup,
        rounds=4, iterations=1, warmup_rounds=0, now=clock.now,
    )  # fmt: skip
    assert result == 6  # the fourth round's argument, 3, times 2
    assert outcome.values == [1e-6] * 4
