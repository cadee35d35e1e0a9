"""Exact merge of run results: histograms add, counters add, time series align on wall seconds.

This is what distributed runs build on: each generator writes its own result and the merged
document is what one generator with all their traffic would have written.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from perfeng.model import histogram as hdr
from perfeng.model.recorder import Interval, NameStats
from perfeng.model.result import (
    FORMAT,
    FORMAT_VERSION,
    Totals,
    summarize,
    totals_from_document,
)


def _add_names(into: dict[str, NameStats], names: dict[str, NameStats]) -> None:
    for name, stats in names.items():
        total = into.setdefault(name, NameStats())
        total.requests += stats.requests
        total.errors += stats.errors
        total.bytes_sent += stats.bytes_sent
        total.bytes_received += stats.bytes_received
        for error, count in stats.errors_by_class.items():
            total.errors_by_class[error] = total.errors_by_class.get(error, 0) + count
        total.latency.add(stats.latency)
        total.service.add(stats.service)
        for phase, histogram in stats.phases.items():
            if phase in total.phases:
                total.phases[phase].add(histogram)
            else:
                total.phases[phase] = hdr.merged([histogram])


def _sum_optional(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else a + b


def _add_interval(a: Interval, b: Interval) -> Interval:
    return Interval(
        time=a.time,
        elapsed_s=a.elapsed_s,
        duration_s=max(a.duration_s, b.duration_s),
        requests=a.requests + b.requests,
        errors=a.errors + b.errors,
        dropped=a.dropped + b.dropped,
        target_rate=_sum_optional(a.target_rate, b.target_rate),
        in_flight=a.in_flight + b.in_flight,
        latency=hdr.merged([a.latency, b.latency]),
        errors_by_class={
            k: a.errors_by_class.get(k, 0) + b.errors_by_class.get(k, 0)
            for k in sorted({*a.errors_by_class, *b.errors_by_class})
        },
    )


def _one_after_another(a: Interval, b: Interval) -> Interval:
    """Two runs that shared a wall second without overlapping (one ended, the next began):
    their slices cover different parts of it, so rates are time-weighted, not added."""
    added = _add_interval(a, b)
    duration = min(a.duration_s + b.duration_s, 1.0)
    rates = [
        (r, d)
        for r, d in ((a.target_rate, a.duration_s), (b.target_rate, b.duration_s))
        if r is not None
    ]
    target = sum(r * d for r, d in rates) / sum(d for _, d in rates) if rates else None
    return replace(
        added,
        duration_s=round(duration, 6),
        in_flight=b.in_flight,
        target_rate=None if target is None else round(target, 3),
    )


def merge_totals(parts: list[Totals]) -> Totals:
    """Concurrent parts (several generators) add up second by second; parts that ran one
    after another (a run in steps) are laid end to end."""
    start = min(p.start_s for p in parts)
    names: dict[str, NameStats] = {}
    by_time: dict[int, tuple[Interval, list[tuple[float, float]]]] = {}
    for part in parts:
        _add_names(names, part.names)
        span = (part.start_s, part.end_s)
        for interval in part.intervals:
            shifted = replace(interval, elapsed_s=round(max(interval.time, start) - start, 6))
            known = by_time.get(interval.time)
            if known is None:
                by_time[interval.time] = (shifted, [span])
                continue
            seen, spans = known
            overlaps = any(s < span[1] and span[0] < e for s, e in spans)
            merged = _add_interval(seen, shifted) if overlaps else _one_after_another(seen, shifted)
            by_time[interval.time] = (merged, [*spans, span])
    return Totals(
        start_s=start,
        end_s=max(p.end_s for p in parts),
        names=names,
        intervals=tuple(by_time[t][0] for t in sorted(by_time)),
        dropped=sum(p.dropped for p in parts),
    )


def merge_documents(documents: list[dict[str, Any]], metadata: dict[str, Any]) -> dict[str, Any]:
    """One result from several; thresholds are not carried over (re-evaluate them)."""
    totals = merge_totals([totals_from_document(d) for d in documents])
    summary = summarize(totals)
    sources = [d["metadata"] for d in documents]
    meta = {**metadata, "start_epoch_s": totals.start_s, "end_epoch_s": totals.end_s}
    meta["merged_from"] = sources
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": meta,
        "workloads": [w for d in documents for w in d.get("workloads", [])],
        "generator": {"merged": [d.get("generator", {}) for d in documents]},
        "transfer": {
            key: sum(int(d.get("transfer", {}).get(key, 0)) for d in documents)
            for key in ("bytes_sent", "bytes_received")
        },
        "summary": summary,
    }
