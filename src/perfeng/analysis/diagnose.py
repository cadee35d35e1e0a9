"""Findings: what limits the target and what to fix first, from one result document.

Pure: the result's time series, resource samples (USE) and profile in, ranked findings out.
Each rule needs evidence in the data and says which numbers it rests on; when none holds,
the finding is "no bottleneck below the highest load tried". The rules:

- generator: the generator's own health warnings (engine/health.py) fired;
- cpu_saturation: saturated seconds (analysis/seconds.py) in which a watched process used
  at least 85 % of a core (a Python process is bound to one core by its GIL), the tree 85 %
  of every core, or the machine 90 %; named by the profile's CPU hotspots;
- serialisation / pool_limit: a throughput limit with the CPU not bound. Little's law,
  N = X R (Little 1961), with X the limit and R the unloaded mean latency, gives the requests
  in service at once: about one means serialised, more means a pool of about N;
- throughput_limit: the same limit when the target was not watched (cause unknown);
- errors_under_load: the error rate of the more loaded half of the run at least three times
  the less loaded half's; the onset is the offered rate above which errors start, and the
  requests in flight there are N = lambda S (Little's law again);
- memory_growth / fd_growth: least-squares slope of RSS (or open files) against requests
  served, over unsaturated seconds, kept only when it explains the series (R^2 >= 0.8) and
  goes on in the run's second half;
- tail_latency: p99/p50 of 10 or more, a second mode in the latency histogram, or latency
  spikes at regular intervals, in unsaturated seconds.

Ranking: severity first (critical, warning, info), then impact: (share of requests the
cause touches) x (how far it pushes them past the SLO, or past the unloaded baseline when no
SLO was given), at least 1 in the second factor. Memory and fd growth touch no request yet:
their impact is the share of the resource the run itself used up (its length over the time
to exhaustion, at most 1). The generator finding always ranks first: when it fires, every
other finding is marked less certain.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace

from perfeng.analysis import stacks
from perfeng.analysis.seconds import (
    MIN_REQUESTS,
    Baseline,
    Limit,
    Second,
    baseline_of,
    join,
    linear_fit,
    saturated,
    stalled,
    throughput_limit,
)
from perfeng.model import histogram as hdr
from perfeng.model.findings import KINDS, LIMITS, Finding, Where
from perfeng.model.watch import Profile, Resources, read_profile, read_resources
from perfeng.units import human_bytes, human_ms, human_rate, human_seconds

CPU_BOUND_PCT = 85.0  # of one core, for one process; or of every core, for the tree
MACHINE_BOUND_PCT = 90.0
CONTENDED_PSI_PCT = 20.0  # PSI cpu "some": share of time a runnable task waited for a CPU
WAITING_BELOW_PCT = 50.0  # of one core: a target this idle at its limit waits, not computes
MEMORY_MIN_GROWTH = 1024 * 1024
FD_MIN_GROWTH = 20


@dataclass(frozen=True)
class Context:
    """What the run was judged against: the SLO (from its thresholds) and, when one was
    measured apart, the unloaded baseline."""

    latency_limit_ms: float | None = None
    latency_slo: str | None = None
    error_limit: float | None = None
    baseline: Baseline | None = None


def context_of(document: dict[str, Any], baseline: Baseline | None = None) -> Context:
    """The SLO from the run's own latency and error-rate thresholds."""
    latency = [v for v in document["summary"].get("thresholds", []) if v.get("unit") == "ms"]
    errors = [
        v
        for v in document["summary"].get("thresholds", [])
        if v.get("metric") == "error_rate" and v.get("operator") in ("<", "<=")
    ]
    tightest = min(latency, key=lambda v: float(v["limit"]), default=None)
    return Context(
        latency_limit_ms=float(tightest["limit"]) if tightest else None,
        latency_slo=str(tightest["expression"]) if tightest else None,
        error_limit=min((float(v["limit"]) for v in errors), default=None),
        baseline=baseline,
    )


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


def diagnose(document: dict[str, Any], context: Context | None = None) -> list[Finding]:
    """The findings of a run, highest impact first (the generator's always first)."""
    where = "result"
    resources = read_resources(document["resources"], where) if document.get("resources") else None
    profile = read_profile(document["profile"], where) if document.get("profile") else None
    seconds = join(document, resources)
    context = context or context_of(document)
    base = context.baseline or baseline_of(seconds)
    if base is None:
        return [_nothing_measured(document)]
    run = Run(
        document,
        seconds,
        base,
        resources,
        profile,
        context,
        open_model=document.get("model") != "closed",
    )
    return rank([f for f in _rules(run) if f is not None])


