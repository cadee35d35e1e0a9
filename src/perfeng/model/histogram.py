"""HdrHistogram helpers: one range and precision for every latency histogram perfeng keeps.

Values are recorded in microseconds, from 1 us to 1 h, with 3 significant digits, and encoded
in HdrHistogram's standard compressed base64 form ("HISTF..."), so other HDR tools read them.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99_9", 99.9),
)
STAT_KEYS: tuple[str, ...] = ("min", "mean", *(k for k, _ in PERCENTILES), "max")


def new_histogram() -> Any:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def record_counts(histogram: Any, counts: dict[int, int]) -> None:
    """Add a value -> count mapping (the engine's per-interval accumulator) to a histogram.

    The bucket index is HdrHistogram's own formula (``countsArrayIndex``) inlined: calling
    ``record_value`` costs ~3.6 us a value in pure Python, this ~0.3 us, and the once-a-second
    flush blocks the event loop for that long. A test checks it against ``record_value``.
    """
    if not counts:
        return
    array = histogram.counts
    mask = histogram.sub_bucket_mask
    unit = histogram.unit_magnitude
    half_mag = histogram.sub_bucket_half_count_magnitude
    half = histogram.sub_bucket_half_count
    shift = unit + half_mag + 1
    low, high = min(counts), max(counts)
    if low < LOWEST_US or high > HIGHEST_US:
        counts = _clamped(counts)
        low, high = min(counts), max(counts)
    total = 0
    for value, count in counts.items():
        bucket = (value | mask).bit_length() - shift
        array[((bucket + 1) << half_mag) + (value >> (bucket + unit)) - half] += count
        total += count
    histogram.total_count += total
    histogram.min_value = min(histogram.min_value, low)
    histogram.max_value = max(histogram.max_value, high)


def _clamped(counts: dict[int, int]) -> dict[int, int]:
    clamped: dict[int, int] = {}
    for value, count in counts.items():
        value = min(max(value, LOWEST_US), HIGHEST_US)
        clamped[value] = clamped.get(value, 0) + count
    return clamped


def encode(histogram: Any) -> str:
    encoded: bytes = histogram.encode()
    return encoded.decode("ascii")


def decode(text: str) -> Any:
    try:
        return HdrHistogram.decode(text.encode("ascii"))
    except Exception as exc:  # hdrh raises several unrelated types on bad input
        raise ValueError(f"not an HdrHistogram encoding: {exc}") from None


def merged(histograms: list[Any]) -> Any:
    total = new_histogram()
    for histogram in histograms:
        total.add(histogram)
    return total


def _index_of(histogram: Any, value: int) -> int:
    index: int = histogram._counts_index_for(value)
    return index


def _cumulative(histogram: Any) -> tuple[list[int], int]:
    """Running totals over the populated index range only, and where that range starts."""
    low = _index_of(histogram, max(histogram.min_value, LOWEST_US))
    high = _index_of(histogram, max(histogram.max_value, LOWEST_US))
    return list(itertools.accumulate(histogram.counts[low : high + 1])), low


def _value_at(histogram: Any, cumulative: tuple[list[int], int], percentile: float) -> int:
    """HdrHistogram's getValueAtPercentile, with the walk done by bisect over a cumulative sum
    computed in C: the library's own walk is a Python loop over every bucket (~50 ms)."""
    running, offset = cumulative
    total = running[-1]
    target = max(int(min(percentile, 100.0) * total / 100 + 0.5), 1)
    index = bisect.bisect_left(running, target) + offset
    value: int = histogram.get_value_from_index(index)
    if percentile:
        value = histogram.get_highest_equivalent_value(value)
    return value


def _mean(histogram: Any) -> float:
    """Mean over bucket midpoints, as HdrHistogram's getMean computes it, over the populated
    range only and with the index -> value arithmetic inlined (the library's per-bucket calls
    made a one-second checkpoint block the event loop for tens of milliseconds)."""
    low = _index_of(histogram, max(histogram.min_value, LOWEST_US))
    high = _index_of(histogram, max(histogram.max_value, LOWEST_US))
    unit = histogram.unit_magnitude
    half_mag = histogram.sub_bucket_half_count_magnitude
    half = histogram.sub_bucket_half_count
    total = 0
    for index, count in enumerate(histogram.counts[low : high + 1], low):
        if count:
            bucket = (index >> half_mag) - 1
            sub = (index & (half - 1)) + half
            if bucket < 0:
                sub -= half
                bucket = 0
            # the bucket's lowest value plus half its width (all buckets here are exact)
            total += count * ((sub << (bucket + unit)) + ((1 << (unit + bucket)) >> 1))
    return total / float(histogram.get_total_count())


def stats_ms(histogram: Any) -> dict[str, float | None]:
    """min, mean, percentiles and max in milliseconds; all None when nothing was recorded."""
    if histogram.get_total_count() == 0:
        return dict.fromkeys(STAT_KEYS)
    cumulative = _cumulative(histogram)
    stats: dict[str, float | None] = {
        "min": histogram.get_min_value() / 1000,
        "mean": round(_mean(histogram) / 1000, 4),
    }
    for key, percentile in PERCENTILES:
        stats[key] = _value_at(histogram, cumulative, percentile) / 1000
    stats["max"] = histogram.get_max_value() / 1000
    return stats


def values_at_ms(histogram: Any, percentiles: tuple[float, ...]) -> tuple[float | None, ...]:
    if histogram.get_total_count() == 0:
        return tuple(None for _ in percentiles)
    cumulative = _cumulative(histogram)
    return tuple(_value_at(histogram, cumulative, p) / 1000 for p in percentiles)


def value_at_ms(histogram: Any, percentile: float) -> float | None:
    return values_at_ms(histogram, (percentile,))[0]


def recorded(histogram: Any) -> list[tuple[int, int]]:
    """(value, count) of every populated bucket, lowest first, in microseconds; the value is
    the bucket's highest equivalent value, as HdrHistogram's percentiles report it."""
    if histogram.get_total_count() == 0:
        return []
    low = _index_of(histogram, max(histogram.min_value, LOWEST_US))
    high = _index_of(histogram, max(histogram.max_value, LOWEST_US))
    counts = histogram.counts
    return [
        (histogram.get_highest_equivalent_value(histogram.get_value_from_index(i)), counts[i])
        for i in range(low, high + 1)
        if counts[i]
    ]
