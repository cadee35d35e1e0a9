"""Change-point detection does not depend on the values' units, up to the limits of floats."""

from __future__ import annotations

import random
import sys
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from perfeng.analysis.changepoint import detect


@pytest.fixture(autouse=True)
def no_numeric_warnings() -> Iterator[None]:
    """Any overflow, invalid operation or numpy warning fails the test."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        yield


def step(seed: int = 1) -> list[float]:
    """A +10 % step at 30 in 60 values, with a lone spike at 12."""
    rng = random.Random(seed)
    values = [(100.0 if i < 30 else 110.0) + rng.gauss(0, 1.0) for i in range(60)]
    values[12] *= 1.3
    return values


@pytest.mark.parametrize("factor", [1e-300, 1e-200, 1e-3, 1e3, 1e200, 1e305, -1e250])
def test_scaling_the_values_scales_the_means_and_nothing_else(factor: float) -> None:
    values = step()
    (expected,) = detect(values)
    (point,) = detect([v * factor for v in values])
    assert point.index == expected.index == 30
    assert point.mean_before == pytest.approx(expected.mean_before * factor, rel=1e-12)
    assert point.mean_after == pytest.approx(expected.mean_after * factor, rel=1e-12)
    sign = 1 if factor > 0 else -1  # a change is relative to |before|
    assert point.change_percent == pytest.approx(sign * expected.change_percent, rel=1e-12)
    assert point.p_value == pytest.approx(expected.p_value, rel=1e-9)


def test_a_shifted_series_has_the_same_points() -> None:
    values = step()
    (expected,) = detect(values)
    (point,) = detect([v + 1e6 for v in values])
    assert point.index == expected.index
    assert point.p_value == pytest.approx(expected.p_value, rel=1e-6)


def test_values_near_the_largest_float_have_finite_results() -> None:
    top = sys.float_info.max
    values = [top * (0.5 if i < 30 else 0.9) * (1 + 0.001 * (i % 3)) for i in range(60)]
    (point,) = detect(values)
    assert point.index == 30
    assert np.isfinite([point.mean_before, point.mean_after, point.change_percent]).all()
    assert point.mean_before == pytest.approx(top * 0.501, rel=1e-3)
    assert point.change_percent == pytest.approx(80.0, rel=1e-2)


def test_the_extreme_floats_of_both_signs_do_not_overflow() -> None:
    top = sys.float_info.max
    assert detect([top, -top] * 30) == []
    (point,) = detect([top] * 30 + [-top] * 30)
    assert (point.index, point.mean_before, point.mean_after) == (30, top, -top)
    assert point.change_percent == -200.0


def test_a_lone_huge_spike_is_still_an_outlier() -> None:
    values = step()
    values[40] = 1e300
    assert [p.index for p in detect(values)] == [30]


def test_a_run_of_values_too_far_from_the_rest_is_refused() -> None:
    values = step()
    values[40:45] = [1e300] * 5  # a segment, not outliers: its squares would overflow
    with pytest.raises(ValueError, match="too wide a range"):
        detect(values)


def test_subnormal_values_keep_their_step() -> None:
    values = [5e-324 * (10 if i < 30 else 20) for i in range(60)]
    (point,) = detect(values)
    assert point.index == 30
    assert point.change_percent == pytest.approx(100.0)
