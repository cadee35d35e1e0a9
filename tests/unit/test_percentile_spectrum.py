"""The HdrHistogram-style percentile spectrum."""

from __future__ import annotations

import random

import pytest

from perfeng.analysis.percentiles import levels, spectrum
from perfeng.model import histogram as hdr


def test_levels_halve_the_distance_to_100() -> None:
    got = levels(1, top=99.9)
    expected = [0.0, 50.0, 75.0, 87.5, 93.75, 96.875, 98.4375, 99.21875, 99.609375, 99.8046875]
    assert got == pytest.approx([*expected, 100.0], abs=1e-6)
    assert levels(5)[-2] <= 99.999 < levels(5)[-1] + 1e-9


def test_spectrum_matches_the_histogram_and_rises() -> None:
    histogram = hdr.new_histogram()
    rng = random.Random(3)
    for _ in range(10_000):
        histogram.record_value(rng.randint(100, 50_000))
    points = spectrum(histogram)
    assert points[0][0] == 0.0 and points[-1][0] == 100.0
    values = [v for _, v in points]
    assert values == sorted(values)
    for p, v in points:
        assert v == pytest.approx(histogram.get_value_at_percentile(p) / 1000)


def test_empty_histogram_has_no_points() -> None:
    assert spectrum(hdr.new_histogram()) == []


def test_bad_ticks() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        levels(0)
