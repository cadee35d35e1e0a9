"""Change points in a benchmark history: the indices where the level of a series moved.

Method: windowed E-Divisive means with a t-test, as Apache Otava (formerly Hunter) does
(Fleming et al., "Hunter: Using Change Point Detection to Hunt for Performance Regressions",
ICPE 2023), plus two defences against isolated outliers, which Otava turns into change points
of their own (apache/otava PR #150).

1. Robust pre-filter (Hampel identifier; Pearson, "Outliers in process modeling and
   identification", IEEE TCST 2002). With h = min_size - 1, each value is compared with the
   median m_i of a window of 2h + 1 values around it (shifted inwards at the ends). A median of
   2h + 1 values ignores any run of at most h values, so a lone spike, or a run shorter than
   min_size, stands out, while a real step of at least min_size values moves the median with
   it (median filters preserve edges). A value with |x_i - m_i| > 5 sigma is replaced by m_i.
   The noise sigma comes from first differences, which steps and spikes barely touch:
   sigma = 1.4826 * MAD(x[i+1] - x[i]) / sqrt(2). At 5 sigma fewer than 1 in 10^5 Gaussian
   values are touched, so the t-tests below keep their noise.
2. Minimum segment length: every segment has at least ``min_size`` (default 3) values, so a
   value the filter missed can never form a one-point segment with zero variance and p ~ 0.

Units: the values are divided by their largest magnitude before the filter, and the filtered
values are standardised, z = (x - median) / spread (spread: the median absolute deviation, or
the mean one when that is 0), before anything is squared. The splits and tests below are
invariant under x -> a x + b (a != 0) and the means are mapped back, so the result does not
depend on the units, and values near the largest float (1e308) or the smallest neither
overflow nor underflow. A filtered value more than
1e100 spreads from the median would make the squares overflow; such a series is refused.

Split step (Matteson & James, "A Nonparametric Approach for Multiple Change Point Analysis of
Multivariate Data", JASA 2014, eq. 3-6, with alpha = 1): for a segment z[a:b] and a candidate
split tau < kappa <= b, X = z[a:tau] (n values) and Y = z[tau:kappa] (m values),

    E(X, Y) = 2/(nm) sum|X_i - Y_j| - 1/C(n,2) sum_{i<k}|X_i - X_k| - 1/C(m,2) sum_{j<k}|Y_j - Y_k|
    Q(tau, kappa) = nm/(n + m) * E(X, Y),

and (tau, kappa) maximising Q gives the candidate tau. All sums come from one 2-D prefix sum
of the window's distance matrix, so a window of w values costs O(w^2). E-Divisive bisects
each window until the best candidate is not significant. Windows of ``window`` values advance
by half a window, or to the last point found (Hunter's split step), at a relaxed p-value
(10 alpha below 0.05, as Otava does); the union of all candidates are the "weak" points.
A candidate is tested against the rest of its interval, x[a:tau] vs x[tau:b], as in Otava;
failing that, as a bump: x[tau:kappa] against both x[a:tau] and x[kappa:b], and if both pass,
tau and kappa are added. Against the rest of the interval, a short bump is diluted, the more
the larger it is: 3-value bumps of 20 sigma were never found that way, and always this way.

Significance: Welch's two-sample t-test (Welch, Biometrika 1947) between the two segments next
to a point, t = (m2 - m1) / sqrt(v1/n1 + v2/n2), Welch-Satterthwaite degrees of freedom,
two-sided, with two changes that keep short segments honest:
- each segment's variance is moderated towards the series' robust noise sigma^2 (above), as
  in the moderated t-test (Smyth, "Linear models and empirical Bayes methods for assessing
  differential expression", SAGMB 2004): v = ((n - 1) s^2 + d0 sigma^2) / (n - 1 + d0), with
  n - 1 + d0 degrees of freedom, d0 = min(10, 0.37 (N - 2)) (0.37: the MAD's efficiency).
  E-Divisive prefers splits with homogeneous sides, so a selected short run is often quieter
  than the noise by chance, and its own s^2 would make t too large; and a three-value new
  level, with 2 degrees of freedom of its own, could never be significant. A 3-value segment
  thus leans mostly on the series' noise, a 100-value one on its own variance. d0 = 10 was
  measured (benchmarks/detect_vs_otava.py): 30 or 100 gave more false positives at the same
  recall, 5 missed most 3-value new levels of 5 sigma;
- in the merge step the p-value accounts for tau having been chosen as the best of the splits
  of its span (L = b - a values, segments of at least m): with z the normal quantile of the
  pointwise p, P(max |Z| > z) ~ z phi(z) 2 ln((L - m)/m) (James, James & Siegmund, "Tests
  for a change-point", Biometrika 1987). Simulated pure noise (L = 50 to 2000, m = 3) showed
  this 1.6-1.9 times above the true level, so it errs on the quiet side. The split step keeps
  the plain pointwise p-value: it only proposes candidates, which the merge step then judges.
The reported p-value is the corrected one.

Merge step (Hunter): points closer than ``min_size`` are resolved first (the one with the
larger p-value against the outer neighbours goes), then, repeatedly, the point with the
largest p-value is removed while it exceeds ``alpha``, then the one with the smallest relative
change while below ``min_magnitude``; after each removal the others are re-tested against
their new neighbours. Everything is deterministic: no permutations, no randomness.

Limits: the noise prior is one figure for the whole series, so the short segments of a series
whose noise changes a lot over time are judged by the series-wide noise; a new level seen in
fewer than ``min_size`` newest values is treated as outliers until more values arrive.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]

OUTLIER_SIGMAS = 5.0  # Hampel threshold, in robust noise sigmas
MAD_TO_SIGMA = 1.4826  # 1 / Phi^-1(3/4): MAD of a Gaussian times this is its sigma
PRIOR_DF = 10.0  # weight of the series' noise in each segment's variance (module docstring)
MAD_EFFICIENCY = 0.37  # the MAD's asymptotic efficiency for Gaussian data: its share of n - 2 df
MAX_SPREADS = 1e100  # furthest value from the median, in spreads: its square stays finite


@dataclass(frozen=True)
class ChangePoint:
    """A change of level: ``index`` is the first value of the new segment."""

    index: int
    mean_before: float  # mean of the segment before (outliers replaced, see the module)
    mean_after: float  # mean of the segment from ``index`` to the next change point
    change_percent: float  # (after - before) / |before| * 100
    p_value: float  # Welch t-test between the two segments, corrected for the choice of split


def detect(
    values: Sequence[float],
    *,
    alpha: float = 0.001,
    window: int = 50,
    min_magnitude: float = 0.0,
    min_size: int = 3,
) -> list[ChangePoint]:
    """The change points of ``values``, oldest first (method in the module docstring).

    ``alpha``: largest p-value kept. ``window``: values per split window (>= 2 min_size).
    ``min_magnitude``: relative change |after/before - 1| below which a point is dropped.
    ``min_size``: fewest values in a segment (>= 2); shorter runs count as outliers.
    """
    _check_options(alpha, window, min_magnitude, min_size)
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("values must be a flat sequence of finite numbers")
    if len(x) < 2 * min_size:
        return []
    unit = float(np.max(np.abs(x))) or 1.0
    clean = remove_outliers(x / unit, half_width=min_size - 1)
    centre, spread = _centre_spread(clean)
    if spread == 0:  # constant once outliers are replaced: nothing can change
        return []
    z = (clean - centre) / spread
    moments = _Moments(z, min_size, origin=centre, scale=spread)
    weak = _split(z, moments, window, min_size, _relaxed(alpha))
    kept = _merge(weak, moments, alpha, min_magnitude, min_size)
    return [
        _in_units(moments.change_point(prev, point, nxt), unit)
        for prev, point, nxt in _triples(kept, len(x))
    ]


def newest_is_regression(
    values: Sequence[float], points: Sequence[ChangePoint], *, higher_is_better: bool = False
) -> bool:
    """Is the newest segment (after the last change point) worse than the one before it?

    The last point's means are exactly those two segments. ``values`` is the series the
    points were found in; a point outside it is a caller's mistake (ValueError).
    """
    if not points:
        return False
    last = max(points, key=lambda p: p.index)
    if not 0 < last.index < len(values):
        raise ValueError(f"change point {last.index} is outside a series of {len(values)}")
    if higher_is_better:
        return last.mean_after < last.mean_before
    return last.mean_after > last.mean_before


def noise_sigma(x: FloatArray) -> float:
    """Robust noise sigma from first differences: 1.4826 * MAD(diff) / sqrt(2).

    A step moves one difference and a spike two, so the median ignores both. When more than
    half the differences are equal (quantised data), the MAD is 0 and the mean absolute
    deviation is used instead: sigma = sqrt(pi/2) * mean|d - median(d)| / sqrt(2).
    """
    import numpy as np

    if len(x) < 2:
        return 0.0
    deviations = np.abs(np.diff(x) - np.median(np.diff(x)))
    mad = float(np.median(deviations))
    if mad > 0:
        return MAD_TO_SIGMA * mad / math.sqrt(2)
    return math.sqrt(math.pi / 2) * float(np.mean(deviations)) / math.sqrt(2)


def remove_outliers(x: FloatArray, *, half_width: int) -> FloatArray:
    """Hampel identifier: values further than 5 sigma from their running median (window
    2 * half_width + 1, shifted inwards at both ends) are replaced by that median."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    width = 2 * half_width + 1
    if half_width < 1 or len(x) < width:
        return x.copy()
    medians = np.median(sliding_window_view(x, width), axis=1)
    starts = np.clip(np.arange(len(x)) - half_width, 0, len(x) - width)
    running = medians[starts]
    outlying = np.abs(x - running) > OUTLIER_SIGMAS * noise_sigma(x)
    result: FloatArray = np.where(outlying, running, x)
    return result