def _rules(run: Run) -> list[Finding | None]:
    limit = throughput_limit(run.seconds, run.base, open_model=run.open_model)
    found: list[Finding | None] = [_generator(run), *_watch_gaps(run)]
    cpu = _cpu(run, limit)
    found.append(cpu)
    if cpu is None or cpu.severity != "critical":
        found.append(_limit(run, limit))
    found += [
        _contention(run) if run.watched else None,
        _stall(run),
        _errors(run),
        _growth(run, "rss"),
        _growth(run, "fds"),
        _tail(run),
    ]
    if not any(f is not None and f.id in LIMITS for f in found):
        found.append(_no_bottleneck(run))
    return found


def rank(findings: list[Finding]) -> list[Finding]:
    generator = any(f.id == "generator" for f in findings)
    if generator:
        findings = [f if f.id == "generator" else replace(f, certainty="low") for f in findings]
    order = {kind: i for i, kind in enumerate(KINDS)}
    grade = {"critical": 0, "warning": 1, "info": 2}
    return sorted(
        findings,
        key=lambda f: (f.id != "generator", grade[f.severity], -f.impact, order.get(f.id, 99)),
    )


def _window(seconds: Sequence[Second]) -> list[float]:
    return [
        round(seconds[0].elapsed_s, 1),
        round(seconds[-1].elapsed_s + seconds[-1].duration_s, 1),
    ]


def _share_of_requests(run: Run, seconds: Sequence[Second]) -> float:
    total = run.document["summary"]["requests"] or 1
    return sum(s.requests for s in seconds) / total


def _latency_impact(run: Run, seconds: Sequence[Second]) -> float:
    p99s = [s.p99_ms for s in seconds if s.p99_ms is not None]
    excess = statistics.median(p99s) / run.reference_ms() if p99s else 1.0
    return round(_share_of_requests(run, seconds) * max(excess, 1.0), 4)


def _severity(run: Run, seconds: Sequence[Second]) -> Any:
    p99s = [s.p99_ms for s in seconds if s.p99_ms is not None]
    worst = statistics.median(p99s) if p99s else 0.0
    if run.context.latency_limit_ms is not None:
        return "critical" if worst > run.context.latency_limit_ms else "warning"
    return (
        "critical" if worst > 2 * run.base.p99_ms or any(s.dropped for s in seconds) else "warning"
    )


def _queueing_evidence(run: Run, limit: Limit | Sequence[Second]) -> list[str]:
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


# ---- the generator and what could not be watched -------------------------------------------


def _generator(run: Run) -> Finding | None:
    """First whenever the generator's health warnings fired; how much it matters sets its
    severity: a generator out of CPU is critical, a late schedule is weighed against the
    latency it could distort (the unloaded median)."""
    generator = run.document.get("generator", {})
    warnings = generator.get("warnings", [])
    if not warnings:
        return None
    cpu = float(generator.get("cpu_share_of_core") or 0.0)
    lag = max(
        float((generator.get(key) or {}).get("p99") or 0.0)
        for key in ("schedule_lag_ms", "loop_lag_ms")
    )
    share = lag / max(run.base.p50_ms, 0.001)
    severity: Any = (
        "critical" if cpu >= 0.9 or share >= 0.5 else "warning" if share >= 0.1 else "info"
    )
    evidence = list(warnings)
    if severity != "critical":
        evidence.append(
            f"a lag of {human_ms(lag)} is {share:.0%} of the unloaded median latency "
            f"({human_ms(run.base.p50_ms)}): it blurs the fastest answers, not the findings"
        )
    return Finding(
        id="generator",
        title="The load generator was short of CPU time: its figures are less certain"
        if severity != "critical"
        else "The load generator, not the target, may have set these numbers",
        severity=severity,
        impact=1.0,
        evidence=evidence,
        figures={"cpu_share_of_core": cpu, "lag_p99_ms": lag},
        next_step=(
            "Give perfeng a CPU of its own (taskset, or another machine), lower the load, or "
            "split it over several generators and `perfeng merge` their results; the "
            "findings below are less certain until then."
        ),
    )


