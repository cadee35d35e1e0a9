"""Findings that follow the load: errors that grow with it, memory and files that grow with
the requests served, the latency tail, and no bottleneck at all. See analysis/diagnose.py."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from perfeng.analysis.evidence import (
    FD_MIN_GROWTH,
    MEMORY_MIN_GROWTH,
    Run,
    run_seconds,
    window_of,
)
from perfeng.analysis.seconds import (
    MIN_REQUESTS,
    Second,
    linear_fit,
    saturated,
)
from perfeng.model import histogram as hdr
from perfeng.model.findings import Finding
from perfeng.units import human_bytes, human_ms, human_rate, human_seconds

# ---- errors -----------------------------------------------------------------------------------


def _rate(seconds: Sequence[Second]) -> float:
    requests = sum(s.requests for s in seconds)
    return sum(s.errors for s in seconds) / requests if requests else 0.0


def _onset(seconds: list[Second]) -> float | None:
    """The offered load above which errors appear: the split of the seconds (by load) that
    separates error-free from failing seconds best."""
    ordered = sorted(seconds, key=lambda s: s.offered or 0.0)
    best, best_gap = None, 0.0
    for index in range(1, len(ordered)):
        below, above = ordered[:index], ordered[index:]
        if _rate(below) >= 0.01:
            break
        gap = _rate(above) - _rate(below)
        if gap > best_gap:
            best, best_gap = ordered[index].offered, gap
    return best


def errors_rule(run: Run) -> Finding | None:
    """Errors in the planned load (those of the drain, requests cut off when the run ended,
    belong to the saturation that left them queued)."""
    summary = run.document["summary"]
    requests = sum(s.requests for s in run.seconds)
    errors = sum(s.errors for s in run.seconds)
    if errors < 5 or requests == 0 or errors / requests < 0.005:
        return None
    loaded = [s for s in run.seconds if s.requests > 0 and s.offered is not None]
    ordered = sorted(loaded, key=lambda s: s.offered or 0.0)
    half = len(ordered) // 2
    low, high = _rate(ordered[:half]), _rate(ordered[half:])
    growing = half >= 2 and high >= max(3 * low, low + 0.02)
    classes = {k: v for k, v in summary["errors_by_class"].items() if v}
    names = sorted(
        ((n, e["errors"]) for n, e in summary["by_name"].items() if e["errors"]),
        key=lambda item: -item[1],
    )
    detail = (
        "by class: "
        + ", ".join(f"{k} {v:,}" for k, v in classes.items())
        + "; by name: "
        + ", ".join(f"{n} {c:,}" for n, c in names[:3])
    )
    allowed = run.context.error_limit or 0.01
    impact = round(errors / requests * max(high / allowed, 1.0), 4)
    if not growing:
        return Finding(
            id="errors",
            title=f"Errors at every load level: {errors / requests:.1%} of requests failed",
            severity="critical" if errors / requests > allowed else "warning",
            impact=impact,
            name=names[0][0] if len(names) == 1 else None,
            evidence=[
                detail,
                f"error rate {low:.1%} in the less loaded half of the run, "
                f"{high:.1%} in the more loaded half: not caused by load",
            ],
            figures={"error_rate": round(errors / requests, 4)},
            next_step="These fail whatever the load: look at the answers (a wrong URL, "
            "a missing header, a failing check) before looking at capacity.",
        )
    onset = _onset(loaded)
    failing = [s for s in loaded if onset is not None and (s.offered or 0) >= onset]
    in_flight = None
    if onset is not None:
        in_flight = onset * run.base.mean_ms / 1000 if run.open_model else onset
    evidence = [
        detail,
        f"error rate {low:.1%} in the less loaded half of the run, {high:.1%} in the more "
        "loaded half",
    ]
    title = f"Errors under load: {high:.0%} of requests failed at the higher loads"
    if onset is not None and in_flight is not None:
        evidence.append(
            f"errors start at about {run.load_text(onset)}"
            + (
                f"; with {human_ms(run.base.mean_ms)} per request that is about "
                f"{in_flight:.0f} requests in flight (Little's law, N = rate x time): a "
                "concurrency limit"
                if run.open_model
                else ""
            )
        )
        title = (
            f"Errors under load: {high:.0%} failed above about {in_flight:.0f} requests in "
            "flight (a concurrency limit)"
        )
    return Finding(
        id="errors_under_load",
        title=title,
        severity="critical" if high > allowed else "warning",
        impact=impact,
        name=names[0][0] if len(names) == 1 else None,
        evidence=evidence,
        figures={
            "error_rate": round(errors / requests, 4),
            "error_rate_low_load": round(low, 4),
            "error_rate_high_load": round(high, 4),
            "onset_load": round(onset, 1) if onset is not None else None,
            "in_flight_at_onset": round(in_flight, 1) if in_flight is not None else None,
        },
        window_s=window_of(failing) if failing else None,
        next_step=(
            "Find what refuses work past that concurrency (a connection or worker limit, a "
            "rate limiter, a queue bound) and raise it or add instances; if shedding is "
            "intended, size the limit so the error SLO holds at the expected load."
        ),
    )


# ---- memory and file descriptors ------------------------------------------------------------


def growth_rule(run: Run, what: str) -> Finding | None:
    calm = [
        s
        for s in run.seconds
        if getattr(s, "rss_bytes" if what == "rss" else "fds") is not None
        and not saturated(s, run.base)
    ]
    if len(calm) < 5:
        return None
    served, total = [], 0
    counts = {s.time: s.requests for s in run.seconds}
    for s in run.seconds:
        total += s.requests
        counts[s.time] = total
    served = [float(counts[s.time]) for s in calm]
    values = [float(getattr(s, "rss_bytes" if what == "rss" else "fds")) for s in calm]
    times = [s.elapsed_s for s in calm]
    per_request, _, r2 = linear_fit(served, values)
    per_second, _, _ = linear_fit(times, values)
    grown = values[-1] - values[0]
    middle = len(calm) // 2
    late, _, _ = (
        linear_fit(times[middle:], values[middle:]) if len(calm) - middle >= 3 else (0, 0, 0)
    )
    enough = MEMORY_MIN_GROWTH if what == "rss" else FD_MIN_GROWTH
    if grown < enough or r2 < 0.8 or per_second <= 0 or late < 0.4 * per_second:
        return None
    return _growth_finding(run, what, calm, per_request, per_second, grown, r2)


def _growth_finding(
    run: Run,
    what: str,
    calm: list[Second],
    per_request: float,
    per_second: float,
    grown: float,
    r2: float,
) -> Finding:
    last = calm[-1]
    unit: Callable[[float], str] = human_bytes if what == "rss" else _fds_text
    if what == "rss":
        room = float(last.mem_available_bytes or 0)
        label = "memory (RSS)"
    else:
        limits = [
            t.samples[-1].fd_limit
            for t in (run.resources.trees if run.resources else [])
            if t.samples and t.samples[-1].fd_limit
        ]
        room = float(min(limits) - (last.fds or 0)) if limits else 0.0
        label = "open file descriptors"
    exhaust = room / per_second if room > 0 else None
    evidence = [
        f"{label} grew by {unit(grown)} over {human_seconds(last.elapsed_s - calm[0].elapsed_s)}"
        f" of unsaturated load: {unit(per_request)} per request served, {unit(per_second * 60)} "
        f"a minute (least squares, R^2 {r2:.2f})",
    ]
    if exhaust is not None:
        evidence.append(
            f"at this rate the {'memory available' if what == 'rss' else 'fd limit'} "
            f"({unit(room)}) is used up in {human_seconds(exhaust)}"
        )
    critical = exhaust is not None and exhaust < 3600
    return Finding(
        id="memory_growth" if what == "rss" else "fd_growth",
        title=(
            f"Memory growth: {unit(per_request)} kept per request"
            if what == "rss"
            else f"File descriptors growing: {unit(per_request)} per request"
        ),
        severity="critical" if critical else "warning",
        impact=round(min(1.0, run_seconds(run) / exhaust), 4) if exhaust else 0.01,
        evidence=evidence,
        figures={
            "per_request": round(per_request, 2),
            "per_minute": round(per_second * 60, 1),
            "r_squared": round(r2, 3),
            "time_to_exhaust_s": round(exhaust, 0) if exhaust else None,
        },
        window_s=window_of(calm),
        next_step=(
            "Something keeps a reference to per-request data (a cache without a bound, a list "
            "that only grows, a global): take a memory profile (memray or tracemalloc) of a "
            "short run and bound or release it."
            if what == "rss"
            else "Connections or files are opened and not closed: look for missing `close()` "
            "or `with` blocks on the request path."
        ),
    )


def _fds_text(value: float) -> str:
    return f"{value:,.0f} fds" if abs(value) >= 10 else f"{value:.2f} fds"


# ---- tail latency ---------------------------------------------------------------------------


def tail_rule(run: Run) -> Finding | None:
    calm = [s for s in run.seconds if s.requests >= MIN_REQUESTS and not saturated(s, run.base)]
    if len(calm) < 5:
        return None
    histogram = hdr.merged(
        [
            hdr.decode(e["histogram"])
            for e in run.document["summary"]["timeseries"]
            if int(e["time"]) in {s.time for s in calm}
        ]
    )
    p50, p99 = hdr.values_at_ms(histogram, (50.0, 99.0))
    if p50 is None or p99 is None or p50 <= 0:
        return None
    evidence: list[str] = []
    ratio = p99 / p50
    if ratio >= 10 and p99 - p50 >= 20:  # a few ms of VM jitter on a 0.3 ms median is not it
        evidence.append(
            f"p99 {human_ms(p99)} is {ratio:.0f}x the median {human_ms(p50)} while the target "
            "kept up with the load"
        )
    modes = _modes(histogram)
    if modes:
        evidence.append(modes)
    spikes = _periodic_spikes(calm)
    if spikes:
        evidence.append(spikes)
    if not evidence:
        return None
    over = run.context.latency_limit_ms is not None and p99 > run.context.latency_limit_ms
    return Finding(
        id="tail_latency",
        title=f"Tail latency: p99 {human_ms(p99)} against a median of {human_ms(p50)}",
        severity="warning" if over else "info",
        impact=round(0.01 * max(p99 / run.reference_ms(), 1.0), 4),
        evidence=evidence,
        figures={"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "ratio": round(ratio, 1)},
        window_s=window_of(calm),
        next_step=(
            "Look for work that stalls some requests only: garbage collection pauses, a "
            "periodic job, a cache miss path or a slow dependency; regular spikes point to a "
            "timer, two modes to two code paths."
        ),
    )


def _modes(histogram: Any) -> str:
    """Two humps in the latency distribution (log-spaced bins, 10 a decade)."""
    bins: dict[int, int] = {}
    for value_us, count in hdr.recorded(histogram):
        key = math.floor(math.log10(max(value_us, 1)) * 10)
        bins[key] = bins.get(key, 0) + count
    if len(bins) < 3:
        return ""
    low, high = min(bins), max(bins)
    counts = [bins.get(k, 0) for k in range(low, high + 1)]
    smooth = [sum(counts[max(i - 1, 0) : i + 2]) for i in range(len(counts))]
    total = sum(counts)
    peaks = [
        i
        for i in range(len(smooth))
        if smooth[i] > 0
        and smooth[i] >= (smooth[i - 1] if i else 0)
        and smooth[i] > (smooth[i + 1] if i + 1 < len(smooth) else 0)
    ]
    peaks.sort(key=lambda i: -smooth[i])
    if len(peaks) < 2:
        return ""
    first, second = sorted(peaks[:2])
    valley = min(smooth[first : second + 1])
    upper = sum(counts[(first + second) // 2 + 1 :]) / total
    slow_minority = 0.01 <= upper <= 0.5  # a tail is a minority of slow requests
    if (
        second - first < 5
        or valley > 0.25 * min(smooth[first], smooth[second])
        or not slow_minority
    ):
        return ""
    at = [10 ** ((low + i + 0.5) / 10) / 1000 for i in (first, second)]
    return (
        f"latency has two modes: most requests near {human_ms(at[0])}, and {upper:.0%} near "
        f"{human_ms(at[1])}"
    )


def _periodic_spikes(calm: list[Second]) -> str:
    p99s = sorted(s.p99_ms for s in calm if s.p99_ms is not None)
    if not p99s:
        return ""
    typical = statistics.median(p99s)
    spikes = [
        s for s in calm if s.max_ms is not None and s.max_ms >= max(5 * typical, typical + 20)
    ]
    if len(spikes) < 4:
        return ""
    gaps = [b.elapsed_s - a.elapsed_s for a, b in itertools.pairwise(spikes)]
    period = statistics.mean(gaps)
    if period < 2 or statistics.pstdev(gaps) > 0.25 * period:
        return ""
    peak = statistics.median(float(s.max_ms or 0) for s in spikes)
    return (
        f"latency spikes to about {human_ms(peak)} every {human_seconds(period)} "
        f"({len(spikes)} times): periodic work such as garbage collection or a timer"
    )


# ---- nothing found ---------------------------------------------------------------------------


def no_bottleneck(run: Run) -> Finding:
    loads = [s.offered for s in run.seconds if s.offered is not None and s.requests > 0]
    top = max(loads) if loads else None
    peak = max(run.seconds, key=lambda s: s.achieved)
    loaded = [s for s in run.seconds if top is not None and (s.offered or 0) >= 0.8 * top]
    p99s = [s.p99_ms for s in loaded if s.p99_ms is not None]
    evidence = [
        f"the highest load tried was {run.load_text(top)}; throughput reached "
        f"{human_rate(peak.achieved)}",
        f"p99 at the highest loads {human_ms(max(p99s) if p99s else None)}, against "
        f"{human_ms(run.base.p99_ms)} unloaded; errors "
        f"{run.document['summary']['error_rate']:.1%}",
    ]
    cpu = [s.busiest_pct for s in run.seconds if s.busiest_pct is not None]
    if cpu:
        evidence.append(f"the target's busiest process peaked at {max(cpu):.0f}% of a core")
    return Finding(
        id="no_bottleneck",
        title=f"No bottleneck up to {run.load_text(top)}",
        severity="info",
        impact=0.0,
        evidence=evidence,
        figures={
            "highest_load": round(top, 1) if top is not None else None,
            "peak_rps": round(peak.achieved, 1),
        },
        next_step=(
            "Nothing limited the target in the range tried: test higher (perfeng capacity "
            "find, or a higher --rate) to find where it stops keeping up."
        ),
    )


def nothing_measured(document: dict[str, Any]) -> Finding:
    return Finding(
        id="no_bottleneck",
        title="Too little was measured to say anything",
        severity="info",
        impact=0.0,
        evidence=[f"{document['summary']['requests']} requests answered"],
        figures={},
        next_step="Run longer or at a higher load; findings need a few seconds of answers.",
    )
