"""Load patterns in scenarios: ``--pattern``/``--peak`` on the command line, and the abort
thresholds a breakpoint run gets when it has none (engine/workloads/pattern.py has the shapes)."""

from __future__ import annotations

import dataclasses
from typing import Any

from perfeng.engine.workloads.pattern import (
    BREAKPOINT_THRESHOLDS,
    Pattern,
    make_pattern,
    shape_of,
)
from perfeng.errors import UsageError
from perfeng.units import parse_duration_s, parse_positive_int, parse_rate


def pattern_from_flags(flags: Any, max_in_flight: int | None) -> Pattern:
    """``--pattern NAME [--peak RATE | --users N] [--duration D]`` as a workload."""
    if flags.pattern is None:
        raise UsageError("--peak goes with --pattern: e.g. --pattern load --peak 200/s")
    if flags.stages:
        raise UsageError("--pattern and --stages both shape the load: give one of them")
    if flags.rate is not None:
        raise UsageError(
            "--pattern ramps the rate itself: give its peak with --peak (e.g. --peak 500/s), "
            "not --rate"
        )
    return make_pattern(
        flags.pattern,
        peak=parse_rate(flags.peak) if flags.peak is not None else None,
        users=parse_positive_int(flags.users, "--users") if flags.users is not None else None,
        duration_s=parse_duration_s(flags.duration) if flags.duration else None,
        max_in_flight=max_in_flight,
    )


def is_breakpoint(workload: Any) -> bool:
    return isinstance(workload, Pattern) and workload.pattern == "breakpoint"


def with_pattern_thresholds(scenario: Any) -> Any:
    """A breakpoint scenario none of whose thresholds aborts gets ``BREAKPOINT_THRESHOLDS``,
    so that the ramp stops where the target breaks instead of running to its end."""
    if not any(is_breakpoint(w) for w in scenario.workloads):
        return scenario
    if any(_aborts(t) for t in scenario.thresholds):
        return scenario
    return dataclasses.replace(scenario, thresholds=scenario.thresholds + BREAKPOINT_THRESHOLDS)


def _aborts(expression: str) -> bool:
    from perfeng.gates import parse_threshold

    return bool(parse_threshold(expression).abort)


def pattern_of_table(table: Any, name: str) -> Pattern:
    """A ``[[workloads]]`` table with ``pattern = "spike"``: ``peak = "500/s"`` (open model)
    or ``users = 50`` (closed model), ``duration`` and ``max_in_flight`` optional."""
    pattern = table.need("pattern", table.text("pattern"))
    peak, users = table.rate("peak"), table.integer("users")
    if peak is not None and users is not None:
        raise table.fail("give the peak once: peak (a rate, open model) or users (closed model)")
    if peak is None and users is None and shape_of(pattern).peak is None:
        raise table.fail(
            f'the {pattern} pattern needs its peak: peak = "200/s" (arrivals, open model) or '
            "users = 50 (closed model)"
        )
    return make_pattern(
        pattern,
        peak=peak,
        users=users,
        duration_s=table.duration("duration"),
        max_in_flight=table.integer("max_in_flight"),
        # unnamed, it is called by its pattern ("spike"), not by its type
        name=None if name == "pattern" else name,
    )