def _watch_gaps(run: Run) -> list[Finding | None]:
    gaps: list[Finding | None] = []
    profile = run.profile
    if profile is not None and profile.status in ("unavailable", "partial"):
        gaps.append(
            Finding(
                id="watch_unavailable",
                title="The target's profile is "
                + ("incomplete" if profile.status == "partial" else "missing"),
                severity="info",
                impact=0.0,
                evidence=[profile.reason or "py-spy recorded nothing"],
                figures={"profile_status": profile.status},
                next_step=profile.hint
                or "Findings below name no functions; resources and latency still count.",
            )
        )
    if run.resources is not None:
        ended = [t for t in run.resources.trees if t.exited_at is not None]
        notes = list(run.resources.unavailable)
        for tree in ended:
            start = run.document["metadata"].get("start_epoch_s") or 0
            after = (tree.exited_at or start) - start
            notes.insert(0, f"PID {tree.pid} ({tree.name}) ended {after:.0f} s into the run")
        if notes:
            gaps.append(
                Finding(
                    id="watch_unavailable",
                    title="Some resources could not be watched"
                    if not ended
                    else "The target stopped during the run",
                    severity="warning" if ended else "info",
                    impact=0.0,
                    evidence=notes,
                    figures={"trees_ended": len(ended)},
                    next_step="Readings the OS does not offer are left empty (null) in the "
                    "result; the other findings do not rely on them.",
                )
            )
    return gaps


# ---- CPU ---------------------------------------------------------------------------------------


def _cpu_bound(run: Run, second: Second) -> bool:
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


def _contention(run: Run) -> Finding | None:
    """The machine's CPUs busy while the target was not: it waited for a CPU that other
    processes (the generator, the observers, a neighbour) held."""
    busy = [s for s in run.seconds if contended(s) and not _cpu_bound(run, s)]
    if len(busy) < 2 or len(busy) < 0.3 * len(run.seconds):
        return None
    machine = statistics.median(s.system_cpu_pct or 0.0 for s in busy)
    pressure = statistics.median(s.psi_cpu_some or 0.0 for s in busy)
    target = statistics.median(s.cpu_pct or 0.0 for s in busy)
    generator = statistics.median(s.generator_cpu_pct or 0.0 for s in busy)
    return Finding(
        id="machine_busy",
        title="The machine's CPUs were busy with other work",
        severity="warning",
        impact=round(0.5 * _share_of_requests(run, busy), 4),
        evidence=[
            f"in {len(busy)} seconds the machine's CPUs were {machine:.0f}% busy and runnable "
            f"tasks waited for a CPU {pressure:.0f}% of the time (PSI) while the target used "
            f"{target:.0f}% of a core and the load generator {generator:.0f}%",
        ],
        figures={"seconds": len(busy), "machine_cpu_pct": round(machine, 1)},
        window_s=_window(busy),
        next_step=(
            "Run the target where nothing else competes for its CPUs (another machine for the "
            "generator, or CPUs of its own with taskset), then measure again."
        ),
    )


def _cpu(run: Run, limit: Limit | None) -> Finding | None:
    if not run.watched:
        return None
    saturated_seconds = (
        list(limit.seconds) if limit else [s for s in run.seconds[:-1] if saturated(s, run.base)]
    )
    if len(saturated_seconds) >= 2:
        hot = [s for s in saturated_seconds if _cpu_bound(run, s)]
        if len(hot) >= 0.6 * len(saturated_seconds):
            return _cpu_finding(run, hot, limit, critical=True)
        return None
    busy = [s for s in run.seconds if _cpu_bound(run, s) and s.requests >= MIN_REQUESTS]
    if len(busy) >= 3:
        return _cpu_finding(run, busy, None, critical=False)
    return None


