"""Timing a callable inside the calling process, for benchmarks that cannot be shipped to a
worker (a closure built inside a pytest test, a test function holding fixtures).

The same calibration and timing as a worker (``perfeng.bench.worker``): the loop count is
doubled from 1 until two raw timings in a row reach the preset's minimum time (pyperf's way,
confirmed: a test process shares the CPU, and one timing stretched by preemption would end
the doubling early); then warm-ups, then as many values as ``perfeng bench``
gets from all its processes (processes x values). Between the warm-ups and the values, as in
a worker, the machine's calibration kernels are timed once (``perfeng.bench.calibration``),
so ``compare`` can tell a slower machine from slower code across two pytest runs. Every value
is appended to the ``Outcome`` as soon as it is measured, so a Ctrl-C keeps what was measured.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from perfeng.bench.calibration import time_kernels
from perfeng.bench.presets import Preset
from perfeng.bench.runner import Outcome
from perfeng.bench.worker import NowNs, calibrate, time_loops


def measure_calibrated(
    target: Callable[[], Any], outcome: Outcome, preset: Preset, now: NowNs
) -> None:
    """Calibrate the loop count for ``target``, then take the warm-ups and the values."""
    loops = calibrate(lambda: target, preset.min_time_s, now)
    outcome.loops = loops
    for _ in range(preset.warmups):
        outcome.warmups.append(time_loops(target, loops, now) / loops / 1e9)
    outcome.calibration.append(time_kernels(now))
    for _ in range(preset.processes * preset.values):
        outcome.values.append(time_loops(target, loops, now) / loops / 1e9)


Setup = Callable[[], "tuple[tuple[Any, ...], dict[str, Any]] | None"]


def time_round(call: Callable[[], Any], iterations: int, now: NowNs) -> tuple[float, Any]:
    """Seconds per call over ``iterations`` calls, and the last call's result."""
    result = None
    start = now()
    for _ in itertools.repeat(None, iterations):
        result = call()
    return (now() - start) / iterations / 1e9, result


def measure_rounds(
    target: Callable[..., Any],
    outcome: Outcome,
    *,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    setup: Setup | None,
    rounds: int,
    iterations: int,
    warmup_rounds: int,
    now: NowNs,
) -> Any:
    """pytest-benchmark's ``pedantic``: exactly ``warmup_rounds`` + ``rounds`` rounds of
    ``iterations`` calls, no calibration. ``setup`` runs before every round, outside the
    timing; when it returns ``(args, kwargs)`` those are the round's arguments. Returns the
    last call's result."""
    outcome.loops = iterations
    result = None
    for index in range(warmup_rounds + rounds):
        if index == warmup_rounds:
            outcome.calibration.append(time_kernels(now))
        round_args, round_kwargs = args, kwargs
        if setup is not None:
            prepared = setup()
            if prepared is not None:
                round_args, round_kwargs = prepared
        call = functools.partial(target, *round_args, **round_kwargs)
        value, result = time_round(call, iterations, now)
        (outcome.warmups if index < warmup_rounds else outcome.values).append(value)
    return result
