"""Change-point detection on synthetic series with known answers."""

from __future__ import annotations

import itertools
import math
import random
import statistics
import time

import numpy as np
import pytest

from perfeng.analysis.changepoint import (
    ChangePoint,
    _best_split,
    _distance_prefix,
    _Moments,
    detect,
    newest_is_regression,
    noise_sigma,
    remove_outliers,
)


def noisy(levels: list[tuple[int, float]], seed: int, sigma: float = 2.0) -> list[float]:
    """Runs of (length, level) with Gaussian noise."""
    rng = random.Random(seed)
    return [level + rng.gauss(0, sigma) for length, level in levels for _ in range(length)]


def indices(values: list[float], **options: float) -> list[int]:
    return [p.index for p in detect(values, **options)]  # type: ignore[arg-type]


def test_one_step_is_found_with_its_means_change_and_p_value() -> None:
    values = noisy([(60, 100.0), (40, 110.0)], seed=1)
    (point,) = detect(values)
    assert point.index == 60
    assert point.mean_before == pytest.approx(statistics.fmean(values[:60]))
    assert point.mean_after == pytest.approx(statistics.fmean(values[60:]))
    expected = (point.mean_after - point.mean_before) / point.mean_before * 100
    assert point.change_percent == pytest.approx(expected)
    assert 0 <= point.p_value < 1e-6


def test_the_anchor_series_steps_are_found() -> None:
    # +8 % at 120, -5 % at 160 and five lone spikes (benchmarking.md, section 7)
    hits = extra = 0
    for seed in range(20):
        values = noisy([(120, 100.0), (40, 108.0), (40, 102.6)], seed)
        for i, factor in {25: 1.2, 60: 1.3, 95: 0.85, 140: 1.25, 180: 1.2}.items():
            values[i] *= factor
        found = indices(values)
        hits += sum(any(abs(f - t) <= 3 for f in found) for t in (120, 160))
        extra += sum(all(abs(f - t) > 3 for t in (120, 160)) for f in found)
    assert hits == 40
    assert extra <= 1  # 3 in 200 seeds measured


@pytest.mark.parametrize("spike", [1.25, 1.5, 0.7, 3.0])
def test_a_lone_spike_is_not_a_change_point(spike: float) -> None:
    # Otava's defaults turn such a spike into two change points (apache/otava PR #150).
    for seed in range(10):
        values = noisy([(200, 100.0)], seed)
        values[140] *= spike
        assert indices(values) == []


def test_two_adjacent_outliers_are_not_a_segment_but_three_are() -> None:
    values = noisy([(100, 100.0)], seed=3)
    values[50:52] = [140.0, 141.0]
    assert indices(values) == []
    values[52] = 139.0  # three values: min_size, a segment of its own (a short bump)
    assert indices(values) == [50, 53]


def test_short_bumps_are_found_even_when_large() -> None:
    # Testing a candidate only against the rest of its window (as Otava does) dilutes a short
    # bump, the more so the larger it is; the bump's own end is tried too.
    for seed in range(10):
        values = noisy([(100, 100.0), (5, 140.0), (100, 100.0)], seed)
        assert indices(values) == [100, 105]


def test_a_spike_as_the_newest_value_is_not_a_regression() -> None:
    values = [*noisy([(80, 100.0)], seed=4), 150.0]
    points = detect(values)
    assert points == []
    assert not newest_is_regression(values, points)


def test_pure_noise_gives_no_change_points() -> None:
    false = sum(len(detect(noisy([(300, 100.0)], seed))) for seed in range(20))
    assert false == 0


def test_heavy_tailed_noise_gives_no_change_points() -> None:
    rng = np.random.default_rng(5)
    false = sum(len(detect(list(100 + 2 * rng.standard_t(3, 300)))) for _ in range(20))
    assert false <= 1


