"""The percentile spectrum of a latency histogram, as HdrHistogram prints it.

HdrHistogram's percentile distribution (Gil Tene, ``outputPercentileDistribution``) reports
percentiles at levels that halve the remaining distance to 100 % every
``ticks_per_half_distance`` steps: level i is ``100 * (1 - 2 ** (-i / ticks))``. Plotted
against ``1 / (1 - p)`` on a log axis, the tail gets as much room as the body, which is what
makes a stall or a coordinated-omission artefact visible.
"""

from __future__ import annotations

from typing import Any

from perfeng.model import histogram as hdr

TOP = 99.999


def levels(ticks_per_half_distance: int = 5, top: float = TOP) -> list[float]:
    """Percentile levels from 0 up to ``top``, then 100 (the maximum)."""
    if ticks_per_half_distance < 1:
        raise ValueError("ticks_per_half_distance must be at least 1")
    result, i = [], 0
    while True:
        level = 100.0 * (1.0 - 2.0 ** (-i / ticks_per_half_distance))
        if level > top:
            break
        result.append(round(level, 6))
        i += 1
    return [*result, 100.0]


def spectrum(histogram: Any, ticks_per_half_distance: int = 5) -> list[tuple[float, float]]:
    """(percentile, latency in ms) pairs; empty for an empty histogram."""
    wanted = levels(ticks_per_half_distance)
    values = hdr.values_at_ms(histogram, tuple(wanted))
    return [(p, v) for p, v in zip(wanted, values, strict=True) if v is not None]
