"""USL, Gunther's method and Amdahl against published results and known answers."""

from __future__ import annotations

import math

import pytest

from perfeng.analysis.scalability import FitError, fit_amdahl, fit_gunther, fit_usl, usl

# SPEC SDM91, as shipped with the R usl package (its documented fit is the reference).
SDM91 = [
    (1, 64.9),
    (18, 995.9),
    (36, 1652.4),
    (72, 1853.2),
    (108, 1828.9),
    (144, 1775.0),
    (216, 1702.2),
]


def sig4(value: float) -> float:
    return float(f"{value:.4g}")


def test_sdm91_least_squares_matches_the_r_usl_package() -> None:
    fit = fit_usl(SDM91)
    assert sig4(fit.sigma) == sig4(0.0277285)
    assert sig4(fit.kappa) == sig4(0.0001044)
    assert sig4(fit.lam) == sig4(89.99523)
    assert fit.n_star is not None and round(fit.n_star, 2) == 96.52
    for name in ("sigma", "kappa", "lambda"):
        interval = fit.intervals[name]
        assert interval is not None and interval[0] < interval[1]


def test_sdm91_gunther_method_matches_the_published_values() -> None:
    fit = fit_gunther(SDM91)
    assert sig4(fit.sigma) == sig4(0.01705)
    assert sig4(fit.kappa) == sig4(7.892e-05)
    assert fit.lam == 64.9


@pytest.mark.parametrize(
    ("sigma", "kappa", "lam"), [(0.05, 0.001, 100.0), (0.2, 0.0, 50.0), (0.0, 0.0005, 10.0)]
)
def test_exact_points_give_their_coefficients_back(sigma: float, kappa: float, lam: float) -> None:
    points = [(n, usl(n, sigma, kappa, lam)) for n in (1, 2, 4, 8, 16, 32, 64)]
    fit = fit_usl(points)
    assert fit.sigma == pytest.approx(sigma, abs=1e-6)
    assert fit.kappa == pytest.approx(kappa, abs=1e-7)
    assert fit.lam == pytest.approx(lam, rel=1e-6)
    assert fit.r_squared == pytest.approx(1.0)


def test_amdahl_has_an_asymptote_not_a_peak() -> None:
    points = [(n, usl(n, 0.1, 0.0, 100.0)) for n in (1, 2, 4, 8, 16)]
    fit = fit_amdahl(points)
    assert fit.n_star is None
    assert fit.x_max == pytest.approx(1000.0, rel=1e-4)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([(1, 1.0), (2, 2.0)], "at least 3"),
        ([(1, 1.0), (2, -2.0), (3, 3.0)], "not negative"),
        ([(0, 1.0), (2, 2.0), (3, 3.0)], "above 0"),
        ([(1, 1.0), (2, math.nan), (3, 3.0)], "invalid point"),
    ],
)
def test_bad_points(points: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(FitError, match=message):
        fit_usl(points)


def test_gunther_needs_a_point_at_one() -> None:
    with pytest.raises(FitError, match="concurrency 1"):
        fit_gunther([(2, 2.0), (4, 3.0), (8, 4.0)])