def _check_options(alpha: float, window: int, min_magnitude: float, min_size: int) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    if min_size < 2:
        raise ValueError(f"min_size must be at least 2, not {min_size}")
    if window < 2 * min_size:
        raise ValueError(f"window must be at least 2 * min_size = {2 * min_size}, not {window}")
    if not min_magnitude >= 0:
        raise ValueError(f"min_magnitude must not be negative, not {min_magnitude}")


def _centre_spread(x: FloatArray) -> tuple[float, float]:
    """Median and robust spread (median absolute deviation, else the mean one) of ``x``.

    The analysis runs on (x - median) / spread, so it does not depend on the values' units
    and no square overflows or underflows. A value more than ``MAX_SPREADS`` spreads from
    the median would make the squares overflow: such a series is refused (ValueError).
    """
    import numpy as np

    centre = float(np.median(x))
    deviations = np.abs(x - centre)
    spread = float(np.median(deviations)) or float(np.mean(deviations))
    if float(np.max(deviations)) > MAX_SPREADS * spread:
        raise ValueError(
            f"values span too wide a range: some lie more than {MAX_SPREADS:.0e} times the "
            "typical deviation from the median"
        )
    return centre, spread


def _in_units(point: ChangePoint, unit: float) -> ChangePoint:
    """``point`` found in values divided by ``unit``, with its means in the original units.

    A mean of values within [-1, 1] is within [-1, 1]; clamping removes the rounding that
    could take it past the largest float when ``unit`` is near it. The change is recomputed
    in the original units (exact for simple values) unless the difference overflows there.
    """
    before = min(max(point.mean_before, -1.0), 1.0) * unit
    after = min(max(point.mean_after, -1.0), 1.0) * unit
    change = _percent(before, after) if math.isfinite(after - before) else point.change_percent
    return dataclasses.replace(point, mean_before=before, mean_after=after, change_percent=change)


