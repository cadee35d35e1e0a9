"""Counted metrics (``perfeng bench --instructions``): estimated cycles, determinism, change.

- **Estimated cycles** from callgrind's simulated caches, the formula iai-callgrind and
  CodSpeed publish (iai-callgrind's README, "Estimated Cycles"; CodSpeed docs, "CPU
  simulation"), itself from callgrind's own ``--cache-sim`` documentation:
  L1 hits = Ir + Dr + Dw - (I1mr + D1mr + D1mw);
  LL hits = (I1mr + D1mr + D1mw) - (ILmr + DLmr + DLmw);
  RAM hits = ILmr + DLmr + DLmw;
  est_cycles = L1 hits + 5 LL hits + 35 RAM hits.
- **Determinism**: a benchmark is deterministic when its repetitions agree within 0.1 %
  (range / median). Counts of the same code in fresh processes normally agree exactly.
- **Change**: there is no noise to test against, so a relative change of the medians above
  the minimum effect (1 % by default) is a change. For a benchmark that is not deterministic
  the change must also exceed the two sides' spreads added up (their ranges, relative to each
  median): the medians are compared with their spread, not with a p-value.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

COUNTED_UNITS = ("instructions", "est_cycles")
DEFAULT_MIN_EFFECT = 0.01
DETERMINISTIC_SPREAD = 0.001  # 0.1 %
LL_HIT_CYCLES = 5
RAM_HIT_CYCLES = 35

Verdict = Literal["faster", "slower", "no change"]


def estimated_cycles(events: Mapping[str, float]) -> float:
    """L1 hits + 5 x LL hits + 35 x RAM hits (formula and sources in the module docstring)."""
    l1_misses = events["I1mr"] + events["D1mr"] + events["D1mw"]
    ram = events["ILmr"] + events["DLmr"] + events["DLmw"]
    l1_hits = events["Ir"] + events["Dr"] + events["Dw"] - l1_misses
    return l1_hits + LL_HIT_CYCLES * (l1_misses - ram) + RAM_HIT_CYCLES * ram


def spread(values: Sequence[float]) -> float:
    """(max - min) / median: 0 for identical repetitions."""
    centre = statistics.median(values)
    if centre == 0:
        return 0.0 if max(values) == min(values) else math.inf
    return (max(values) - min(values)) / abs(centre)


def determinism_warning(values: Sequence[float], unit: str) -> str | None:
    """A one-line warning when the repetitions differ by more than 0.1 %."""
    if len(values) < 2 or (found := spread(values)) <= DETERMINISTIC_SPREAD:
        return None
    return (
        f"not deterministic: {unit} differ by {found:.2%} between repetitions (above 0.1 %);"
        " compared by medians and their spread (threads, randomness or a clock in the code?)"
    )


@dataclass(frozen=True)
class CountedComparison:
    base_median: float
    head_median: float
    ratio: float  # head / base
    change: float  # ratio - 1
    spread: float  # base's spread + head's spread (0 when both are deterministic)
    deterministic: bool
    verdict: Verdict


def compare_counts(
    base: Sequence[float], head: Sequence[float], *, min_effect: float = DEFAULT_MIN_EFFECT
) -> CountedComparison:
    """Is head's count above base's by more than ``min_effect`` (and, when not deterministic,
    by more than the spreads)? Lower is better: counts are costs."""
    if not base or not head:
        raise ValueError("need at least 1 value on each side to compare")
    if min_effect < 0:
        raise ValueError("the minimum effect must not be negative")
    base_median, head_median = statistics.median(base), statistics.median(head)
    ratio = head_median / base_median if base_median else math.inf
    change = ratio - 1 if base_median else (0.0 if head_median == 0 else math.inf)
    spreads = spread(base), spread(head)
    deterministic = max(spreads) <= DETERMINISTIC_SPREAD
    noise = 0.0 if deterministic else sum(spreads)
    verdict: Verdict = "no change"
    if abs(change) > max(min_effect, noise):
        verdict = "slower" if change > 0 else "faster"
    return CountedComparison(base_median, head_median, ratio, change, noise, deterministic, verdict)
