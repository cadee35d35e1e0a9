"""What every finding rule stands on (analysis/diagnose.py): the run as the rules see it, the
thresholds they share, and the measures of a finding's reach: its window, the share of
requests it touches, its impact and severity, and its places in the profile."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from perfeng.analysis import stacks
from perfeng.analysis.seconds import (
    Baseline,
    Limit,
    Second,
)
from perfeng.model.findings import Where
from perfeng.model.watch import Profile, Resources
from perfeng.units import human_ms, human_rate

CPU_BOUND_PCT = 85.0  # of one core, for one process; or of every core, for the tree
MACHINE_BOUND_PCT = 90.0
CONTENDED_PSI_PCT = 20.0  # PSI cpu "some": share of time a runnable task waited for a CPU
WAITING_BELOW_PCT = 50.0  # of one core: a target this idle at its limit waits, not computes
MEMORY_MIN_GROWTH = 512 * 1024  # with R^2 >= 0.8 and still growing late: not allocator steps
FD_MIN_GROWTH = 20


@dataclass(frozen=True)
class Context:
    """What the run was judged against: the SLO (from its thresholds) and, when one was
    measured apart, the unloaded baseline."""

    latency_limit_ms: float | None = None
    latency_slo: str | None = None
    error_limit: float | None = None
    baseline: Baseline | None = None


@dataclass(frozen=True)
class Run:
    """Everything the rules look at."""

    document: dict[str, Any]
    seconds: list[Second]
    base: Baseline
    resources: Resources | None
    profile: Profile | None
    context: Context
    open_model: bool

    @property
    def watched(self) -> bool:
        return any(s.cpu_pct is not None for s in self.seconds)

    def reference_ms(self) -> float:
        return self.context.latency_limit_ms or max(self.base.p99_ms, 0.001)

    def reference_text(self) -> str:
        if self.context.latency_limit_ms is not None:
            return f"the SLO ({self.context.latency_slo})"
        return f"the unloaded p99 ({human_ms(self.base.p99_ms)})"

    def load_text(self, value: float | None) -> str:
        if value is None:
            return "-"
        return human_rate(value) if self.open_model else f"{value:.0f} in flight"


def window_of(seconds: Sequence[Second]) -> list[float]:
    return [
        round(seconds[0].elapsed_s, 1),
        round(seconds[-1].elapsed_s + seconds[-1].duration_s, 1),
    ]


def share_of_requests(run: Run, seconds: Sequence[Second]) -> float:
    total = run.document["summary"]["requests"] or 1
    return sum(s.requests for s in seconds) / total


def latency_impact(run: Run, seconds: Sequence[Second]) -> float:
    p99s = [s.p99_ms for s in seconds if s.p99_ms is not None]
    excess = statistics.median(p99s) / run.reference_ms() if p99s else 1.0
    return round(share_of_requests(run, seconds) * max(excess, 1.0), 4)


def severity_of(run: Run, seconds: Sequence[Second]) -> Any:
    p99s = [s.p99_ms for s in seconds if s.p99_ms is not None]
    worst = statistics.median(p99s) if p99s else 0.0
    if run.context.latency_limit_ms is not None:
        return "critical" if worst > run.context.latency_limit_ms else "warning"
    return (
        "critical" if worst > 2 * run.base.p99_ms or any(s.dropped for s in seconds) else "warning"
    )


def queueing_evidence(run: Run, limit: Limit | Sequence[Second]) -> list[str]:
    hit = limit.seconds if isinstance(limit, Limit) else tuple(limit)
    p99s = [s.p99_ms for s in hit if s.p99_ms is not None]
    dropped = sum(s.dropped for s in hit)
    text = (
        f"in {len(hit)} saturated seconds (from {hit[0].elapsed_s:.0f} s) p99 reached "
        f"{human_ms(max(p99s) if p99s else None)}, against {human_ms(run.base.p99_ms)} unloaded"
    )
    if dropped:
        text += f"; {dropped:,} arrivals were dropped (too many requests already in flight)"
    lines = [text]
    cut_off = run.document["summary"]["errors"] - sum(s.errors for s in run.seconds)
    if cut_off > 0:
        lines.append(
            f"{cut_off:,} requests were still queued when the load ended and timed out in the "
            "grace period"
        )
    if isinstance(limit, Limit) and run.open_model:
        lines.append(
            f"throughput held at {human_rate(limit.rate)} while {human_rate(limit.offered)} "
            f"was offered (from {human_rate(limit.onset_offered or 0)} on)"
        )
    return lines


def cpu_bound(run: Run, second: Second) -> bool:
    """The target itself at its CPU limit: one process at a whole core (the GIL), the tree
    at every core of the machine, or computing most of the time on a machine whose CPUs are
    all busy (it would have used more CPU had there been any)."""
    cores = run.resources.cpu_count if run.resources else 1
    busiest, machine = second.busiest_pct or 0.0, second.system_cpu_pct or 0.0
    return (
        busiest >= CPU_BOUND_PCT
        or (second.cpu_pct or 0.0) >= CPU_BOUND_PCT * cores
        or (busiest >= WAITING_BELOW_PCT and machine >= MACHINE_BOUND_PCT)
    )


def contended(second: Second) -> bool:
    """Tasks queued for the CPUs that second: the machine's CPUs all busy, or PSI's cpu
    pressure high (Linux pressure stall information: the direct measure of CPU waiting)."""
    return (second.system_cpu_pct or 0.0) >= MACHINE_BOUND_PCT or (
        second.psi_cpu_some or 0.0
    ) >= CONTENDED_PSI_PCT


def stages_of(run: Run, seconds: Sequence[Second]) -> list[int] | None:
    if run.profile is None or not run.profile.stages:
        return None
    start, end = window_of(seconds)
    chosen = stacks.stages_within(run.profile, start, end)
    return chosen or None


def cpu_where(run: Run, seconds: Sequence[Second]) -> list[Where]:
    return where_of(run, seconds, "cpu", stacks.cpu_hotspots, least=0.02, most=5)


def waiting_where(run: Run, seconds: Sequence[Second]) -> list[Where]:
    return where_of(run, seconds, "waiting", stacks.waiting_spots, least=0.05, most=3)


def where_of(
    run: Run,
    seconds: Sequence[Second],
    kind: Any,
    spots_of: Callable[[Profile, list[int] | None], stacks.Hotspots],
    *,
    least: float,
    most: int,
) -> list[Where]:
    """The profile's places for a finding: from the stages of the seconds it is about (the
    whole run when those hold under 50 samples); CPU places by function, waiting by line."""
    if run.profile is None or run.profile.status == "unavailable":
        return []
    chosen = stages_of(run, seconds)
    spots = spots_of(run.profile, chosen)
    if chosen is not None and spots.samples < 50:
        spots = spots_of(run.profile, None)
    return [
        Where(
            function=s.frame.function,
            file=s.frame.short_file,
            line=s.frame.line if kind == "waiting" else None,
            kind=kind,
            own_share=round(s.own, 4),
            total_share=round(s.total, 4),
            code=run.profile.code.get(f"{s.frame.file}:{s.frame.line}")
            if kind == "waiting"
            else None,
        )
        for s in spots.shares[:most]
        if s.own >= least
    ]


def run_seconds(run: Run) -> float:
    return sum(s.duration_s for s in run.seconds) or 1.0
