"""The run result document: building it from measurements, reading it back, merging runs.

The format is documented in docs/result-format.md. Documents are plain JSON-able dicts built
once and never changed afterwards; every one carries ``format_version`` and its environment.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfeng.model import histogram as hdr
from perfeng.model.recorder import PHASES, Interval, Measurements, NameStats
from perfeng.model.sample import ERROR_CLASSES

FORMAT = "perfeng-run"
FORMAT_VERSION = 1


class DocumentError(ValueError):
    """A file that is not a usable perfeng result."""


@dataclass(frozen=True)
class Totals:
    """The mergeable core of a run: what ``summary`` is computed from."""

    start_s: float
    end_s: float
    names: dict[str, NameStats]
    intervals: tuple[Interval, ...]
    dropped: int


def totals_of(measurements: Measurements) -> Totals:
    return Totals(
        start_s=measurements.wall_start_s,
        end_s=measurements.wall_end_s,
        names=measurements.names,
        intervals=measurements.intervals,
        dropped=measurements.dropped,
    )


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 3) if seconds > 0 else 0.0


def _errors_by_class(names: dict[str, NameStats]) -> dict[str, int]:
    totals = dict.fromkeys(ERROR_CLASSES, 0)
    for stats in names.values():
        for error, count in stats.errors_by_class.items():
            totals[error] = totals.get(error, 0) + count
    return totals


def _name_summary(stats: NameStats, seconds: float) -> dict[str, Any]:
    return {
        "requests": stats.requests,
        "errors": stats.errors,
        "error_rate": round(stats.errors / stats.requests, 6) if stats.requests else 0.0,
        "throughput_rps": _rate(stats.requests, seconds),
        "latency_ms": hdr.stats_ms(stats.latency),
        "service_time_ms": hdr.stats_ms(stats.service),
        "errors_by_class": {k: v for k, v in sorted(stats.errors_by_class.items())},
        "bytes_sent": stats.bytes_sent,
        "bytes_received": stats.bytes_received,
        "phases_ms": _phases_ms(stats.phases),
    }


def _phases_ms(phases: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """The statistics of each phase that happened, in the order a request goes through them."""
    return {p: hdr.stats_ms(phases[p]) for p in PHASES if p in phases}


def _all_phases(names: dict[str, NameStats]) -> dict[str, Any]:
    return {
        phase: hdr.merged([s.phases[phase] for s in names.values() if phase in s.phases])
        for phase in PHASES
        if any(phase in s.phases for s in names.values())
    }


def _encoded(phases: dict[str, Any]) -> dict[str, str]:
    return {phase: hdr.encode(phases[phase]) for phase in PHASES if phase in phases}


def _interval_entry(interval: Interval) -> dict[str, Any]:
    p50, p90, p99, top = hdr.values_at_ms(interval.latency, (50.0, 90.0, 99.0, 100.0))
    return {
        "time": interval.time,
        "elapsed_s": interval.elapsed_s,
        "duration_s": interval.duration_s,
        "target_rate": interval.target_rate,
        "achieved_rate": _rate(interval.requests, interval.duration_s),
        "requests": interval.requests,
        "errors": interval.errors,
        "dropped": interval.dropped,
        "errors_by_class": dict(sorted(interval.errors_by_class.items())),
        "p50_ms": p50,
        "p90_ms": p90,
        "p99_ms": p99,
        "max_ms": top,
        "in_flight": interval.in_flight,
        "histogram": hdr.encode(interval.latency),
    }


def _cached_entry(interval: Interval, cache: dict[int, dict[str, Any]] | None) -> dict[str, Any]:
    if cache is None:
        return _interval_entry(interval)
    entry = cache.get(id(interval))
    if entry is None or entry["time"] != interval.time:
        entry = cache[id(interval)] = _interval_entry(interval)
    return entry


def summarize(totals: Totals, cache: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``summary`` section (without ``thresholds``, which the gates add).

    ``cache`` keeps the time-series entries of intervals already rendered (they never change),
    so repeated checkpoints of a long run cost only the new seconds."""
    seconds = max(totals.end_s - totals.start_s, 0.0)
    names = totals.names
    latency = hdr.merged([s.latency for s in names.values()])
    service = hdr.merged([s.service for s in names.values()])
    requests = sum(s.requests for s in names.values())
    errors = sum(s.errors for s in names.values())
    phases = _all_phases(names)
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": round(errors / requests, 6) if requests else 0.0,
        "dropped": totals.dropped,
        "throughput_rps": _rate(requests, seconds),
        "latency_ms": hdr.stats_ms(latency),
        "service_time_ms": hdr.stats_ms(service),
        "phases_ms": _phases_ms(phases),
        "by_name": {name: _name_summary(names[name], seconds) for name in sorted(names)},
        "errors_by_class": _errors_by_class(names),
        "timeseries": [_cached_entry(i, cache) for i in totals.intervals],
        "thresholds": [],
        "histograms": {
            "unit": "us",
            "all": {
                "latency": hdr.encode(latency),
                "service_time": hdr.encode(service),
                "phases": _encoded(phases),
            },
            "by_name": {
                name: {
                    "latency": hdr.encode(names[name].latency),
                    "service_time": hdr.encode(names[name].service),
                    "phases": _encoded(names[name].phases),
                }
                for name in sorted(names)
            },
        },
    }


