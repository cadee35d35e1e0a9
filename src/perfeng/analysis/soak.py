"""What a long run at constant load shows that a short one cannot (docs/patterns.md#soak):
latency that drifts, errors that come in bursts, memory that keeps growing. Pure functions
over the seconds of the run's hold (analysis/seconds.py), each with a known answer on a
synthetic series (tests/unit/test_soak.py).

They look only at the *hold*: the longest stage of the plan whose load is constant, so the
ramps, where latency follows the load by design, say nothing. A soak run (``--pattern soak``)
always gets them; any other run gets them when its hold lasts ``LONG_HOLD_S`` or more.

- Latency drift: the hold is cut into at most ``MAX_BUCKETS`` equal buckets (whole seconds);
  a bucket's value is the median of its seconds' p99 (and p50), robust to a lone slow second.
  The change points of that series come from analysis/changepoint.py (E-divisive means with
  Welch's t-test, as Apache Otava), at alpha 0.001 and a least change of ``DRIFT_MIN``; a
  point where latency rises by that and by ``DRIFT_MIN_MS`` too is a drift.
- Error bursts: with r the hold's error rate, a second of n requests and k errors is in a
  burst when P(X >= k) for X ~ Poisson(n r) is below 0.001 / (seconds in the hold) (a
  Bonferroni bound: fewer than one false burst in a thousand runs of steady errors).
  Flagged seconds at most ``BURST_GAP_S`` apart are one burst. When more than a fifth of the
  seconds are flagged, the errors are a level, not bursts, and errors_under_load speaks.
- Memory growth: least squares of the watched target's RSS against time over the hold;
  the slope as a share of the fitted RSS at the hold's start, per hour, above
  ``MEMORY_PCT_PER_H`` (5 %/h) and at least 512 KiB in all is reported with its R^2 (below
  0.5 the fit explains little and the finding is marked uncertain).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perfeng.analysis.evidence import MEMORY_MIN_GROWTH, Run
from perfeng.analysis.seconds import MIN_REQUESTS, Second, linear_fit
from perfeng.model.findings import Finding
from perfeng.units import human_bytes, human_ms, human_seconds

LONG_HOLD_S = 1800.0  # a hold this long gets the soak checks without --pattern soak
MAX_BUCKETS = 240
DRIFT_MIN = 0.2  # a change point must move the bucket medians by 20 % or more
# ... and by a millisecond: below that, a loaded machine's scheduler moves a median that much
# (0.33 -> 0.44 ms in a 1-minute soak of a loopback server with the load average at 6)
DRIFT_MIN_MS = 1.0
DRIFT_ALPHA = 0.001
BURST_ALPHA = 0.001
BURST_GAP_S = 2.0
BURSTS_AT_MOST = 0.2  # of the hold's seconds; more is a level of errors, not bursts
MEMORY_PCT_PER_H = 5.0
MEMORY_MIN_SAMPLES = 30


def hold_of(document: dict[str, Any]) -> tuple[float, float] | None:
    """[start, end) in seconds of the longest constant stage above 0 of any workload."""
    best: tuple[float, float] | None = None
    for workload in document.get("workloads", []):
        at = 0.0
        for stage in workload.get("plan", {}).get("stages", []):
            duration = float(stage["duration_s"])
            constant = stage["start"] == stage["end"] and float(stage["end"]) > 0
            if constant and (best is None or duration > best[1] - best[0]):
                best = (at, at + duration)
            at += duration
    return best


def is_soak(document: dict[str, Any]) -> bool:
    return any(
        w.get("type") == "pattern" and w.get("pattern") == "soak"
        for w in document.get("workloads", [])
    )


def held(seconds: Sequence[Second], hold: tuple[float, float]) -> list[Second]:
    return [s for s in seconds if hold[0] <= s.elapsed_s and s.elapsed_s + 0.5 < hold[1]]


# ---- latency drift --------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A rise of a latency percentile within the hold."""

    percentile: str  # "p99" or "p50"
    at_s: float  # seconds from the start of the run
    before_ms: float
    after_ms: float
    change_percent: float
    p_value: float


def buckets(seconds: Sequence[Second], percentile: str) -> list[tuple[float, float]]:
    """(start s, median of the seconds' percentile) for at most MAX_BUCKETS buckets."""
    usable = [s for s in seconds if s.requests >= MIN_REQUESTS and _ms(s, percentile) is not None]
    if not usable:
        return []
    width = max(1, math.ceil(len(usable) / MAX_BUCKETS))
    out = []
    for start in range(0, len(usable) - width + 1, width):
        part = usable[start : start + width]
        out.append((part[0].elapsed_s, statistics.median(_ms(s, percentile) or 0.0 for s in part)))
    return out


def _ms(second: Second, percentile: str) -> float | None:
    return second.p99_ms if percentile == "p99" else second.p50_ms