def test_a_short_regression_in_a_long_history_is_found() -> None:
    # Windows keep a late, short change from being hidden by a long history.
    values = noisy([(1500, 100.0), (30, 106.0), (470, 100.0)], seed=6)
    start, end = indices(values)
    assert abs(start - 1500) <= 2 and abs(end - 1530) <= 2


def test_a_recent_step_is_found_and_is_the_newest_segment() -> None:
    values = noisy([(100, 100.0), (8, 112.0)], seed=7)
    points = detect(values)
    assert [p.index for p in points] == [100]
    assert newest_is_regression(values, points)
    assert not newest_is_regression(values, points, higher_is_better=True)


def test_an_improvement_is_not_a_regression_unless_higher_is_better() -> None:
    values = noisy([(50, 100.0), (50, 90.0)], seed=8)
    points = detect(values)
    assert [p.index for p in points] == [50]
    assert not newest_is_regression(values, points)
    assert newest_is_regression(values, points, higher_is_better=True)


def test_only_the_newest_segment_counts_for_the_regression() -> None:
    values = noisy([(50, 100.0), (50, 120.0), (50, 101.0)], seed=9)
    points = detect(values)
    assert [p.index for p in points] == [50, 100]
    assert not newest_is_regression(values, points)


def test_min_magnitude_drops_small_changes() -> None:
    values = noisy([(100, 100.0), (100, 103.0)], seed=10, sigma=0.5)
    assert indices(values) == [100]
    assert indices(values, min_magnitude=0.02) == [100]
    assert indices(values, min_magnitude=0.05) == []


def test_alpha_sets_the_sensitivity() -> None:
    values = noisy([(40, 100.0), (40, 101.2)], seed=11)
    assert detect(values, alpha=0.001) == []
    (point,) = detect(values, alpha=0.05)
    assert abs(point.index - 40) <= 8  # a 0.6 sigma step is found only roughly
    assert 0.001 < point.p_value <= 0.05


def test_constant_series_and_a_clean_step() -> None:
    assert detect([5.0] * 30) == []
    (point,) = detect([5.0] * 10 + [6.0] * 10)
    assert point.index == 10
    assert (point.mean_before, point.mean_after, point.change_percent) == (5.0, 6.0, 20.0)
    assert point.p_value < 1e-12


def test_quantised_values_keep_their_level() -> None:
    values = [10.0, 10.0, 11.0, 10.0] * 25 + [12.0, 12.0, 13.0, 12.0] * 25
    (point,) = detect(values)
    assert point.index == 100
    assert point.mean_before == pytest.approx(10.25)


def test_same_input_same_output() -> None:
    values = noisy([(70, 100.0), (70, 104.0), (70, 99.0)], seed=12)
    assert detect(values) == detect(list(values))


def test_too_short_a_series_has_no_change_points() -> None:
    assert detect([1.0, 1.0, 1.0, 9.0, 9.0]) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.0}, "alpha"),
        ({"min_size": 1}, "min_size"),
        ({"window": 5}, "window"),
        ({"min_magnitude": -0.1}, "min_magnitude"),
        ({"min_magnitude": math.nan}, "min_magnitude"),
    ],
)
def test_bad_options_are_value_errors(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        detect([1.0] * 20, **options)  # type: ignore[arg-type]


def test_non_finite_values_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="finite"):
        detect([1.0, 2.0, math.nan, 1.0, 2.0, 1.0])


def test_newest_is_regression_rejects_points_of_another_series() -> None:
    assert not newest_is_regression([1.0] * 10, [])
    with pytest.raises(ValueError, match="outside"):
        newest_is_regression([1.0] * 10, [ChangePoint(20, 1.0, 2.0, 100.0, 0.0)])


def test_noise_sigma_ignores_steps_and_spikes() -> None:
    rng = np.random.default_rng(13)
    x = rng.normal(0, 3.0, 5000)
    x[2500:] += 50
    x[::500] += 100
    assert noise_sigma(x) == pytest.approx(3.0, rel=0.05)


