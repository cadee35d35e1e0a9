"""Scalability models fitted to (concurrency, throughput) points.

Universal Scalability Law (Gunther): X(N) = lambda*N / (1 + sigma*(N-1) + kappa*N*(N-1)).
sigma is contention (serialisation), kappa coherency (crosstalk). Fitted by unweighted
nonlinear least squares with 0 <= sigma, kappa <= 1 and lambda >= 0, as the R ``usl``
package (version 2 and later) does. The peak is at N* = sqrt((1 - sigma) / kappa).
Gunther's method ("Guerrilla Capacity Planning", ch. 5) instead fixes lambda = X(1) and fits
the quadratic N/C(N) - 1 = (sigma + kappa)*x + kappa*x^2 with x = N - 1 and C = X/X(1).
Amdahl's law is the USL with kappa = 0. Confidence intervals are Wald intervals from the
Jacobian at the optimum with Student's t (n - p degrees of freedom).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class FitError(ValueError):
    """The points cannot be fitted (too few, invalid, or no convergence)."""


@dataclass(frozen=True)
class UslFit:
    sigma: float
    kappa: float
    lam: float
    r_squared: float
    intervals: dict[str, tuple[float, float] | None]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The coefficients, the peak and their intervals, as documents and --json show them."""

        def interval(name: str) -> list[float] | None:
            value = self.intervals.get(name)
            return None if value is None else [value[0], value[1]]

        return {
            "sigma": self.sigma,
            "kappa": self.kappa,
            "lambda": self.lam,
            "n_star": self.n_star,
            "x_max": self.x_max,
            "r_squared": self.r_squared,
            "sigma_ci": interval("sigma"),
            "kappa_ci": interval("kappa"),
            "lambda_ci": interval("lambda"),
            "warnings": list(self.warnings),
        }

    @property
    def n_star(self) -> float | None:
        if self.kappa <= 0:
            return None
        return math.sqrt((1 - self.sigma) / self.kappa)

    @property
    def x_max(self) -> float | None:
        n_star = self.n_star
        if n_star is not None:
            return usl(n_star, self.sigma, self.kappa, self.lam)
        return self.lam / self.sigma if self.sigma > 0 else None


def usl(n: float, sigma: float, kappa: float, lam: float) -> float:
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def check_points(points: list[tuple[float, float]]) -> None:
    if len(points) < 3:
        raise FitError(f"need at least 3 points to fit, got {len(points)}")
    for n, x in points:
        if not (math.isfinite(n) and math.isfinite(x)) or n <= 0 or x < 0:
            raise FitError(
                f"invalid point (concurrency {n:g}, throughput {x:g}): concurrency "
                "must be above 0 and throughput not negative"
            )


def _r_squared(observed: Any, predicted: Any) -> float:
    import numpy as np

    total = float(np.sum((observed - np.mean(observed)) ** 2))
    residual = float(np.sum((observed - predicted) ** 2))
    return 1 - residual / total if total > 0 else 0.0


def _wald(result: Any, n: int, names: tuple[str, ...]) -> dict[str, tuple[float, float] | None]:
    import numpy as np
    from scipy import stats

    dof = n - len(names)
    if dof <= 0:
        return dict.fromkeys(names)
    jac = result.jac
    s2 = float(np.sum(result.fun**2)) / dof
    try:
        cov = np.linalg.inv(jac.T @ jac) * s2
    except np.linalg.LinAlgError:
        return dict.fromkeys(names)
    t = float(stats.t.ppf(0.975, dof))
    out: dict[str, tuple[float, float] | None] = {}
    for i, name in enumerate(names):
        se = math.sqrt(cov[i, i]) if cov[i, i] >= 0 else math.nan
        value = float(result.x[i])
        out[name] = None if not math.isfinite(se) else (value - t * se, value + t * se)
    return out


def fit_usl(points: list[tuple[float, float]]) -> UslFit:
    """Least-squares USL fit (the R usl package's semantics)."""
    import numpy as np
    from scipy.optimize import least_squares

    check_points(points)
    n = np.array([p[0] for p in points], dtype=float)
    x = np.array([p[1] for p in points], dtype=float)
    start_lambda = float(np.max(x / n))

    def residuals(params: Any) -> Any:
        sigma, kappa, lam = params
        return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1)) - x

    result = least_squares(
        residuals,
        [0.01, 0.0001, start_lambda],
        bounds=([0, 0, 0], [1, 1, np.inf]),
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
        max_nfev=20_000,
    )
    if not result.success or not np.all(np.isfinite(result.x)):
        raise FitError(f"the USL fit did not converge: {result.message}")
    sigma, kappa, lam = (float(v) for v in result.x)
    warnings = []
    if sigma >= 1 - 1e-9 or kappa >= 1 - 1e-9:
        warnings.append(
            "a coefficient sits on its upper bound (1): the data may not follow the USL"
        )
    return UslFit(
        sigma,
        kappa,
        lam,
        _r_squared(x, x + result.fun),
        _wald(result, len(points), ("sigma", "kappa", "lambda")),
        tuple(warnings),
    )


def fit_gunther(points: list[tuple[float, float]]) -> UslFit:
    """Gunther's normalised quadratic method; needs a point at N = 1."""
    import numpy as np

    check_points(points)
    ones = [x for n, x in points if n == 1]
    if not ones or ones[0] <= 0:
        raise FitError("Gunther's method needs a point at concurrency 1 with throughput above 0")
    lam = ones[0]
    rest = [(n, x) for n, x in points if n != 1]
    n = np.array([p[0] for p in rest], dtype=float)
    capacity = np.array([p[1] for p in rest], dtype=float) / lam
    if np.any(capacity <= 0):
        raise FitError("Gunther's method needs throughput above 0 at every point")
    xs = n - 1
    ys = n / capacity - 1
    (a, b), *_ = np.linalg.lstsq(np.vstack([xs**2, xs]).T, ys, rcond=None)
    kappa, sigma = float(a), float(b - a)
    warnings = []
    if sigma < 0 or kappa < 0:
        warnings.append(
            "the quadratic gave a negative coefficient: Gunther's method does not "
            "fit these points well"
        )
    all_n = np.array([p[0] for p in points], dtype=float)
    all_x = np.array([p[1] for p in points], dtype=float)
    predicted = lam * all_n / (1 + sigma * (all_n - 1) + kappa * all_n * (all_n - 1))
    return UslFit(
        sigma,
        kappa,
        lam,
        _r_squared(all_x, predicted),
        {"sigma": None, "kappa": None, "lambda": None},
        tuple(warnings),
    )


def fit_amdahl(points: list[tuple[float, float]]) -> UslFit:
    """Amdahl's law, X(N) = lambda*N / (1 + sigma*(N-1)): the USL with kappa = 0."""
    import numpy as np
    from scipy.optimize import least_squares

    check_points(points)
    n = np.array([p[0] for p in points], dtype=float)
    x = np.array([p[1] for p in points], dtype=float)

    def residuals(params: Any) -> Any:
        sigma, lam = params
        return lam * n / (1 + sigma * (n - 1)) - x

    result = least_squares(
        residuals,
        [0.01, float(np.max(x / n))],
        bounds=([0, 0], [1, np.inf]),
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
        max_nfev=20_000,
    )
    if not result.success:
        raise FitError(f"the Amdahl fit did not converge: {result.message}")
    sigma, lam = (float(v) for v in result.x)
    return UslFit(
        sigma,
        0.0,
        lam,
        _r_squared(x, x + result.fun),
        _wald(result, len(points), ("sigma", "lambda")),
    )
