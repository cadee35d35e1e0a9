"""The lines a load pattern adds to the terminal summary and the markdown report: where a
breakpoint ramp broke (``summary.breakpoint``, analysis/breakpoint.py)."""

from __future__ import annotations

from typing import Any

from perfeng.model.breakpoint import Breakpoint, read_breakpoint


def pattern_lines(document: dict[str, Any]) -> list[str]:
    """Nothing for a run without a breakpoint ramp."""
    found = document.get("summary", {}).get("breakpoint")
    if not found:
        return []
    return [describe(read_breakpoint(found, "result"))]


def describe(point: Breakpoint) -> str:
    """One line for the terminal and the markdown report."""
    load = (
        f"{point.load:,.0f} {point.unit}" if point.load >= 10 else f"{point.load:.3g} {point.unit}"
    )
    answered = (
        f"; the most answered in one second: {point.peak_answered_rps:,.0f}/s"
        if point.peak_answered_rps is not None
        else ""
    )
    if point.broke:
        by = f", by {point.threshold}" if point.threshold else ""
        return f"breakpoint: broke at {load}, {point.at_s:.1f} s into the ramp{by}{answered}"
    peak = f"{point.planned_peak:,.0f} {point.unit}"
    if point.stopped_by:
        return (
            f"breakpoint: stopped ({point.stopped_by}) at {load} before it broke "
            f"(the ramp goes to {peak}){answered}"
        )
    return f"breakpoint: did not break up to {load}{answered}"
