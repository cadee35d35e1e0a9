"""``perfeng bench --instructions`` as a plain function: count every benchmark (callables
under PATH, or whole commands) with callgrind and give the document's entries and settings.

Each entry's ``values`` are instructions per call (``unit: "instructions"``); ``est_cycles``
holds the estimated cycles per call of the same repetitions with their statistics, and
``events`` the median of each raw callgrind event per call. How the counting works is in
``perfeng.bench.callgrind``; the cycle formula and the determinism rule in
``perfeng.analysis.counted``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfeng.analysis.benchstats import summarize
from perfeng.analysis.counted import determinism_warning, estimated_cycles
from perfeng.bench import callgrind
from perfeng.bench.command import parse_command
from perfeng.bench.counted import (
    CountedOutcome,
    count_callables,
    count_commands,
    subtract,
    valgrind_version,
)
from perfeng.bench.discovery import discover
from perfeng.model.bench import bench_entry, empty_stats

Progress = Callable[[int, int], None]
# processes x values per process (callables) and runs (commands): counts barely vary, so a
# few repetitions show whether a benchmark is deterministic; more would only cost time.
PRESETS = {"default": (3, 2, 3), "fast": (1, 3, 2), "rigorous": (5, 3, 5)}
FORMULA = "L1 hits + 5 x LL hits + 35 x RAM hits (iai-callgrind, CodSpeed)"


@dataclass(frozen=True)
class CountedBench:
    entries: list[dict[str, Any]]
    settings: dict[str, Any]
    interrupted: bool


@dataclass(frozen=True)
class Plan:
    """How much to count: ``processes`` x ``values`` for callables, ``runs`` for commands."""

    preset: str = "default"
    processes: int | None = None
    values: int | None = None
    runs: int | None = None
    warmups: int | None = None

    def sizes(self) -> tuple[int, int, int]:
        processes, values, runs = PRESETS[self.preset]
        return (self.processes or processes, self.values or values, self.runs or runs)


def _stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return empty_stats(0.95)
    stats = summarize(values)
    return {key: getattr(stats, key) for key in stats.__dataclass_fields__}


def counted_entry(
    outcome: CountedOutcome,
    *,
    kind: str,
    source: str,
    params: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One document entry: instructions per call, the estimated cycles beside them."""
    instructions = [v["Ir"] for v in outcome.values]
    cycles = [estimated_cycles(v) for v in outcome.values]
    warnings = [
        w
        for w in (
            determinism_warning(instructions, "instructions"),
            determinism_warning(cycles, "est_cycles"),
        )
        if w
    ]
    events = (
        {e: statistics.median(v[e] for v in outcome.values) for e in callgrind.EVENTS}
        if outcome.values
        else {}
    )
    return bench_entry(
        name=outcome.name,
        kind="command" if kind == "command" else "callable",
        source=source,
        params=params,
        stats=_stats(instructions),
        loops=max(outcome.loops, 1),
        values=instructions,
        warmups=[v["Ir"] for v in outcome.warmups],
        warnings=warnings[:1],
        error=outcome.error,
        unit="instructions",
        extra={
            **(extra or {}),
            "est_cycles": {"values": [] if outcome.error else cycles, "stats": _stats(cycles)},
            "events": events,
        },
    )


def _settings(plan: Plan, valgrind: str, counts: dict[str, Any]) -> dict[str, Any]:
    return {
        "preset": plan.preset,
        "warmups": plan.warmups,
        "min_time_s": None,
        "mode": "instructions",
        "valgrind": valgrind_version(valgrind),
        "tool": "callgrind --cache-sim=yes " + " ".join(callgrind.CACHE_OPTIONS),
        "est_cycles_formula": FORMULA,
        **counts,
    }


def count_path(
    path: str, pattern: str | None, plan: Plan, progress: Progress | None = None
) -> CountedBench:
    """Count the benchmark callables under ``path`` (names containing ``pattern``)."""
    valgrind = callgrind.find_valgrind()
    callgrind.check_callables_supported()
    benchmarks = discover(Path(path), pattern)
    processes, values, _ = plan.sizes()
    warmups = 1 if plan.warmups is None else plan.warmups
    outcomes, interrupted = count_callables(
        benchmarks,
        processes=processes,
        values=values,
        warmups=warmups,
        valgrind=valgrind,
        progress=progress,
    )
    entries = [
        counted_entry(o, kind="callable", source=b.source, params=b.params)
        for o, b in zip(outcomes, benchmarks, strict=True)
    ]
    counts = {"processes": processes, "values_per_process": values, "warmups": warmups}
    return CountedBench(entries, _settings(plan, valgrind, counts), interrupted)


def count_commands_given(
    texts: Sequence[str],
    plan: Plan,
    *,
    shell: bool,
    ignore_failure: bool = False,
    progress: Progress | None = None,
) -> CountedBench:
    """Count whole commands, every process they start included (children traced)."""
    valgrind = callgrind.find_valgrind()
    commands = [parse_command(text, shell=shell) for text in texts]
    _, _, runs = plan.sizes()
    warmups = 0 if plan.warmups is None else plan.warmups
    outcomes, probe, interrupted = count_commands(
        commands,
        runs=runs,
        warmups=warmups,
        shell=shell,
        valgrind=valgrind,
        ignore_failure=ignore_failure,
        progress=progress,
    )
    overhead = _median_events(probe.values) if probe and probe.values else None
    entries = []
    for outcome, command in zip(outcomes, commands, strict=True):
        outcome.values = subtract(outcome.values, overhead)
        outcome.warmups = subtract(outcome.warmups, overhead)
        extra = {
            "executable": command.executable,
            "shell_instructions": overhead["Ir"] if overhead else None,
        }
        entries.append(counted_entry(outcome, kind="command", source=command.text, extra=extra))
    counts = {"processes": runs, "values_per_process": 1, "warmups": warmups, "runs": runs}
    return CountedBench(entries, _settings(plan, valgrind, counts), interrupted)


def _median_events(values: Sequence[dict[str, float]]) -> dict[str, float]:
    return {e: statistics.median(v[e] for v in values) for e in callgrind.EVENTS}