def latency_drift(seconds: Sequence[Second]) -> list[Drift]:
    """The rises of p99 and p50 within the hold, earliest first."""
    from perfeng.analysis.changepoint import detect

    drifts = []
    for percentile in ("p99", "p50"):
        series = buckets(seconds, percentile)
        values = [value for _, value in series]
        for point in detect(values, alpha=DRIFT_ALPHA, min_magnitude=DRIFT_MIN):
            if point.mean_after - point.mean_before >= DRIFT_MIN_MS:
                drifts.append(
                    Drift(
                        percentile,
                        series[point.index][0],
                        point.mean_before,
                        point.mean_after,
                        point.change_percent,
                        point.p_value,
                    )
                )
    return sorted(drifts, key=lambda d: (d.at_s, d.percentile != "p99"))


# ---- error bursts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    start_s: float
    end_s: float
    requests: int
    errors: int


def error_bursts(seconds: Sequence[Second]) -> tuple[list[Burst], float]:
    """The bursts of errors in the hold and the hold's error rate (module docstring)."""
    requests = sum(s.requests for s in seconds)
    errors = sum(s.errors for s in seconds)
    if errors == 0 or requests == 0:
        return [], 0.0
    rate = errors / requests
    bound = BURST_ALPHA / max(len(seconds), 1)
    candidates = [s for s in seconds if s.errors >= 3]
    tails = _tails([s.errors for s in candidates], [s.requests * rate for s in candidates])
    flagged = [s for s, tail in zip(candidates, tails, strict=True) if tail < bound]
    if len(flagged) > BURSTS_AT_MOST * len(seconds):
        return [], rate
    bursts: list[Burst] = []
    for second in flagged:
        last = bursts[-1] if bursts else None
        if last is not None and second.elapsed_s - last.end_s <= BURST_GAP_S:
            bursts[-1] = Burst(
                last.start_s,
                second.elapsed_s + second.duration_s,
                last.requests + second.requests,
                last.errors + second.errors,
            )
        else:
            end = second.elapsed_s + second.duration_s
            bursts.append(Burst(second.elapsed_s, end, second.requests, second.errors))
    return bursts, rate


def _tails(counts: list[int], means: list[float]) -> list[float]:
    """P(X >= k) for X ~ Poisson(mean), for each (k, mean); at once, as a day has 86,400."""
    if not counts:
        return []
    import numpy as np
    from scipy.stats import poisson

    tails = poisson.sf(np.asarray(counts) - 1, np.asarray(means))
    return [float(t) for t in tails]


# ---- memory ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryTrend:
    start_bytes: float  # the fit at the hold's first sample
    per_hour_bytes: float
    percent_per_hour: float
    r_squared: float
    samples: int
    span_s: float
    grown_bytes: float


def memory_trend(seconds: Sequence[Second]) -> MemoryTrend | None:
    """RSS against time by least squares; None with too few samples (module docstring)."""
    watched = [s for s in seconds if s.rss_bytes is not None]
    if len(watched) < MEMORY_MIN_SAMPLES:
        return None
    times = [s.elapsed_s for s in watched]
    values = [float(s.rss_bytes or 0) for s in watched]
    slope, intercept, r2 = linear_fit(times, values)
    start = intercept + slope * times[0]
    if start <= 0:
        return None
    span = times[-1] - times[0]
    return MemoryTrend(
        start_bytes=start,
        per_hour_bytes=slope * 3600,
        percent_per_hour=slope * 3600 / start * 100,
        r_squared=r2,
        samples=len(watched),
        span_s=span,
        grown_bytes=slope * span,
    )


# ---- findings -------------------------------------------------------------------------------


def soak_rules(run: Run, found: Sequence[str]) -> list[Finding | None]:
    """The three soak findings of a soak run or of a run with a long hold; none otherwise.
    ``found``: the ids already found, so memory growth is not reported twice."""
    hold = hold_of(run.document)
    if hold is None or not (is_soak(run.document) or hold[1] - hold[0] >= LONG_HOLD_S):
        return []
    seconds = held(run.seconds, hold)
    if not seconds:
        return []
    requests = sum(s.requests for s in seconds)
    return [
        drift_finding(latency_drift(seconds), hold),
        burst_finding(*error_bursts(seconds), requests),
        None if "memory_growth" in found else memory_finding(memory_trend(seconds), seconds),
    ]