def _relaxed(alpha: float) -> float:
    """The split step's p-value, as Otava's compute_change_points chooses it."""
    if alpha < 0.05:
        return alpha * 10
    return alpha * 2 if alpha < 0.5 else alpha


def _triples(points: list[int], n: int) -> list[tuple[int, int, int]]:
    """(previous boundary, point, next boundary) for each point; 0 and n close the ends."""
    bounds = [0, *points, n]
    return [(bounds[i - 1], bounds[i], bounds[i + 1]) for i in range(1, len(bounds) - 1)]


class _Moments:
    """Prefix sums of x and x^2 (centred on the median for precision), so a segment's mean and
    variance, and so a t-test, cost O(1). A value v of x stands for ``origin + scale * v``:
    change points report their means in those units."""

    def __init__(
        self, x: FloatArray, min_size: int, *, origin: float = 0.0, scale: float = 1.0
    ) -> None:
        import numpy as np

        self.min_size = min_size
        self.origin, self.scale = origin, scale
        self.prior = noise_sigma(x) ** 2
        self.prior_df = min(PRIOR_DF, MAD_EFFICIENCY * (len(x) - 2))
        self.centre = float(np.median(x))
        centred = x - self.centre
        self.s1 = np.concatenate(([0.0], np.cumsum(centred)))
        self.s2 = np.concatenate(([0.0], np.cumsum(centred * centred)))

    def mean_var(self, a: int, b: int) -> tuple[float, float]:
        """Mean (centred) and unbiased variance of x[a:b]."""
        n = b - a
        total = float(self.s1[b] - self.s1[a])
        mean = total / n
        if n < 2:
            return mean, 0.0
        squares = float(self.s2[b] - self.s2[a]) - total * mean
        return mean, max(squares, 0.0) / (n - 1)

    def p_value(self, a: int, tau: int, b: int, *, chosen: bool = True) -> float:
        """Welch's two-sided t-test of x[a:tau] against x[tau:b] with moderated variances;
        ``chosen``: tau was the best of the splits of x[a:b] (correction in the
        module docstring)."""
        from scipy.special import stdtr

        n1, n2 = tau - a, b - tau
        if n1 < self.min_size or n2 < self.min_size:
            return 1.0
        (m1, v1), (m2, v2) = self.mean_var(a, tau), self.mean_var(tau, b)
        (e1, d1), (e2, d2) = self._error(v1, n1), self._error(v2, n2)
        if e1 + e2 <= 0:
            return 1.0 if m1 == m2 else 0.0
        t = abs(m2 - m1) / math.sqrt(e1 + e2)
        r1, r2 = e1 / (e1 + e2), e2 / (e1 + e2)  # Welch-Satterthwaite, without squaring e
        df = 1.0 / (r1 * r1 / d1 + r2 * r2 / d2)
        point = 2.0 * float(stdtr(df, -t))
        if not chosen:
            return point
        return min(1.0, max(point, _best_of_splits(point, b - a, self.min_size)))

    def _error(self, variance: float, n: int) -> tuple[float, float]:
        """Squared standard error of a segment's mean, with the segment's variance moderated
        towards the series' noise, and its degrees of freedom (module docstring)."""
        df = n - 1 + self.prior_df
        return ((n - 1) * variance + self.prior_df * self.prior) / df / n, df

    def change_point(self, a: int, tau: int, b: int) -> ChangePoint:
        before = self.origin + self.scale * (self.mean_var(a, tau)[0] + self.centre)
        after = self.origin + self.scale * (self.mean_var(tau, b)[0] + self.centre)
        return ChangePoint(tau, before, after, _percent(before, after), self.p_value(a, tau, b))