def build_document(
    *,
    metadata: dict[str, Any],
    workloads: list[dict[str, Any]],
    measurements: Measurements,
    thresholds: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
    cache: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    totals = totals_of(measurements)
    summary = summarize(totals, cache)
    summary["thresholds"] = thresholds
    transfer = {
        "bytes_sent": sum(s.bytes_sent for s in totals.names.values()),
        "bytes_received": sum(s.bytes_received for s in totals.names.values()),
    }
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": metadata,
        "workloads": workloads,
        "generator": measurements.generator,
        "transfer": transfer,
    }
    document.update(extra or {})
    document["summary"] = summary
    return document


# ---- reading back ---------------------------------------------------------------------------


def load_document(path: str | Path) -> dict[str, Any]:
    """Read and check a run result; ``DocumentError`` with a one-line reason otherwise."""
    document = read_json(path)
    check_document(document, str(path))
    return document  # type: ignore[no-any-return]


def read_json(path: str | Path) -> Any:
    """The parsed JSON of a file; ``DocumentError`` when missing, unreadable or truncated."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path}: cannot read: {exc}") from None
    if not text.strip():
        raise DocumentError(f"{path}: empty file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg});"
            " truncated file?"
        ) from None
    return document


def check_version(document: dict[str, Any], where: str, readable: int) -> None:
    """Versions 1 to ``readable`` are read; a newer one may mean something else (refused)."""
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DocumentError(f"{where}: format_version missing or not an integer")
    if version > readable:
        raise DocumentError(
            f"{where}: format_version {version} is newer than this perfeng reads"
            f" ({readable}); upgrade perfeng"
        )
    if version < 1:
        raise DocumentError(f"{where}: format_version {version} is not a valid version")


def check_document(document: Any, where: str) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DocumentError(f'{where}: not a perfeng run result (no "format": "{FORMAT}")')
    check_version(document, where, FORMAT_VERSION)
    problem = _summary_problem(document.get("summary")) or _metadata_problem(document)
    if problem:
        raise DocumentError(f"{where}: {problem}")


def _summary_problem(summary: Any) -> str:
    """What is missing or damaged in the parts of ``summary`` that readers rely on."""
    if not isinstance(summary, dict) or not isinstance(summary.get("histograms"), dict):
        return "summary section missing or incomplete"
    histograms, names = summary["histograms"], summary.get("by_name")
    if not isinstance(names, dict) or not isinstance(histograms.get("by_name"), dict):
        return "summary.by_name missing or damaged"
    if not isinstance(histograms.get("all"), dict):
        return "summary.histograms.all missing or damaged"
    for key in ("requests", "errors"):
        if not _count(summary.get(key)):
            return f"summary.{key} must be a whole number of at least 0"
    for name, entry in names.items():
        if not isinstance(entry, dict) or not _count(entry.get("requests")):
            return f"summary.by_name[{name!r}] is incomplete or damaged"
        if not isinstance(histograms["by_name"].get(name), dict):
            return f"no histograms for {name!r}"
    return _figures_problem(summary)


def _figures_problem(summary: dict[str, Any]) -> str:
    rate: Any = summary.get("error_rate")
    if not _number(rate) or not 0 <= rate <= 1:
        return "summary.error_rate must be a number between 0 and 1"
    latency = summary.get("latency_ms")
    if not isinstance(latency, dict):
        return "summary.latency_ms missing or damaged"
    for key, value in latency.items():
        if value is not None and (not _number(value) or float(value) < 0):
            return f"summary.latency_ms.{key} must be a number of at least 0"
    return ""


def _metadata_problem(document: dict[str, Any]) -> str:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return "metadata section missing or damaged"
    duration = metadata.get("duration_s")
    if duration is not None and (not _number(duration) or float(duration) < 0):
        return "metadata.duration_s must be a number of at least 0"
    return ""


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _name_stats_from(entry: dict[str, Any], histograms: dict[str, Any]) -> NameStats:
    return NameStats(
        requests=int(entry["requests"]),
        errors=int(entry["errors"]),
        errors_by_class=dict(entry.get("errors_by_class", {})),
        bytes_sent=int(entry.get("bytes_sent", 0)),
        bytes_received=int(entry.get("bytes_received", 0)),
        latency=hdr.decode(histograms["latency"]),
        service=hdr.decode(histograms["service_time"]),
        # Results written before phases were recorded have none.
        phases={
            p: hdr.decode(text)
            for p, text in (histograms.get("phases") or {}).items()
            if p in PHASES
        },
    )


def _interval_from(entry: dict[str, Any]) -> Interval:
    return Interval(
        time=int(entry["time"]),
        elapsed_s=float(entry["elapsed_s"]),
        duration_s=float(entry["duration_s"]),
        requests=int(entry["requests"]),
        errors=int(entry["errors"]),
        dropped=int(entry["dropped"]),
        target_rate=entry.get("target_rate"),
        in_flight=int(entry.get("in_flight", 0)),
        latency=hdr.decode(entry["histogram"]),
        errors_by_class={k: int(v) for k, v in entry.get("errors_by_class", {}).items()},
    )


def totals_from_document(document: dict[str, Any]) -> Totals:
    summary = document["summary"]
    hists = summary["histograms"]["by_name"]
    meta = document["metadata"]
    try:
        names = {n: _name_stats_from(e, hists[n]) for n, e in summary["by_name"].items()}
        intervals = tuple(_interval_from(e) for e in summary["timeseries"])
        return Totals(
            start_s=float(meta["start_epoch_s"]),
            end_s=float(meta["end_epoch_s"]),
            names=names,
            intervals=intervals,
            dropped=int(summary["dropped"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DocumentError(f"result is incomplete or damaged: {exc}") from None