def drift_finding(drifts: list[Drift], hold: tuple[float, float]) -> Finding | None:
    if not drifts:
        return None
    first = drifts[0]
    evidence = [
        f"{d.percentile} went from {human_ms(d.before_ms)} to {human_ms(d.after_ms)} "
        f"({d.change_percent:+.0f} %) {human_seconds(d.at_s - hold[0])} into the hold, at the "
        f"same load (E-divisive change point, p = {d.p_value:.1g})"
        for d in drifts[:3]
    ]
    return Finding(
        id="latency_drift",
        title=f"Latency drifts up under constant load: {first.percentile} "
        f"{first.change_percent:+.0f} % after {human_seconds(first.at_s - hold[0])}",
        severity="warning",
        impact=round(min(1.0, (hold[1] - first.at_s) / (hold[1] - hold[0])), 4),
        evidence=evidence,
        figures={
            "percentile": first.percentile,
            "at_s": round(first.at_s, 1),
            "before_ms": round(first.before_ms, 3),
            "after_ms": round(first.after_ms, 3),
            "change_percent": round(first.change_percent, 1),
            "p_value": first.p_value,
        },
        window_s=[round(first.at_s, 1), round(hold[1], 1)],
        next_step=(
            "Latency that rises at the same load means state that grows: a queue, a cache or "
            "table without a bound, a heap the collector works harder on, a pool that leaks. "
            "Watch the target (--target-pid) to see whether memory or open files move at the "
            "same time, and compare a profile from before the change with one after."
        ),
    )


def burst_finding(bursts: list[Burst], rate: float, requests: int) -> Finding | None:
    if not bursts:
        return None
    burst_errors = sum(b.errors for b in bursts)
    evidence = [
        f"{human_seconds(b.start_s)} to {human_seconds(b.end_s)}: {b.errors:,} errors of "
        f"{b.requests:,} requests ({b.errors / max(b.requests, 1):.1%})"
        for b in bursts[:3]
    ]
    evidence.append(
        f"against {rate:.2%} over the whole hold; {len(bursts)} burst(s) hold "
        f"{burst_errors:,} errors (a second is in a burst when Poisson odds of its errors "
        "at the hold's rate are below 0.001 over all its seconds)"
    )
    return Finding(
        id="error_bursts",
        title=f"Errors come in bursts: {len(bursts)} under constant load",
        severity="warning",
        impact=round(burst_errors / max(requests, 1), 4),
        evidence=evidence,
        figures={
            "bursts": len(bursts),
            "burst_errors": burst_errors,
            "hold_error_rate": round(rate, 5),
            "first_at_s": round(bursts[0].start_s, 1),
        },
        window_s=[round(bursts[0].start_s, 1), round(bursts[-1].end_s, 1)],
        next_step=(
            "Errors in bursts at a steady load point at something periodic: garbage "
            "collection, log rotation, cache expiry, connections recycled by a pool or a load "
            "balancer, a scheduled job. Line the burst times up with the target's logs."
        ),
    )


def memory_finding(trend: MemoryTrend | None, seconds: Sequence[Second]) -> Finding | None:
    if (
        trend is None
        or trend.percent_per_hour <= MEMORY_PCT_PER_H
        or trend.grown_bytes < MEMORY_MIN_GROWTH
    ):
        return None
    available = next(
        (s.mem_available_bytes for s in reversed(seconds) if s.mem_available_bytes), None
    )
    exhaust_s = available / trend.per_hour_bytes * 3600 if available else None
    evidence = [
        f"RSS grew {human_bytes(trend.per_hour_bytes)} an hour ({trend.percent_per_hour:+.1f} %/h"
        f" of {human_bytes(trend.start_bytes)}) over {human_seconds(trend.span_s)} of constant "
        f"load (least squares over {trend.samples:,} samples, R^2 {trend.r_squared:.2f})"
    ]
    if trend.r_squared < 0.5:
        evidence.append("the straight line explains little of the series: steps or swings")
    if exhaust_s is not None:
        evidence.append(
            f"at this rate the memory available ({human_bytes(available or 0)}) is used up in "
            f"{human_seconds(exhaust_s)}"
        )
    return Finding(
        id="memory_trend",
        title=f"Memory grows {trend.percent_per_hour:.1f} % an hour under constant load",
        severity="critical" if exhaust_s is not None and exhaust_s < 24 * 3600 else "warning",
        certainty="high" if trend.r_squared >= 0.5 else "low",
        impact=round(min(1.0, trend.percent_per_hour / 100), 4),
        evidence=evidence,
        figures={
            "percent_per_hour": round(trend.percent_per_hour, 2),
            "bytes_per_hour": round(trend.per_hour_bytes),
            "r_squared": round(trend.r_squared, 3),
            "samples": trend.samples,
            "time_to_exhaust_s": round(exhaust_s) if exhaust_s else None,
        },
        window_s=[round(seconds[0].elapsed_s, 1), round(seconds[-1].elapsed_s, 1)],
        next_step=(
            "Memory that grows at a constant load is kept per request or per time: a cache "
            "without a bound, a list that only grows, connections or sessions never freed. "
            "Take two heap snapshots an hour apart (tracemalloc, memray) and compare them."
        ),
    )
