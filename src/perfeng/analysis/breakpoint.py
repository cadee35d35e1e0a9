"""Where a breakpoint ramp broke: the load its plan had reached when an abort threshold
stopped it (docs/patterns.md). Pure: a result document in, a ``Breakpoint`` out.

The plan is piecewise linear, so the load at time t is the stage's start plus its slope times
the time into the stage (the engine's own ``Plan.value_at``, over the stages the document
records). Abort thresholds are judged on running totals from the start of the run, which
trail the load of the moment; ``peak_answered_rps``, the most requests answered in any one
second before the break, is the throughput the target actually gave, the other side of the
same limit.
"""

from __future__ import annotations

from typing import Any

from perfeng.model.breakpoint import Breakpoint

ABORT = "abort: "


def ramp_of(document: dict[str, Any]) -> dict[str, Any] | None:
    """The document's breakpoint workload (its config and plan), if it has one."""
    for workload in document.get("workloads", []):
        if workload.get("type") == "pattern" and workload.get("pattern") == "breakpoint":
            return dict(workload)
    return None


def value_at(stages: list[dict[str, float]], t_s: float) -> float:
    """The plan's target ``t_s`` seconds in (its last value after the end)."""
    last = 0.0
    for stage in stages:
        duration, start, end = stage["duration_s"], stage["start"], stage["end"]
        if t_s < duration:
            return start + (end - start) * max(t_s, 0.0) / duration if duration > 0 else end
        t_s -= duration
        last = end
    return last


def breakpoint_of(document: dict[str, Any], aborted_at_s: float | None = None) -> Breakpoint | None:
    """Where the run's breakpoint ramp broke; None when the run has no breakpoint workload.

    ``aborted_at_s``: when the abort threshold fired (seconds from the start), as the run saw
    it; without it (a merged result) the run's measured duration stands in, which includes
    the last answers' drain and so overstates the load by at most a second or two of ramp.
    """
    ramp = ramp_of(document)
    if ramp is None:
        return None
    plan = ramp["plan"]
    reason = document.get("interrupted")
    aborted = isinstance(reason, str) and reason.startswith(ABORT)
    at_s = float(plan["duration_s"])  # a ramp nothing stopped reached its end
    if reason:  # the last answer of a stopped run came at most a drain after the stop
        ran_s = float(document["metadata"]["duration_s"])
        at_s = min(aborted_at_s if aborted and aborted_at_s is not None else ran_s, at_s)
    load = value_at(plan["stages"], at_s)
    closed = plan["model"] == "closed"
    return Breakpoint(
        broke=aborted,
        unit="users" if closed else "req/s",
        rate=None if closed else round(load, 3),
        users=round(load) if closed else None,
        at_s=round(at_s, 3),
        threshold=_threshold(document, str(reason)) if aborted else None,
        verdict=str(reason).removeprefix(ABORT) if aborted else None,
        peak_answered_rps=_peak_answered(document, at_s),
        planned_peak=float(ramp["peak"]),
        stopped_by=str(reason) if reason and not aborted else None,
    )


def _threshold(document: dict[str, Any], reason: str) -> str | None:
    """The abort threshold whose verdict the reason quotes."""
    for verdict in document["summary"].get("thresholds", []):
        expression = str(verdict.get("expression", ""))
        if verdict.get("abort") and reason.startswith(f"{ABORT}{expression}: "):
            return expression
    return None


def _peak_answered(document: dict[str, Any], at_s: float) -> float | None:
    rates = [
        float(entry["achieved_rate"])
        for entry in document["summary"].get("timeseries", [])
        if float(entry["elapsed_s"]) < at_s
    ]
    return round(max(rates), 1) if rates else None
