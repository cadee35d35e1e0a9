"""The run second by second: the latency time series joined with the resource samples of the
same wall-clock second, and the few measurements the findings are built from (the unloaded
baseline, saturated seconds, the throughput limit). Pure functions over a result document.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perfeng.model import histogram as hdr
from perfeng.model.watch import Resources

MIN_REQUESTS = 3  # a second with fewer answers says nothing about latency


@dataclass(frozen=True)
class Second:
    time: int
    elapsed_s: float
    duration_s: float
    offered: float | None  # open model: the target rate; closed: requests in flight
    achieved: float
    requests: int
    errors: int
    dropped: int
    in_flight: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    cpu_pct: float | None = None  # the watched trees, % of one core
    busiest_pct: float | None = None  # the busiest single watched process
    rss_bytes: int | None = None
    fds: int | None = None  # open files not explained by live connections (see _tree_totals)
    system_cpu_pct: float | None = None
    psi_cpu_some: float | None = None  # % of the second some runnable task waited for a CPU
    generator_cpu_pct: float | None = None
    mem_available_bytes: int | None = None


def _mean_ms(entry: dict[str, Any]) -> float | None:
    try:
        stats = hdr.stats_ms(hdr.decode(entry["histogram"]))
    except (KeyError, ValueError, TypeError):
        return None
    mean = stats.get("mean")
    return float(mean) if mean is not None else None


def _tree_totals(resources: Resources) -> dict[int, dict[str, float | int | None]]:
    """Per second, the watched trees added up (CPU and memory) and the busiest process."""
    totals: dict[int, dict[str, float | int | None]] = {}
    for tree in resources.trees:
        for sample in tree.samples:
            row = totals.setdefault(
                sample.time, {"cpu": None, "busiest": None, "rss": None, "fds": None}
            )
            row["cpu"] = _add(row["cpu"], sample.cpu_pct)
            row["rss"] = _add(row["rss"], sample.rss_bytes)
            # Connections come and go with the load (a ramp opens more): count the files that
            # are not live connections, where a leak of files or half-closed sockets shows.
            live = (sample.tcp or {}).get("ESTABLISHED", 0)
            row["fds"] = _add(row["fds"], None if sample.fds is None else sample.fds - live)
            busiest = row["busiest"]
            if sample.busiest_pct is not None:
                row["busiest"] = max(float(busiest or 0.0), sample.busiest_pct)
    return totals


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else a + b


def plan_end_s(document: dict[str, Any]) -> float | None:
    """When the planned load ended (seconds from the start); later seconds are the drain."""
    ends = [
        float(w["plan"]["duration_s"])
        for w in document.get("workloads", [])
        if isinstance(w, dict) and isinstance(w.get("plan"), dict) and "duration_s" in w["plan"]
    ]
    return max(ends) if ends else None


def join(document: dict[str, Any], resources: Resources | None) -> list[Second]:
    """The seconds of the planned load (the drain after it is left out: its arrivals have
    stopped, so its latency and errors say nothing about a load level)."""
    end = plan_end_s(document)
    series = [
        e
        for e in document["summary"]["timeseries"]
        if end is None or float(e["elapsed_s"]) < end - 0.5
    ]
    closed = document.get("model") == "closed"
    trees = _tree_totals(resources) if resources else {}
    system = {s.time: s for s in resources.system} if resources else {}
    seconds = []
    for entry in series:
        time = int(entry["time"])
        tree, machine = trees.get(time, {}), system.get(time)
        offered = float(entry["in_flight"]) if closed else entry.get("target_rate")
        seconds.append(
            Second(
                time=time,
                elapsed_s=float(entry["elapsed_s"]),
                duration_s=float(entry["duration_s"]),
                offered=offered,
                achieved=float(entry["achieved_rate"]),
                requests=int(entry["requests"]),
                errors=int(entry["errors"]),
                dropped=int(entry["dropped"]),
                in_flight=int(entry.get("in_flight", 0)),
                p50_ms=entry.get("p50_ms"),
                p99_ms=entry.get("p99_ms"),
                max_ms=entry.get("max_ms"),
                mean_ms=_mean_ms(entry),
                cpu_pct=tree.get("cpu"),
                busiest_pct=tree.get("busiest"),
                rss_bytes=_int(tree.get("rss")),
                fds=_int(tree.get("fds")),
                system_cpu_pct=machine.cpu_pct if machine else None,
                psi_cpu_some=machine.psi_cpu_some if machine else None,
                generator_cpu_pct=machine.generator_cpu_pct if machine else None,
                mem_available_bytes=machine.mem_available_bytes if machine else None,
            )
        )
    return seconds


def _int(value: float | int | None) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class Baseline:
    """Latency with the target unloaded: from a separate low-rate run (``perfeng assess``)
    or, failing that, from the least-loaded seconds of this run."""

    p50_ms: float
    p99_ms: float
    mean_ms: float  # the time a request takes unloaded, for Little's law: the median (below)
    source: str  # "unloaded run" or "lowest-load seconds"


def baseline_of(seconds: Sequence[Second]) -> Baseline | None:
    usable = [
        s
        for s in seconds
        if s.requests >= MIN_REQUESTS
        and s.p50_ms is not None
        and (s.offered or 0) > 0
        and s.duration_s >= 0.2  # a first slice of a few milliseconds is the warm-up
    ]
    if not usable:
        return None
    loaded = sorted(usable, key=lambda s: (s.offered or 0.0, s.elapsed_s))
    low = loaded[: max(2, len(loaded) // 5)]
    # The lowest median among the least-loaded seconds: in a short ramp some of them may
    # already queue, which only ever raises latency. A median, not a mean, for Little's law:
    # on a shared machine a few stalls move a lightly loaded second's mean by tens of percent.
    p50 = min(float(s.p50_ms or 0.0) for s in low)
    return Baseline(
        p50_ms=p50,
        p99_ms=statistics.median(float(s.p99_ms or 0.0) for s in low),
        mean_ms=p50,
        source="lowest-load seconds",
    )


def stalled(second: Second) -> bool:
    """Load was offered for most of a second and not one answer came back."""
    return second.requests == 0 and (second.offered or 0) >= 5 and second.duration_s >= 0.5


def saturated(second: Second, base: Baseline) -> bool:
    """The target is falling behind: arrivals dropped, answers short of the offered rate, or
    requests queueing (median latency at least twice the unloaded one, and 1 ms more)."""
    if second.requests < MIN_REQUESTS and second.dropped == 0:
        return False
    if second.dropped > 0:
        return True
    behind = (
        second.offered is not None
        and second.offered >= 5
        and (second.achieved < 0.85 * second.offered)
    )
    queueing = second.p50_ms is not None and second.p50_ms >= max(
        2 * base.p50_ms, base.p50_ms + 1.0
    )
    return bool(behind or queueing)


@dataclass(frozen=True)
class Limit:
    """Throughput that stopped following the offered load."""

    seconds: tuple[Second, ...]  # the saturated ones
    rate: float  # median achieved rate while saturated
    offered: float  # median offered while saturated (open model)
    onset_offered: float | None  # the lowest offered rate at which saturation set in


def throughput_limit(
    seconds: Sequence[Second], base: Baseline, *, open_model: bool
) -> Limit | None:
    """Saturated for at least 2 seconds while offered more than it answered (open model) or
    while its throughput stayed flat as latency grew (closed model)."""
    hit = tuple(s for s in seconds if saturated(s, base) and not stalled(s))
    if len(hit) < 2:
        return None
    rate = statistics.median(s.achieved for s in hit)
    if rate <= 0:
        return None
    if open_model:
        offered = statistics.median(float(s.offered or 0.0) for s in hit)
        if offered < 1.1 * rate:
            return None
        onset = min(float(s.offered or 0.0) for s in hit)
        return Limit(hit, rate, offered, onset)
    spread = max(s.achieved for s in hit) - min(s.achieved for s in hit)
    if rate <= 0 or spread > 0.5 * rate:
        return None
    return Limit(hit, rate, statistics.median(float(s.offered or 0) for s in hit), None)


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Ordinary least squares y = a + b x: (slope b, intercept a, R squared)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    if sxx == 0:
        return 0.0, mean_y, 0.0
    slope = sxy / sxx
    r2 = (sxy * sxy) / (sxx * syy) if syy > 0 else 0.0
    return slope, mean_y - slope * mean_x, r2
