"""The machine's speed between separate benchmark runs: kernels, shift, scaled verdicts."""

from __future__ import annotations

import math
import random
import time
from typing import Any

import pytest

from perfeng.analysis.calibration import machine_shift, medians, trusted
from perfeng.analysis.result_compare import as_dict, compare_benchmarks
from perfeng.bench.calibration import KERNELS, time_kernels


def _bench(values: list[float], machine: float | None, start: float) -> dict[str, Any]:
    """One benchmark ``x``; ``machine`` scales the calibration kernels (None: no calibration)."""
    document: dict[str, Any] = {
        "format": "perfeng-bench",
        "metadata": {"python_version": "3.11.7", "start_epoch_s": start},
        "benchmarks": [{"name": "x", "values": values, "error": None}],
    }
    if machine is not None:
        document["calibration"] = {
            "python": [0.010 * machine * f for f in (0.98, 1.0, 1.03)],
            "memory": [0.020 * machine * f for f in (1.01, 1.0, 0.97)],
        }
    return document


def _values(level: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(level, level * 0.01) for _ in range(24)]


def test_the_shift_is_the_geometric_mean_of_the_kernel_ratios() -> None:
    shift = machine_shift({"python": 1.0, "memory": 2.0}, {"python": 2.0, "memory": 4.5})
    assert shift is not None
    assert shift.kernels == {"memory": 2.25, "python": 2.0}
    assert shift.ratio == pytest.approx(math.sqrt(2.0 * 2.25))
    assert shift.describe() == "the machine was 112 % slower during head's run"
    reverse = machine_shift({"python": 2.0, "memory": 4.5}, {"python": 1.0, "memory": 2.0})
    assert reverse is not None and reverse.ratio == pytest.approx(1 / shift.ratio)
    assert "faster during head's run" in reverse.describe()


def test_no_common_kernel_gives_no_shift() -> None:
    assert machine_shift({"python": 1.0}, {"memory": 1.0}) is None
    assert medians(None) == {} and medians({"python": [3.0, 1.0, 2.0]}) == {"python": 2.0}
    assert trusted(machine_shift({"a": 1.0}, {"a": 1.04}), 0.05)  # type: ignore[arg-type]
    assert not trusted(machine_shift({"a": 1.0}, {"a": 1.06}), 0.05)  # type: ignore[arg-type]


def test_a_busy_machine_during_head_is_inconclusive_not_slower() -> None:
    base = _bench(_values(1e-3, 1), 1.0, start=1)
    head = _bench(_values(1.5e-3, 2), 1.5, start=2)  # the same code, everything 50 % slower
    comparison = compare_benchmarks(base, head, min_effect=0.05, alpha=0.01)
    (row,) = comparison.rows
    assert row.verdict == "inconclusive"
    assert row.head == pytest.approx(1e-3, rel=0.02)  # head put on base's machine
    assert as_dict(comparison)["verdict"] == "inconclusive"
    assert as_dict(comparison)["machine"]["ratio"] == pytest.approx(1.5)
    assert any("50 % slower during head's run" in w for w in comparison.warnings)


def test_a_change_that_survives_the_machine_shift_stands() -> None:
    base = _bench(_values(1e-3, 3), 1.0, start=1)
    head = _bench(_values(3e-3, 4), 1.5, start=2)  # 2x the work on a 1.5x slower machine
    (row,) = compare_benchmarks(base, head, min_effect=0.05, alpha=0.01).rows
    assert row.verdict == "slower" and row.ratio == pytest.approx(2.0, rel=0.02)


def test_a_small_shift_is_corrected_without_question() -> None:
    base = _bench(_values(1e-3, 5), 1.0, start=1)
    head = _bench(_values(1.03 * 1.04e-3, 6), 1.04, start=2)  # 3 % more work, 4 % slower machine
    (row,) = compare_benchmarks(base, head, min_effect=0.05, alpha=0.01).rows
    assert row.verdict == "no change" and row.ratio == pytest.approx(1.03, rel=0.01)
    assert "head / machine ratio" in row.method
    uncorrected = compare_benchmarks(
        _bench(_values(1e-3, 5), None, 1),
        _bench(_values(1.03 * 1.04e-3, 6), None, 2),
        min_effect=0.05,
        alpha=0.01,
    )
    assert uncorrected.rows[0].verdict == "slower"  # what calibration saves us from


def test_one_run_of_bench_base_is_not_corrected() -> None:
    base = _bench(_values(1e-3, 7), 1.0, start=5)
    head = _bench(_values(1.5e-3, 8), 1.5, start=5)  # same start: written by one --base run
    comparison = compare_benchmarks(base, head, min_effect=0.05, alpha=0.01)
    assert comparison.machine is None and comparison.rows[0].verdict == "slower"


def test_a_side_without_calibration_is_compared_as_timed_and_flagged() -> None:
    comparison = compare_benchmarks(
        _bench(_values(1e-3, 9), None, 1),
        _bench(_values(1e-3, 10), 1.0, 2),
        min_effect=0.05,
        alpha=0.01,
    )
    assert comparison.machine is None and comparison.rows[0].verdict == "no change"
    assert any(w.startswith("base has no calibration") for w in comparison.warnings)


def test_the_kernels_time_fixed_work() -> None:
    timed = time_kernels(time.perf_counter_ns)
    assert set(timed) == set(KERNELS)
    assert all(0 < seconds < 5 for seconds in timed.values())


def test_a_change_no_larger_than_the_machine_move_is_inconclusive() -> None:
    # seen on a loaded CI runner: identical code 20 % slower while the kernels moved 10 %
    base = _bench(_values(1e-3, 11), 1.0, start=1)
    head = _bench(_values(1.2e-3, 12), 1.1, start=2)
    (row,) = compare_benchmarks(base, head, min_effect=0.05, alpha=0.01).rows
    assert row.verdict == "inconclusive" and row.shift == pytest.approx(0.09, abs=0.01)
