"""Is head slower than base? A rank test for significance and a robust shift for effect size.

- Mann-Whitney U (two-sided), via scipy: does head tend to give larger values than base?
- Hodges-Lehmann shift: the median of all pairwise differences head_j - base_i, with the
  distribution-free confidence interval from the Mann-Whitney critical value (normal
  approximation): k = floor(n*m/2 - z(1-alpha/2) * sqrt(n*m*(n+m+1)/12)), interval
  [D(k+1), D(n*m-k)] of the sorted differences (Hollander & Wolfe, "Nonparametric Statistical
  Methods", 3rd ed., 4.3).
A change counts only when it is both significant (p < alpha) and larger than the minimum
effect relative to base's median: noise on a shared runner is often significant but small.
Values are times (lower is better) unless ``higher_is_better``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Literal

# "inconclusive": the machine itself changed speed between the runs by more than the effect
# asked about, and the verdict depends on whether that is corrected (analysis.calibration)
Verdict = Literal["faster", "slower", "no change", "inconclusive"]


@dataclass(frozen=True)
class Comparison:
    base_median: float
    head_median: float
    ratio: float  # head median / base median
    shift: float  # Hodges-Lehmann estimate of head - base
    shift_low: float
    shift_high: float
    p_value: float
    verdict: Verdict


def hodges_lehmann(
    base: list[float], head: list[float], alpha: float
) -> tuple[float, float, float]:
    from scipy import stats

    differences = sorted(h - b for h in head for b in base)
    n, m = len(base), len(head)
    z = float(stats.norm.ppf(1 - alpha / 2))
    k = math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))
    k = min(max(k, 0), len(differences) - 1)
    return (statistics.median(differences), differences[k], differences[len(differences) - 1 - k])


def compare(
    base: list[float],
    head: list[float],
    *,
    min_effect: float = 0.05,
    alpha: float = 0.01,
    higher_is_better: bool = False,
) -> Comparison:
    from scipy import stats

    if len(base) < 3 or len(head) < 3:
        raise ValueError("need at least 3 values on each side to compare")
    if not 0 < alpha < 1 or min_effect < 0:
        raise ValueError("alpha must be between 0 and 1 and the minimum effect not negative")
    base_median, head_median = statistics.median(base), statistics.median(head)
    shift, low, high = hodges_lehmann(base, head, alpha)
    p_value = float(stats.mannwhitneyu(head, base, alternative="two-sided").pvalue)
    relative = shift / abs(base_median) if base_median else math.inf if shift else 0.0
    verdict: Verdict = "no change"
    if p_value < alpha and abs(relative) > min_effect:
        worse = relative > 0 if not higher_is_better else relative < 0
        verdict = "slower" if worse else "faster"
    return Comparison(
        base_median,
        head_median,
        head_median / base_median if base_median else math.inf,
        shift,
        low,
        high,
        p_value,
        verdict,
    )