def _best_of_splits(point: float, length: int, min_size: int) -> float:
    """P(max over splits |Z| > z) ~ z phi(z) 2 ln((L - m)/m), z the normal quantile of the
    pointwise p-value (James, James & Siegmund, Biometrika 1987)."""
    if point <= 0.0:
        return 0.0
    from scipy.special import ndtri

    z = -float(ndtri(point / 2))
    density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return z * density * 2 * math.log((length - min_size) / min_size)


def _percent(before: float, after: float) -> float:
    if before == 0:
        return 0.0 if after == 0 else math.copysign(math.inf, after)
    return (after - before) / abs(before) * 100.0


def _split(x: FloatArray, moments: _Moments, window: int, min_size: int, alpha: float) -> list[int]:
    """Hunter's split step: E-Divisive in sliding windows; the union of what they find."""
    n, step = len(x), window // 2
    found: set[int] = set()
    start = 0
    while n - start >= 2 * min_size:
        end = min(start + window, n)
        points = [start + p for p in _divide(x[start:end], min_size, moments, start, alpha)]
        found.update(points)
        start = max([*points, start + step])
    return sorted(found)


def _divide(
    z: FloatArray, min_size: int, moments: _Moments, offset: int, alpha: float
) -> list[int]:
    """E-Divisive within one window: bisect while the best candidate is significant."""
    prefix = _distance_prefix(z)
    points: list[int] = []
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    while True:
        bounds = [0, *points, len(z)]
        for a, b in pairwise(bounds):
            if (a, b) not in best and b - a >= 2 * min_size:
                best[a, b] = _best_split(prefix, a, b, min_size)
        if not best:
            return points
        (a, b), (_, tau, kappa) = max(best.items(), key=lambda item: item[1][0])
        found = _significant(moments, offset, (a, tau, kappa, b), alpha)
        if not found:
            return points
        del best[a, b]
        points = sorted({*points, *found})


