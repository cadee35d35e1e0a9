"""Benchmark statistics on series with known answers."""

from __future__ import annotations

import random
import statistics
from typing import Any

import pytest

from perfeng.analysis.benchstats import (
    bootstrap_median_ci,
    busy_warnings,
    mad,
    modified_z_scores,
    outlier_flags,
    stats_warnings,
    summarize,
)


def test_mad_unscaled_and_scaled() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 100.0]  # deviations from 3: 2 1 0 1 97 -> median 1
    assert mad(values) == 1.0
    assert mad(values, scaled=True) == pytest.approx(1.4826)


def test_scaled_mad_estimates_sigma_of_normal_data() -> None:
    rng = random.Random(5)
    values = [rng.gauss(10.0, 2.0) for _ in range(20_000)]
    assert mad(values, scaled=True) == pytest.approx(2.0, rel=0.03)


def test_modified_z_score_formula() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 100.0]
    scores = modified_z_scores(values)
    assert scores[3] == pytest.approx(0.6745)
    assert scores[4] == pytest.approx(0.6745 * 97)
    assert outlier_flags(values) == [False, False, False, False, True]


def test_outliers_when_mad_is_zero_use_the_mean_deviation() -> None:
    assert outlier_flags([1.0, 1.0, 1.0, 1.0, 1.0, 1000.0]) == [False] * 5 + [True]
    assert outlier_flags([2.0, 2.0, 2.0]) == [False, False, False]


def test_bootstrap_interval_is_seeded_and_contains_the_median() -> None:
    rng = random.Random(1)
    values = [rng.lognormvariate(0, 0.2) for _ in range(60)]
    first = bootstrap_median_ci(values, seed=3)
    assert first == bootstrap_median_ci(values, seed=3)
    assert first != bootstrap_median_ci(values, seed=4)
    assert first[0] <= statistics.median(values) <= first[1]


def test_bootstrap_interval_covers_the_true_median_about_as_often_as_promised() -> None:
    rng = random.Random(7)
    trials, covered = 200, 0
    for trial in range(trials):
        values = [rng.gauss(50.0, 5.0) for _ in range(60)]
        low, high = bootstrap_median_ci(values, confidence=0.9, resamples=400, seed=trial)
        covered += low <= 50.0 <= high
    assert 0.82 <= covered / trials <= 0.97


def test_bootstrap_interval_narrows_with_more_values() -> None:
    rng = random.Random(2)
    few = [rng.gauss(1.0, 0.1) for _ in range(20)]
    many = [rng.gauss(1.0, 0.1) for _ in range(2000)]
    width = [high - low for low, high in (bootstrap_median_ci(few), bootstrap_median_ci(many))]
    assert width[1] < width[0] / 3


def test_bad_confidence_is_refused() -> None:
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_median_ci([1.0, 2.0], confidence=1.5)


def test_summarize_matches_the_textbook_figures() -> None:
    values = [3.0, 1.0, 2.0, 5.0, 4.0, 40.0]
    stats = summarize(values, confidence=0.9)
    assert stats.n == 6
    assert stats.median == 3.5
    assert stats.mean == pytest.approx(statistics.fmean(values))
    assert stats.stdev == pytest.approx(statistics.stdev(values))
    assert (stats.min, stats.max) == (1.0, 40.0)
    assert stats.mad == 1.5
    assert stats.outliers == 1
    assert stats.confidence == 0.9
    assert stats.median_ci_low <= stats.median <= stats.median_ci_high


def test_summarize_one_value_and_none() -> None:
    stats = summarize([2.5])
    assert (stats.median_ci_low, stats.median_ci_high, stats.stdev) == (2.5, 2.5, 0.0)
    with pytest.raises(ValueError, match="no values"):
        summarize([])


def _warnings(values: list[float], **kwargs: Any) -> list[str]:
    return stats_warnings(summarize(values, resamples=50), values, **kwargs)


def test_a_steady_series_has_no_warning() -> None:
    rng = random.Random(3)
    values = [0.01 * (1 + rng.gauss(0, 0.01)) for _ in range(30)]
    assert _warnings(values, load_start=0.1, load_end=1.2, cpu_count=2) == []


def test_large_spread_is_reported() -> None:
    rng = random.Random(3)
    values = [0.01 * (1 + rng.gauss(0, 0.2)) for _ in range(30)]
    assert any(w.startswith("spread is large") for w in _warnings(values))


def test_first_value_outlier_suggests_warm_up() -> None:
    values = [0.05] + [0.01 + i * 1e-5 for i in range(20)]
    found = _warnings(values)
    assert any("first value is an outlier" in w for w in found)
    assert any(w.startswith("1 of 21 values are outliers") for w in found)


def test_short_raw_timing_counts_the_loops() -> None:
    values = [1e-6 + i * 1e-9 for i in range(10)]
    assert any("below 1 ms" in w and "--min-time" in w for w in _warnings(values, loops=10))
    assert not any("below 1 ms" in w for w in _warnings(values, loops=1000))
    assert any("start-up" in w for w in _warnings(values, command=True))


def test_busy_machine_at_start_or_end() -> None:
    assert busy_warnings(0.4, 1.5, 2) == []  # at the end one runnable process is ours
    found = busy_warnings(1.5, 3.5, 2)
    assert [w.split(" at the ")[1].split()[0] for w in found] == ["start", "end"]
    assert busy_warnings(None, None, None) == []
