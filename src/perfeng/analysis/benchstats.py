"""Statistics of benchmark values (seconds per call): robust centre, spread and warnings.

Every function is pure and deterministic (the bootstrap is seeded). Sources:

- median confidence interval: bootstrap percentile interval (Efron & Tibshirani, "An
  Introduction to the Bootstrap", 1993, ch. 13);
- MAD, the median absolute deviation; ``MAD * 1.4826`` estimates the standard deviation of
  normal data (Rousseeuw & Croux 1993, "Alternatives to the Median Absolute Deviation");
- outliers by the modified z-score ``M = 0.6745 (x - median) / MAD``, flagged when
  ``|M| > 3.5`` (Iglewicz & Hoaglin, "How to Detect and Handle Outliers", 1993);
- the stability warnings follow pyperf's (spread >= 10 %, raw timing < 1 ms) and hyperfine's
  (first run an outlier: warm-up missing).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MAD_TO_SIGMA = 1.4826  # 1 / Phi^-1(3/4): MAD of normal data times this estimates sigma
Z_FACTOR = 0.6745  # Phi^-1(3/4), the constant of the modified z-score
OUTLIER_Z = 3.5  # Iglewicz & Hoaglin's recommended cut-off
MEAN_AD_FACTOR = 1.253314  # sqrt(pi/2): mean absolute deviation to sigma, used when MAD is 0
SPREAD_LIMIT = 0.10  # pyperf warns when the standard deviation reaches 10 % of the centre
SHORT_RAW_S = 0.001  # pyperf warns when one raw timing is shorter than 1 ms
BUSY_PER_CORE = 0.5  # other runnable processes per CPU above which results get noisy


@dataclass(frozen=True)
class BenchStats:
    """Summary of one benchmark's values. ``mad`` is the unscaled MAD (same unit as values)."""

    n: int
    median: float
    median_ci_low: float
    median_ci_high: float
    confidence: float
    mean: float
    stdev: float  # sample standard deviation (n - 1); 0.0 for a single value
    min: float
    max: float
    mad: float
    outliers: int


def mad(values: Sequence[float], *, scaled: bool = False) -> float:
    """Median absolute deviation, median(|x - median(x)|); ``scaled`` multiplies by 1.4826 so
    it estimates sigma for normal data (Rousseeuw & Croux 1993)."""
    centre = statistics.median(values)
    raw = statistics.median([abs(x - centre) for x in values])
    return raw * MAD_TO_SIGMA if scaled else raw


def modified_z_scores(values: Sequence[float]) -> list[float]:
    """Iglewicz & Hoaglin (1993): M = 0.6745 (x - median) / MAD.

    When MAD is 0 (more than half the values equal) the score is undefined; the mean absolute
    deviation times sqrt(pi/2) stands in for sigma then (the usual fallback, as in IBM SPSS),
    and when that is 0 too every value equals the median and every score is 0."""
    centre = statistics.median(values)
    spread = mad(values)
    if spread > 0:
        return [Z_FACTOR * (x - centre) / spread for x in values]
    mean_ad = statistics.fmean([abs(x - centre) for x in values])
    if mean_ad == 0:
        return [0.0 for _ in values]
    return [(x - centre) / (MEAN_AD_FACTOR * mean_ad) for x in values]


def outlier_flags(values: Sequence[float], *, limit: float = OUTLIER_Z) -> list[bool]:
    """True for each value whose modified z-score exceeds ``limit`` in absolute value."""
    return [abs(z) > limit for z in modified_z_scores(values)]


def bootstrap_median_ci(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median (Efron & Tibshirani 1993, 13.3): resample
    the values with replacement ``resamples`` times and take the (1-c)/2 and (1+c)/2
    quantiles of the resampled medians. Seeded, so the same values give the same interval."""
    import numpy as np

    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    medians = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(len(data), 1))  # bounded memory for long command runs
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        picks = rng.integers(0, len(data), size=(stop - start, len(data)))
        medians[start:stop] = np.median(data[picks], axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(medians, [tail, 1 - tail])
    return float(low), float(high)


def summarize(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> BenchStats:
    """Median with its bootstrap CI, mean, sample standard deviation, min, max, unscaled MAD
    and the number of modified-z outliers (sources in the module docstring)."""
    if not values:
        raise ValueError("no values to summarize")
    low, high = bootstrap_median_ci(values, confidence=confidence, resamples=resamples, seed=seed)
    return BenchStats(
        n=len(values),
        median=statistics.median(values),
        median_ci_low=low,
        median_ci_high=high,
        confidence=confidence,
        mean=statistics.fmean(values),
        stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
        min=min(values),
        max=max(values),
        mad=mad(values),
        outliers=sum(outlier_flags(values)),
    )


def _percent(part: float, whole: float) -> float:
    return part / whole * 100 if whole > 0 else math.inf


def _spread_warning(stats: BenchStats) -> str | None:
    stdev_pct = _percent(stats.stdev, stats.median)
    mad_pct = _percent(stats.mad * MAD_TO_SIGMA, stats.median)
    if stats.n < 2 or max(stdev_pct, mad_pct) < SPREAD_LIMIT * 100:
        return None
    return (
        f"spread is large: stdev {stdev_pct:.0f}% and MAD*1.4826 {mad_pct:.0f}% of the median;"
        " the result may be unstable (try --rigorous on a quieter machine)"
    )


def busy_warnings(
    load_start: float | None, load_end: float | None, cpu_count: int | None
) -> list[str]:
    """Machine busy: 1-minute load average per CPU above ``BUSY_PER_CORE``. At the end one
    runnable process is the benchmark itself, so 1 is taken off the end figure."""
    cores = cpu_count or 1
    found = []
    for when, load, own in (("start", load_start, 0.0), ("end", load_end, 1.0)):
        if load is not None and (load - own) / cores > BUSY_PER_CORE:
            found.append(
                f"machine busy: load average {load:.2f} on {cores} CPUs at the {when}"
                " (other programs compete for the CPU)"
            )
    return found


def stats_warnings(
    stats: BenchStats,
    values: Sequence[float],
    *,
    loops: int = 1,
    load_start: float | None = None,
    load_end: float | None = None,
    cpu_count: int | None = None,
    command: bool = False,
) -> list[str]:
    """One-line warnings about a benchmark's reliability. ``values`` are the timed values in
    the order measured; ``loops`` the calls per raw timing (the raw timing is value * loops);
    ``command`` for whole commands, whose timing cannot be lengthened by looping."""
    found = []
    spread = _spread_warning(stats)
    if spread:
        found.append(spread)
    flags = outlier_flags(values) if values else []
    if len(values) > 2 and flags[0]:
        found.append("the first value is an outlier: add warm-up (--warmups)")
    if stats.outliers:
        found.append(
            f"{stats.outliers} of {stats.n} values are outliers (|modified z-score| > 3.5)"
        )
    shortest_raw = stats.min * loops
    if shortest_raw < SHORT_RAW_S:
        hint = "process start-up dominates" if command else "raise --min-time"
        found.append(
            f"shortest raw timing {shortest_raw * 1e3:.3f} ms is below 1 ms: clock resolution"
            f" and overhead weigh in ({hint})"
        )
    found.extend(busy_warnings(load_start, load_end, cpu_count))
    return found