def _significant(
    moments: _Moments, offset: int, split: tuple[int, int, int, int], alpha: float
) -> list[int]:
    """The candidate against the rest of its interval (Otava); failing that, the candidate and
    kappa as the two ends of a short bump, which the rest of the interval would dilute."""
    a, tau, kappa, b = (offset + i for i in split)
    if moments.p_value(a, tau, b, chosen=False) <= alpha:
        return [tau - offset]
    if (
        kappa < b
        and max(
            moments.p_value(a, tau, kappa, chosen=False),
            moments.p_value(tau, kappa, b, chosen=False),
        )
        <= alpha
    ):
        return [tau - offset, kappa - offset]
    return []


def _distance_prefix(z: FloatArray) -> FloatArray:
    """S[i, j] = sum of |z_p - z_q| over p < i, q < j, p < q (upper triangle only)."""
    import numpy as np

    upper = np.triu(np.abs(z[:, None] - z[None, :]), k=1)
    prefix = np.zeros((len(z) + 1, len(z) + 1))
    prefix[1:, 1:] = upper.cumsum(axis=0).cumsum(axis=1)
    return prefix


def _best_split(prefix: FloatArray, a: int, b: int, min_size: int) -> tuple[float, int, int]:
    """(max Q, tau, kappa) over a + min_size <= tau and tau + min_size <= kappa <= b."""
    import numpy as np

    tau = np.arange(a + min_size, b - min_size + 1)[:, None]
    kappa = np.arange(a + 2 * min_size, b + 1)[None, :]
    n, m = (tau - a).astype(np.float64), (kappa - tau).astype(np.float64)
    cross = prefix[tau, kappa] - prefix[a, kappa] - prefix[tau, tau] + prefix[a, tau]
    within_x = prefix[tau, tau] - prefix[a, tau]
    with np.errstate(divide="ignore", invalid="ignore"):
        within_y = prefix[kappa, kappa] - prefix[tau, kappa]
        energy = 2 * cross / (n * m) - within_x / (n * (n - 1) / 2) - within_y / (m * (m - 1) / 2)
        q = np.where(m >= min_size, n * m / (n + m) * energy, -np.inf)
    i, j = np.unravel_index(int(np.argmax(q)), q.shape)
    return float(q[i, j]), int(tau[i, 0]), int(kappa[0, j])


def _merge(
    weak: list[int], moments: _Moments, alpha: float, min_magnitude: float, min_size: int
) -> list[int]:
    """Hunter's merge step, after resolving points closer than ``min_size``."""
    n = moments.s1.shape[0] - 1
    points = _space_out(list(weak), moments, min_size, n)
    while points:
        stats = [moments.change_point(*t) for t in _triples(points, n)]
        worst = max(range(len(points)), key=lambda i: stats[i].p_value)
        if stats[worst].p_value <= alpha:
            worst = min(range(len(points)), key=lambda i: abs(stats[i].change_percent))
            if abs(stats[worst].change_percent) >= min_magnitude * 100:
                return points
        del points[worst]
    return points


def _space_out(points: list[int], moments: _Moments, min_size: int, n: int) -> list[int]:
    """Of two points closer than ``min_size``, keep the one more significant on its own."""
    while True:
        gaps = [(points[i + 1] - points[i], i) for i in range(len(points) - 1)]
        close = [i for gap, i in gaps if gap < min_size]
        if not close:
            return points
        i = close[0]
        outer_left = points[i - 1] if i > 0 else 0
        outer_right = points[i + 2] if i + 2 < len(points) else n
        left_p = moments.p_value(outer_left, points[i], outer_right)
        right_p = moments.p_value(outer_left, points[i + 1], outer_right)
        del points[i if left_p > right_p else i + 1]
