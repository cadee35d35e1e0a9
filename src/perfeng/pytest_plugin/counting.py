"""``--perfeng-instructions``: counting instead of timing, with ``perfeng bench
--instructions``'s machinery (``perfeng.bench.counted``, ``perfeng.workflows.bench_counted``).

Counting happens in fresh worker processes started under Valgrind's callgrind, which switch
instrumentation on only around the calls. So only what a worker can import and call alone is
counted: a test marked ``@pytest.mark.perfeng_bench`` that takes no fixture and no parameter.
Every other benchmark (the ``perfeng_bench`` fixture's functions, marked tests with fixtures)
runs once, as an ordinary test, and is listed as not counted in the terminal summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from perfeng.bench.counted import CountedOutcome, count_callables, valgrind_version
from perfeng.bench.discovery import Benchmark
from perfeng.pytest_plugin.fixture import WORKERS
from perfeng.pytest_plugin.session import BenchRun, Settings, benchmark_of
from perfeng.workflows.bench_counted import FORMULA, Plan, counted_entry


def sizes(settings: Settings) -> tuple[int, int, int]:
    """Processes, values per process and warm-ups: ``bench --instructions``'s preset sizes
    (its own, smaller than timing's: counts barely vary); --perfeng-processes overrides."""
    processes, values, _ = Plan(settings.preset.name, processes=settings.processes).sizes()
    return processes, values, 1


def count_in_workers(run: BenchRun, item: pytest.Function) -> bool:
    """Count ``item``; False when a worker cannot import its file alone (not counted)."""
    assert run.settings.valgrind is not None
    benchmark = benchmark_of(item)
    processes, values, warmups = sizes(run.settings)
    [outcome], interrupted = count_callables(
        [benchmark],
        processes=processes,
        values=values,
        warmups=warmups,
        valgrind=run.settings.valgrind,
    )
    if outcome.error is not None and outcome.error.startswith(f"{item.path}: cannot import"):
        return False
    run.counted.append((benchmark, outcome))
    if interrupted:
        raise KeyboardInterrupt
    if outcome.error is not None:
        pytest.fail(f"the benchmark failed in a counting worker: {outcome.error}", pytrace=False)
    return True


def counted_entries(counted: Sequence[tuple[Benchmark, CountedOutcome]]) -> list[dict[str, Any]]:
    return [
        counted_entry(
            outcome,
            kind="callable",
            source=benchmark.source,
            params=benchmark.params,
            extra={"isolation": WORKERS},
        )
        for benchmark, outcome in counted
    ]


def counted_settings(settings: Settings) -> dict[str, Any]:
    """The settings ``perfeng bench --instructions`` writes for callables."""
    from perfeng.bench import callgrind

    assert settings.valgrind is not None
    processes, values, warmups = sizes(settings)
    return {
        "preset": settings.preset.name,
        "warmups": warmups,
        "min_time_s": None,
        "mode": "instructions",
        "valgrind": valgrind_version(settings.valgrind),
        "tool": "callgrind --cache-sim=yes " + " ".join(callgrind.CACHE_OPTIONS),
        "est_cycles_formula": FORMULA,
        "processes": processes,
        "values_per_process": values,
    }
