"""Turning measured benchmark values into a perfeng-bench document's parts: the environment
metadata, each benchmark's statistics and warnings, its entry, and the settings.

Shared by ``perfeng bench`` (``perfeng.cli.bench``) and the pytest plugin
(``perfeng.pytest_plugin``), so both write the same document with the same metadata and
``compare``, ``gate``, ``history`` and ``detect`` read either unchanged.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from perfeng.bench.presets import Preset
from perfeng.bench.runner import Outcome
from perfeng.model.bench import bench_entry, empty_stats
from perfeng.workflows.metadata import collect


def load_1min() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not available on this platform
        return None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or None


def bench_metadata(
    start_s: float, end_s: float, load_start: float | None, argv: Sequence[str] | None = None
) -> dict[str, Any]:
    """Where and when the benchmarks ran; ``argv`` defaults to this process's arguments."""
    meta = collect(start_s, end_s, list(sys.argv[1:] if argv is None else argv))
    meta.pop("event_loop", None)
    meta.update(
        python_executable=sys.executable,
        cpu_model=_cpu_model(),
        load_avg_start=load_start,
        load_avg_end=load_1min(),
    )
    return meta


def summary(
    values: Sequence[float], loops: int, meta: Mapping[str, Any], command: bool
) -> tuple[dict[str, Any], list[str]]:
    """The ``stats`` and ``warnings`` of one benchmark (nothing to say without values)."""
    from perfeng.analysis.benchstats import stats_warnings, summarize

    if not values:
        return empty_stats(0.95), []
    stats = summarize(values)
    warnings = stats_warnings(
        stats,
        values,
        loops=loops,
        load_start=meta["load_avg_start"],
        load_end=meta["load_avg_end"],
        cpu_count=meta["cpu_count"],
        command=command,
    )
    return {key: getattr(stats, key) for key in stats.__dataclass_fields__}, warnings


def callable_entries(
    outcomes: Sequence[Outcome],
    meta: Mapping[str, Any],
    extra: Mapping[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One entry per outcome; ``extra`` adds fields to the entry of the benchmark it names."""
    entries = []
    for outcome in outcomes:
        b = outcome.benchmark
        loops = max(outcome.loops, 1)
        stats, warnings = summary(outcome.values, loops, meta, False)
        entries.append(
            bench_entry(
                name=b.name,
                kind="callable",
                source=b.source,
                params=b.params,
                loops=loops,
                values=outcome.values,
                warmups=outcome.warmups,
                stats=stats,
                warnings=warnings,
                error=outcome.error,
                extra=(extra or {}).get(b.name),
            )
        )
    return entries


def bench_settings(preset: Preset, rounds: int | None) -> dict[str, Any]:
    """The document's ``settings``; ``rounds`` is given for commands only."""
    commands = rounds is not None
    return {
        "preset": preset.name,
        "processes": rounds if commands else preset.processes,
        "values_per_process": preset.values,
        "warmups": preset.warmups,
        "min_time_s": preset.min_time_s,
        **({"runs": preset.runs, "min_runs": preset.min_runs} if commands else {}),
    }


def calibration_of(outcomes: Sequence[Outcome]) -> dict[str, list[float]]:
    """Every worker's calibration timings, kernel by kernel, for the document's
    ``calibration`` section (empty when no worker timed them)."""
    return kernels_of([timed for outcome in outcomes for timed in outcome.calibration])


def kernels_of(timings: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """Calibration timings (one dict per worker or round) as lists per kernel; {} if none."""
    from perfeng.bench.calibration import KERNELS

    found: dict[str, list[float]] = {name: [] for name in KERNELS}
    for timed in timings:
        for name in KERNELS:
            if name in timed:
                found[name].append(float(timed[name]))
    return found if all(found.values()) else {}