def _cpu_finding(run: Run, hot: list[Second], limit: Limit | None, critical: bool) -> Finding:
    busiest = statistics.median(s.busiest_pct or 0.0 for s in hot)
    machine = statistics.median(s.system_cpu_pct or 0.0 for s in hot)
    where = _cpu_where(run, hot)
    process_bound = busiest >= CPU_BOUND_PCT
    evidence = [
        f"the target's busiest process used {busiest:.0f}% of a core"
        + (" (one Python process runs on one core at a time: the GIL)" if process_bound else "")
        + f"; the machine's CPUs were {machine:.0f}% busy",
    ]
    if critical:
        evidence += _queueing_evidence(run, limit or hot)
    if where:
        top = where[0]
        evidence.append(
            f"the profile puts {top.own_share:.0%} of the CPU samples in {top.function} "
            f"({top.file}) itself, {top.total_share:.0%} in it and what it calls"
        )
    title = (
        f"CPU saturation: the target ran out of CPU at about {human_rate(limit.rate)}"
        if critical and limit
        else "CPU saturation: the target's CPU is at its limit"
        if critical
        else "CPU near its limit at the highest load tried"
    )
    hottest = f"`{where[0].function}`" if where else "the hottest code"
    return Finding(
        id="cpu_saturation",
        title=title,
        severity=_severity(run, hot) if critical else "warning",
        impact=_latency_impact(run, hot)
        if critical
        else round(0.1 * _share_of_requests(run, hot), 4),
        evidence=evidence,
        figures={
            "busiest_process_pct": round(busiest, 1),
            "machine_cpu_pct": round(machine, 1),
            "throughput_limit_rps": round(limit.rate, 1) if limit else None,
            "seconds": len(hot),
        },
        window_s=_window(hot),
        where=where,
        next_step=(
            f"Make {hottest} cheaper or call it less often: it is where the CPU goes. Or give "
            "the service more cores (more worker processes), then measure again to find the "
            "next limit."
        ),
    )


def _stages(run: Run, seconds: Sequence[Second]) -> list[int] | None:
    if run.profile is None or not run.profile.stages:
        return None
    start, end = _window(seconds)
    chosen = stacks.stages_within(run.profile, start, end)
    return chosen or None


def _cpu_where(run: Run, seconds: Sequence[Second]) -> list[Where]:
    return _where(run, seconds, "cpu", stacks.cpu_hotspots, least=0.02, most=5)


def _waiting_where(run: Run, seconds: Sequence[Second]) -> list[Where]:
    return _where(run, seconds, "waiting", stacks.waiting_spots, least=0.05, most=3)


