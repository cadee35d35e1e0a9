"""The comparison rule on synthetic samples with known answers."""

from __future__ import annotations

import random

import pytest

from perfeng.analysis.compare import compare, hodges_lehmann


def sample(rng: random.Random, n: int, centre: float, spread: float = 0.02) -> list[float]:
    return [centre * (1 + rng.gauss(0, spread)) for _ in range(n)]


def test_identical_distributions_are_no_change() -> None:
    rng = random.Random(1)
    result = compare(sample(rng, 30, 100.0), sample(rng, 30, 100.0))
    assert result.verdict == "no change"


def test_a_ten_percent_slowdown_is_found() -> None:
    rng = random.Random(2)
    result = compare(sample(rng, 30, 100.0), sample(rng, 30, 110.0))
    assert result.verdict == "slower"
    assert result.shift_low < result.shift < result.shift_high
    assert result.shift == pytest.approx(10.0, abs=2.0)


def test_a_significant_but_tiny_change_is_no_change() -> None:
    rng = random.Random(3)
    result = compare(sample(rng, 200, 100.0, 0.001), sample(rng, 200, 101.0, 0.001))
    assert result.p_value < 0.01
    assert result.verdict == "no change"  # 1 % is below the 5 % minimum effect


def test_throughput_going_up_is_faster() -> None:
    rng = random.Random(4)
    result = compare(sample(rng, 30, 100.0), sample(rng, 30, 120.0), higher_is_better=True)
    assert result.verdict == "faster"


def test_hodges_lehmann_of_a_pure_shift() -> None:
    base = [1.0, 2.0, 3.0, 4.0, 5.0]
    shift, low, high = hodges_lehmann(base, [b + 10 for b in base], 0.05)
    assert shift == 10.0 and low <= 10.0 <= high


def test_too_few_values() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        compare([1.0, 2.0], [1.0, 2.0, 3.0])