def test_remove_outliers_keeps_steps_and_replaces_short_runs() -> None:
    rng = np.random.default_rng(14)
    x = np.concatenate([rng.normal(100, 1, 50), rng.normal(120, 1, 50)])
    x[20], x[70:72] = 200.0, [0.0, 0.0]
    clean = remove_outliers(x, half_width=2)
    changed = np.nonzero(clean != x)[0].tolist()
    assert changed == [20, 70, 71]
    assert abs(clean[20] - 100) < 3 and abs(clean[70] - 120) < 3
    x[-2:] = 500.0  # also at the ends: the window shifts inwards
    assert np.nonzero(remove_outliers(x, half_width=2) != x)[0].tolist()[-2:] == [98, 99]


def test_best_split_maximises_the_matteson_james_statistic() -> None:
    rng = np.random.default_rng(15)
    z = np.concatenate([rng.normal(0, 1, 12), rng.normal(1.5, 1, 9)])
    best = max(
        (brute_q(z, tau, kappa), tau)
        for tau, kappa in itertools.product(range(len(z) + 1), repeat=2)
        if tau >= 3 and tau + 3 <= kappa <= len(z)
    )
    q, tau, _ = _best_split(_distance_prefix(z), 0, len(z), 3)
    assert tau == best[1]
    assert q == pytest.approx(best[0])


def brute_q(z: np.ndarray, tau: int, kappa: int) -> float:
    """Q(tau, kappa) straight from Matteson & James (2014), eq. 3-6, alpha = 1."""
    x, y = z[:tau], z[tau:kappa]
    n, m = len(x), len(y)
    between = sum(abs(a - b) for a in x for b in y) * 2 / (n * m)
    within_x = sum(abs(a - b) for a, b in itertools.combinations(x, 2)) / math.comb(n, 2)
    within_y = sum(abs(a - b) for a, b in itertools.combinations(y, 2)) / math.comb(m, 2)
    return float(n * m / (n + m) * (between - within_x - within_y))


def test_the_pointwise_test_is_welchs() -> None:
    from scipy import stats

    rng = np.random.default_rng(16)
    x = np.concatenate([rng.normal(0, 1, 30), rng.normal(0.8, 3, 20)])
    moments = _Moments(x, 3)
    moments.prior_df = 0.0  # no moderation: plain Welch
    expected = stats.ttest_ind(x[:30], x[30:], equal_var=False).pvalue
    assert moments.p_value(0, 30, 50, chosen=False) == pytest.approx(expected, rel=1e-9)
    assert moments.p_value(0, 30, 50) > moments.p_value(0, 30, 50, chosen=False)


def test_variances_are_moderated_towards_the_series_noise() -> None:
    from scipy import stats

    x = np.array([0.0, 0.1, 0.0, 0.1] * 10 + [5.0, 5.05, 5.0])
    moments = _Moments(x, 3)
    prior, d0 = moments.prior, moments.prior_df
    assert d0 == 10.0
    v1 = ((39 * np.var(x[:40], ddof=1) + d0 * prior) / (39 + d0)) / 40
    v2 = ((2 * np.var(x[40:], ddof=1) + d0 * prior) / (2 + d0)) / 3
    t = (x[40:].mean() - x[:40].mean()) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 * v1 / (39 + d0) + v2 * v2 / (2 + d0))
    expected = 2 * stats.t.sf(t, df)
    assert moments.p_value(0, 40, 43, chosen=False) == pytest.approx(expected, rel=1e-9)


def test_ten_thousand_values_take_well_under_three_seconds() -> None:
    rng = np.random.default_rng(17)
    values = list(rng.normal(100, 2, 10_000) + 8 * (np.arange(10_000) >= 5000))
    detect(values[:500])  # imports
    times = []
    for _ in range(3):
        start = time.perf_counter()
        found = indices(values)
        times.append(time.perf_counter() - start)
    assert found == [5000]
    assert statistics.median(times) < 3.0