def _where(
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
    chosen = _stages(run, seconds)
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


# ---- serialisation and pools ------------------------------------------------------------------


def _limit(run: Run, limit: Limit | None) -> Finding | None:
    if limit is None:
        return None
    if not run.watched:
        return _unexplained_limit(run, limit)
    if sum(_cpu_bound(run, s) for s in limit.seconds) >= 0.6 * len(limit.seconds):
        return None  # the CPU rule speaks for it
    in_service = limit.rate * run.base.mean_ms / 1000  # Little's law, N = X R
    cpu = statistics.median(s.cpu_pct or 0.0 for s in limit.seconds)
    starved = sum(contended(s) for s in limit.seconds)
    if starved >= 0.6 * len(limit.seconds):
        return _unexplained_limit(
            run,
            limit,
            "the machine's CPUs were all busy, so perfeng "
            "cannot tell a target starved of CPU from one that waits",
        )
    if statistics.median(s.busiest_pct or 0.0 for s in limit.seconds) >= WAITING_BELOW_PCT:
        return _unexplained_limit(run, limit, "the target was neither idle nor at a full core")
    where = _waiting_where(run, limit.seconds)
    evidence = [
        *_queueing_evidence(run, limit),
        f"the target's CPU stayed at {cpu:.0f}% of a core: it was waiting, not computing",
        f"Little's law: {human_rate(limit.rate)} x {human_ms(run.base.mean_ms)} per request "
        f"(unloaded) = {in_service:.1f} requests in service at any time",
    ]
    evidence += _steps_evidence(run)
    if where:
        top = where[0]
        code = f" (`{top.code}`)" if top.code else ""
        evidence.append(
            f"the profile finds {top.own_share:.0%} of the waiting in request code at "
            f"{top.file}:{top.line} in {top.function}{code}"
        )
    serial = in_service < 1.6
    place = f" at {where[0].file}:{where[0].line} in `{where[0].function}`" if where else ""
    return Finding(
        id="serialisation" if serial else "pool_limit",
        title=(
            f"Serialisation: requests are served one at a time, at most {human_rate(limit.rate)}"
            if serial
            else f"Pool limit: about {round(in_service)} requests in service at once, "
            f"at most {human_rate(limit.rate)}"
        ),
        severity=_severity(run, limit.seconds),
        impact=_latency_impact(run, limit.seconds),
        evidence=evidence,
        figures={
            "throughput_limit_rps": round(limit.rate, 1),
            "in_service": round(in_service, 2),
            "target_cpu_pct": round(cpu, 1),
            "unloaded_ms": round(run.base.mean_ms, 3),
        },
        window_s=_window(limit.seconds),
        where=where,
        next_step=(
            f"Find what lets one request through at a time{place}: a lock, a single worker "
            "or a blocking call in an event loop. Shorten the critical section, split the lock,"
            " or move the blocking call off the loop; more CPU will not help."
            if serial
            else f"Find the limit of about {round(in_service)}{place} (database connections, "
            "worker threads, a semaphore): raise it if what it guards has room, or make each "
            f"use shorter than its {human_ms(run.base.mean_ms)} now; more CPU will not help."
        ),
    )


def _steps_evidence(run: Run) -> list[str]:
    """Closed model: latency at each user count, in multiples of the unloaded service time."""
    if run.open_model or run.base.mean_ms <= 0:
        return []
    levels: dict[int, list[float]] = {}
    for s in run.seconds:
        if s.mean_ms is not None and s.requests >= MIN_REQUESTS:
            levels.setdefault(s.in_flight, []).append(s.mean_ms)
    if len(levels) < 2:
        return []
    parts = [
        f"{users} users: {statistics.median(v) / run.base.mean_ms:.1f}x"
        for users, v in sorted(levels.items())
    ]
    return ["latency in multiples of the unloaded service time, " + ", ".join(parts[:6])]


def _unexplained_limit(run: Run, limit: Limit, why: str | None = None) -> Finding:
    return Finding(
        id="throughput_limit",
        title=f"Throughput limit: about {human_rate(limit.rate)}, cause "
        + ("unclear" if why else "not measured"),
        severity=_severity(run, limit.seconds),
        impact=_latency_impact(run, limit.seconds),
        evidence=_queueing_evidence(run, limit) + ([why] if why else []),
        figures={
            "throughput_limit_rps": round(limit.rate, 1),
            "in_service": round(limit.rate * run.base.mean_ms / 1000, 2),
        },
        window_s=_window(limit.seconds),
        next_step=(
            "Measure again on a quiet machine, with the target watched (--target-pid PID or "
            "--target-cmd '...'), so that perfeng can tell CPU saturation from a lock or a "
            "pool, and name the code."
        ),
    )


# ---- stalls ----------------------------------------------------------------------------------


def _stall(run: Run) -> Finding | None:
    """Whole seconds with load offered and not one answer: the target (or the machine)
    stopped, which no throughput limit explains."""
    stopped = [s for s in run.seconds if stalled(s)]
    if not stopped:
        return None
    first = stopped[0]
    return Finding(
        id="stall",
        title=f"The target stopped answering for {len(stopped)} s (from {first.elapsed_s:.0f} s)",
        severity="critical",
        impact=round(_share_of_requests(run, stopped) + len(stopped) / max(len(run.seconds), 1), 4),
        evidence=[
            f"{len(stopped)} seconds with load offered ({run.load_text(first.offered)}) and no "
            "answer at all",
            "a pause of the whole process (a long garbage collection, a lock held across a slow "
            "call, swapping) or of the machine",
        ],
        figures={"seconds": len(stopped), "from_s": round(first.elapsed_s, 1)},
        window_s=_window(stopped),
        next_step=(
            "Look at what the target did then: its log, the profile of that stage, and the "
            "machine's steal and PSI figures in the resources; a repeat of the run tells a "
            "one-off pause of the machine from the target's own."
        ),
    )


# ---- errors -----------------------------------------------------------------------------------


def _rate(seconds: Sequence[Second]) -> float:
    requests = sum(s.requests for s in seconds)
    return sum(s.errors for s in seconds) / requests if requests else 0.0


def _onset(seconds: list[Second]) -> float | None:
    """The offered load above which errors appear: the split of the seconds (by load) that
    separates error-free from failing seconds best."""
    ordered = sorted(seconds, key=lambda s: s.offered or 0.0)
    best, best_gap = None, 0.0
    for index in range(1, len(ordered)):
        below, above = ordered[:index], ordered[index:]
        if _rate(below) >= 0.01:
            break
        gap = _rate(above) - _rate(below)
        if gap > best_gap:
            best, best_gap = ordered[index].offered, gap
    return best


def _errors(run: Run) -> Finding | None:
    """Errors in the planned load (those of the drain, requests cut off when the run ended,
    belong to the saturation that left them queued)."""
    summary = run.document["summary"]
    requests = sum(s.requests for s in run.seconds)
    errors = sum(s.errors for s in run.seconds)
    if errors < 5 or requests == 0 or errors / requests < 0.005:
        return None
    loaded = [s for s in run.seconds if s.requests > 0 and s.offered is not None]
    ordered = sorted(loaded, key=lambda s: s.offered or 0.0)
    half = len(ordered) // 2
    low, high = _rate(ordered[:half]), _rate(ordered[half:])
    growing = half >= 2 and high >= max(3 * low, low + 0.02)
    classes = {k: v for k, v in summary["errors_by_class"].items() if v}
    names = sorted(
        ((n, e["errors"]) for n, e in summary["by_name"].items() if e["errors"]),
        key=lambda item: -item[1],
    )
    detail = (
        "by class: "
        + ", ".join(f"{k} {v:,}" for k, v in classes.items())
        + "; by name: "
        + ", ".join(f"{n} {c:,}" for n, c in names[:3])
    )
    allowed = run.context.error_limit or 0.01
    impact = round(errors / requests * max(high / allowed, 1.0), 4)
    if not growing:
        return Finding(
            id="errors",
            title=f"Errors at every load level: {errors / requests:.1%} of requests failed",
            severity="critical" if errors / requests > allowed else "warning",
            impact=impact,
            name=names[0][0] if len(names) == 1 else None,
            evidence=[
                detail,
                f"error rate {low:.1%} in the less loaded half of the run, "
                f"{high:.1%} in the more loaded half: not caused by load",
            ],
            figures={"error_rate": round(errors / requests, 4)},
            next_step="These fail whatever the load: look at the answers (a wrong URL, "
            "a missing header, a failing check) before looking at capacity.",
        )
    onset = _onset(loaded)
    failing = [s for s in loaded if onset is not None and (s.offered or 0) >= onset]
    in_flight = None
    if onset is not None:
        in_flight = onset * run.base.mean_ms / 1000 if run.open_model else onset
    evidence = [
        detail,
        f"error rate {low:.1%} in the less loaded half of the run, {high:.1%} in the more "
        "loaded half",
    ]
    title = f"Errors under load: {high:.0%} of requests failed at the higher loads"
    if onset is not None and in_flight is not None:
        evidence.append(
            f"errors start at about {run.load_text(onset)}"
            + (
                f"; with {human_ms(run.base.mean_ms)} per request that is about "
                f"{in_flight:.0f} requests in flight (Little's law, N = rate x time): a "
                "concurrency limit"
                if run.open_model
                else ""
            )
        )
        title = (
            f"Errors under load: {high:.0%} failed above about {in_flight:.0f} requests in "
            "flight (a concurrency limit)"
        )
    return Finding(
        id="errors_under_load",
        title=title,
        severity="critical" if high > allowed else "warning",
        impact=impact,
        name=names[0][0] if len(names) == 1 else None,
        evidence=evidence,
        figures={
            "error_rate": round(errors / requests, 4),
            "error_rate_low_load": round(low, 4),
            "error_rate_high_load": round(high, 4),
            "onset_load": round(onset, 1) if onset is not None else None,
            "in_flight_at_onset": round(in_flight, 1) if in_flight is not None else None,
        },
        window_s=_window(failing) if failing else None,
        next_step=(
            "Find what refuses work past that concurrency (a connection or worker limit, a "
            "rate limiter, a queue bound) and raise it or add instances; if shedding is "
            "intended, size the limit so the error SLO holds at the expected load."
        ),
    )


# ---- memory and file descriptors ------------------------------------------------------------


def _growth(run: Run, what: str) -> Finding | None:
    calm = [
        s
        for s in run.seconds
        if getattr(s, "rss_bytes" if what == "rss" else "fds") is not None
        and not saturated(s, run.base)
    ]
    if len(calm) < 5:
        return None
    served, total = [], 0
    counts = {s.time: s.requests for s in run.seconds}
    for s in run.seconds:
        total += s.requests
        counts[s.time] = total
    served = [float(counts[s.time]) for s in calm]
    values = [float(getattr(s, "rss_bytes" if what == "rss" else "fds")) for s in calm]
    times = [s.elapsed_s for s in calm]
    per_request, _, r2 = linear_fit(served, values)
    per_second, _, _ = linear_fit(times, values)
    grown = values[-1] - values[0]
    middle = len(calm) // 2
    late, _, _ = (
        linear_fit(times[middle:], values[middle:]) if len(calm) - middle >= 3 else (0, 0, 0)
    )
    enough = MEMORY_MIN_GROWTH if what == "rss" else FD_MIN_GROWTH
    if grown < enough or r2 < 0.8 or per_second <= 0 or late < 0.4 * per_second:
        return None
    return _growth_finding(run, what, calm, per_request, per_second, grown, r2)


def _growth_finding(
    run: Run,
    what: str,
    calm: list[Second],
    per_request: float,
    per_second: float,
    grown: float,
    r2: float,
) -> Finding:
    last = calm[-1]
    unit: Callable[[float], str] = human_bytes if what == "rss" else _fds_text
    if what == "rss":
        room = float(last.mem_available_bytes or 0)
        label = "memory (RSS)"
    else:
        limits = [
            t.samples[-1].fd_limit
            for t in (run.resources.trees if run.resources else [])
            if t.samples and t.samples[-1].fd_limit
        ]
        room = float(min(limits) - (last.fds or 0)) if limits else 0.0
        label = "open file descriptors"
    exhaust = room / per_second if room > 0 else None
    evidence = [
        f"{label} grew by {unit(grown)} over {human_seconds(last.elapsed_s - calm[0].elapsed_s)}"
        f" of unsaturated load: {unit(per_request)} per request served, {unit(per_second * 60)} "
        f"a minute (least squares, R^2 {r2:.2f})",
    ]
    if exhaust is not None:
        evidence.append(
            f"at this rate the {'memory available' if what == 'rss' else 'fd limit'} "
            f"({unit(room)}) is used up in {human_seconds(exhaust)}"
        )
    critical = exhaust is not None and exhaust < 3600
    return Finding(
        id="memory_growth" if what == "rss" else "fd_growth",
        title=(
            f"Memory growth: {unit(per_request)} kept per request"
            if what == "rss"
            else f"File descriptors growing: {unit(per_request)} per request"
        ),
        severity="critical" if critical else "warning",
        impact=round(min(1.0, _run_seconds(run) / exhaust), 4) if exhaust else 0.01,
        evidence=evidence,
        figures={
            "per_request": round(per_request, 2),
            "per_minute": round(per_second * 60, 1),
            "r_squared": round(r2, 3),
            "time_to_exhaust_s": round(exhaust, 0) if exhaust else None,
        },
        window_s=_window(calm),
        next_step=(
            "Something keeps a reference to per-request data (a cache without a bound, a list "
            "that only grows, a global): take a memory profile (memray or tracemalloc) of a "
            "short run and bound or release it."
            if what == "rss"
            else "Connections or files are opened and not closed: look for missing `close()` "
            "or `with` blocks on the request path."
        ),
    )


def _run_seconds(run: Run) -> float:
    return sum(s.duration_s for s in run.seconds) or 1.0


def _fds_text(value: float) -> str:
    return f"{value:,.0f} fds" if abs(value) >= 10 else f"{value:.2f} fds"


# ---- tail latency ---------------------------------------------------------------------------


def _tail(run: Run) -> Finding | None:
    calm = [s for s in run.seconds if s.requests >= MIN_REQUESTS and not saturated(s, run.base)]
    if len(calm) < 5:
        return None
    histogram = hdr.merged(
        [
            hdr.decode(e["histogram"])
            for e in run.document["summary"]["timeseries"]
            if int(e["time"]) in {s.time for s in calm}
        ]
    )
    p50, p99 = hdr.values_at_ms(histogram, (50.0, 99.0))
    if p50 is None or p99 is None or p50 <= 0:
        return None
    evidence: list[str] = []
    ratio = p99 / p50
    if ratio >= 10 and p99 - p50 >= 20:  # a few ms of VM jitter on a 0.3 ms median is not it
        evidence.append(
            f"p99 {human_ms(p99)} is {ratio:.0f}x the median {human_ms(p50)} while the target "
            "kept up with the load"
        )
    modes = _modes(histogram)
    if modes:
        evidence.append(modes)
    spikes = _periodic_spikes(calm)
    if spikes:
        evidence.append(spikes)
    if not evidence:
        return None
    over = run.context.latency_limit_ms is not None and p99 > run.context.latency_limit_ms
    return Finding(
        id="tail_latency",
        title=f"Tail latency: p99 {human_ms(p99)} against a median of {human_ms(p50)}",
        severity="warning" if over else "info",
        impact=round(0.01 * max(p99 / run.reference_ms(), 1.0), 4),
        evidence=evidence,
        figures={"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "ratio": round(ratio, 1)},
        window_s=_window(calm),
        next_step=(
            "Look for work that stalls some requests only: garbage collection pauses, a "
            "periodic job, a cache miss path or a slow dependency; regular spikes point to a "
            "timer, two modes to two code paths."
        ),
    )


def _modes(histogram: Any) -> str:
    """Two humps in the latency distribution (log-spaced bins, 10 a decade)."""
    bins: dict[int, int] = {}
    for value_us, count in hdr.recorded(histogram):
        key = math.floor(math.log10(max(value_us, 1)) * 10)
        bins[key] = bins.get(key, 0) + count
    if len(bins) < 3:
        return ""
    low, high = min(bins), max(bins)
    counts = [bins.get(k, 0) for k in range(low, high + 1)]
    smooth = [sum(counts[max(i - 1, 0) : i + 2]) for i in range(len(counts))]
    total = sum(counts)
    peaks = [
        i
        for i in range(len(smooth))
        if smooth[i] > 0
        and smooth[i] >= (smooth[i - 1] if i else 0)
        and smooth[i] > (smooth[i + 1] if i + 1 < len(smooth) else 0)
    ]
    peaks.sort(key=lambda i: -smooth[i])
    if len(peaks) < 2:
        return ""
    first, second = sorted(peaks[:2])
    valley = min(smooth[first : second + 1])
    upper = sum(counts[(first + second) // 2 + 1 :]) / total
    slow_minority = 0.01 <= upper <= 0.5  # a tail is a minority of slow requests
    if (
        second - first < 5
        or valley > 0.25 * min(smooth[first], smooth[second])
        or not slow_minority
    ):
        return ""
    at = [10 ** ((low + i + 0.5) / 10) / 1000 for i in (first, second)]
    return (
        f"latency has two modes: most requests near {human_ms(at[0])}, and {upper:.0%} near "
        f"{human_ms(at[1])}"
    )


def _periodic_spikes(calm: list[Second]) -> str:
    p99s = sorted(s.p99_ms for s in calm if s.p99_ms is not None)
    if not p99s:
        return ""
    typical = statistics.median(p99s)
    spikes = [
        s for s in calm if s.max_ms is not None and s.max_ms >= max(5 * typical, typical + 20)
    ]
    if len(spikes) < 4:
        return ""
    gaps = [b.elapsed_s - a.elapsed_s for a, b in itertools.pairwise(spikes)]
    period = statistics.mean(gaps)
    if period < 2 or statistics.pstdev(gaps) > 0.25 * period:
        return ""
    peak = statistics.median(float(s.max_ms or 0) for s in spikes)
    return (
        f"latency spikes to about {human_ms(peak)} every {human_seconds(period)} "
        f"({len(spikes)} times): periodic work such as garbage collection or a timer"
    )


# ---- nothing found ---------------------------------------------------------------------------


def _no_bottleneck(run: Run) -> Finding:
    loads = [s.offered for s in run.seconds if s.offered is not None and s.requests > 0]
    top = max(loads) if loads else None
    peak = max(run.seconds, key=lambda s: s.achieved)
    loaded = [s for s in run.seconds if top is not None and (s.offered or 0) >= 0.8 * top]
    p99s = [s.p99_ms for s in loaded if s.p99_ms is not None]
    evidence = [
        f"the highest load tried was {run.load_text(top)}; throughput reached "
        f"{human_rate(peak.achieved)}",
        f"p99 at the highest loads {human_ms(max(p99s) if p99s else None)}, against "
        f"{human_ms(run.base.p99_ms)} unloaded; errors "
        f"{run.document['summary']['error_rate']:.1%}",
    ]
    cpu = [s.busiest_pct for s in run.seconds if s.busiest_pct is not None]
    if cpu:
        evidence.append(f"the target's busiest process peaked at {max(cpu):.0f}% of a core")
    return Finding(
        id="no_bottleneck",
        title=f"No bottleneck up to {run.load_text(top)}",
        severity="info",
        impact=0.0,
        evidence=evidence,
        figures={
            "highest_load": round(top, 1) if top is not None else None,
            "peak_rps": round(peak.achieved, 1),
        },
        next_step=(
            "Nothing limited the target in the range tried: test higher (perfeng capacity "
            "find, or a higher --rate) to find where it stops keeping up."
        ),
    )


def _nothing_measured(document: dict[str, Any]) -> Finding:
    return Finding(
        id="no_bottleneck",
        title="Too little was measured to say anything",
        severity="info",
        impact=0.0,
        evidence=[f"{document['summary']['requests']} requests answered"],
        figures={},
        next_step="Run longer or at a higher load; findings need a few seconds of answers.",
    )
