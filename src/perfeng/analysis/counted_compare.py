"""Comparing two counted benchmark documents (``perfeng bench --instructions``), name by name.

Each benchmark gives two rows, instructions and estimated cycles per call, judged by
``analysis.counted.compare_counts`` (relative change of the medians against the minimum
effect, and against the spreads when a side is not deterministic). There is no p-value: the
rows carry NaN (shown as "-"), and the interval is the change from base's range to head's,
[head min / base max - 1, head max / base min - 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from perfeng.analysis.counted import COUNTED_UNITS, DETERMINISTIC_SPREAD, compare_counts, spread
from perfeng.analysis.result_compare import (
    ResultComparison,
    Row,
    _failed_benchmarks,
    _only_in,
    _side_warnings,
)

METHOD = "counted: change of medians"


def is_counted(document: Mapping[str, Any]) -> bool:
    return any(b.get("unit", "s") in COUNTED_UNITS for b in document["benchmarks"])


def _series(entry: Mapping[str, Any]) -> dict[str, list[float]]:
    cycles = entry.get("est_cycles") or {}
    return {
        "instructions": [float(v) for v in entry["values"]],
        "est_cycles": [float(v) for v in cycles.get("values") or []],
    }


def _ranges(base: Sequence[float], head: Sequence[float]) -> tuple[float | None, float | None]:
    low = min(head) / max(base) - 1 if max(base) else None
    high = max(head) / min(base) - 1 if min(base) else None
    return low, high


def _row(name: str, metric: str, base: list[float], head: list[float], min_effect: float) -> Row:
    c = compare_counts(base, head, min_effect=min_effect)
    low, high = _ranges(base, head)
    return Row(
        name,
        metric,
        metric,
        c.base_median,
        c.head_median,
        c.ratio,
        c.change,
        low,
        high,
        math.nan,
        c.verdict,
        METHOD,
    )


def _unit_mismatch(base: Mapping[str, Any], head: Mapping[str, Any]) -> None:
    if is_counted(base) != is_counted(head):
        counted, timed = ("base", "head") if is_counted(base) else ("head", "base")
        raise ValueError(
            f"{counted} is counted (--instructions) and {timed} is timed: compare two of a kind"
        )


def _entries(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {b["name"]: b for b in document["benchmarks"] if not b.get("error") and b["values"]}


def compare_counted_benchmarks(
    base: Mapping[str, Any], head: Mapping[str, Any], *, min_effect: float, alpha: float
) -> ResultComparison:
    """Instructions and estimated cycles of each benchmark in both documents."""
    _unit_mismatch(base, head)
    rows: list[Row] = []
    warnings = _side_warnings(base, head)
    base_entries, head_entries = _entries(base), _entries(head)
    for name in (n for n in base_entries if n in head_entries):
        a, b = _series(base_entries[name]), _series(head_entries[name])
        for metric in COUNTED_UNITS:
            if a[metric] and b[metric]:
                rows.append(_row(name, metric, a[metric], b[metric], min_effect))
        if _nondeterministic(a, b):
            warnings.append(f"{name}: not deterministic; compared by medians and their spread")
    warnings += _failed_benchmarks(base, "base")
    only_in_base, only_in_head = _only_in(base, head)
    failed = tuple(f"{b['name']}: {b['error']}" for b in head["benchmarks"] if b.get("error"))
    return ResultComparison(
        "bench", tuple(rows), min_effect, alpha, only_in_base, only_in_head, tuple(warnings), failed
    )


def _nondeterministic(a: dict[str, list[float]], b: dict[str, list[float]]) -> bool:
    return any(
        side[metric] and spread(side[metric]) > DETERMINISTIC_SPREAD
        for side in (a, b)
        for metric in COUNTED_UNITS
    )
