"""Findings about the target and its limits: the generator first, what could not be
watched, CPU saturation, serialisation and pools (Little's law), a machine busy with other
work, and stalls. See analysis/diagnose.py for the rules in one list."""

from __future__ import annotations

import statistics
from typing import Any

from perfeng.analysis.evidence import (
    CPU_BOUND_PCT,
    WAITING_BELOW_PCT,
    Run,
    contended,
    cpu_bound,
    cpu_where,
    latency_impact,
    queueing_evidence,
    severity_of,
    share_of_requests,
    waiting_where,
    window_of,
)
from perfeng.analysis.seconds import (
    MIN_REQUESTS,
    Limit,
    Second,
    saturated,
    stalled,
)
from perfeng.model.findings import Finding
from perfeng.units import human_ms, human_rate

# ---- the generator and what could not be watched -------------------------------------------


def generator_rule(run: Run) -> Finding | None:
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


def watch_gaps(run: Run) -> list[Finding | None]:
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


def contention_rule(run: Run) -> Finding | None:
    """The machine's CPUs busy while the target was not: it waited for a CPU that other
    processes (the generator, the observers, a neighbour) held."""
    busy = [s for s in run.seconds if contended(s) and not cpu_bound(run, s)]
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
        impact=round(0.5 * share_of_requests(run, busy), 4),
        evidence=[
            f"in {len(busy)} seconds the machine's CPUs were {machine:.0f}% busy and runnable "
            f"tasks waited for a CPU {pressure:.0f}% of the time (PSI) while the target used "
            f"{target:.0f}% of a core and the load generator {generator:.0f}%",
        ],
        figures={"seconds": len(busy), "machine_cpu_pct": round(machine, 1)},
        window_s=window_of(busy),
        next_step=(
            "Run the target where nothing else competes for its CPUs (another machine for the "
            "generator, or CPUs of its own with taskset), then measure again."
        ),
    )


def cpu_rule(run: Run, limit: Limit | None) -> Finding | None:
    if not run.watched:
        return None
    saturated_seconds = (
        list(limit.seconds) if limit else [s for s in run.seconds[:-1] if saturated(s, run.base)]
    )
    if len(saturated_seconds) >= 2:
        hot = [s for s in saturated_seconds if cpu_bound(run, s)]
        if len(hot) >= 0.6 * len(saturated_seconds):
            return cpu_finding(run, hot, limit, critical=True)
        return None
    busy = [s for s in run.seconds if cpu_bound(run, s) and s.requests >= MIN_REQUESTS]
    if len(busy) >= 3:
        return cpu_finding(run, busy, None, critical=False)
    return None


def cpu_finding(run: Run, hot: list[Second], limit: Limit | None, critical: bool) -> Finding:
    busiest = statistics.median(s.busiest_pct or 0.0 for s in hot)
    machine = statistics.median(s.system_cpu_pct or 0.0 for s in hot)
    where = cpu_where(run, hot)
    process_bound = busiest >= CPU_BOUND_PCT
    evidence = [
        f"the target's busiest process used {busiest:.0f}% of a core"
        + (" (one Python process runs on one core at a time: the GIL)" if process_bound else "")
        + f"; the machine's CPUs were {machine:.0f}% busy",
    ]
    if critical:
        evidence += queueing_evidence(run, limit or hot)
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
        severity=severity_of(run, hot) if critical else "warning",
        impact=latency_impact(run, hot)
        if critical
        else round(0.1 * share_of_requests(run, hot), 4),
        evidence=evidence,
        figures={
            "busiest_process_pct": round(busiest, 1),
            "machine_cpu_pct": round(machine, 1),
            "throughput_limit_rps": round(limit.rate, 1) if limit else None,
            "seconds": len(hot),
        },
        window_s=window_of(hot),
        where=where,
        next_step=(
            f"Make {hottest} cheaper or call it less often: it is where the CPU goes. Or give "
            "the service more cores (more worker processes), then measure again to find the "
            "next limit."
        ),
    )


# ---- serialisation and pools ------------------------------------------------------------------


def limit_rule(run: Run, limit: Limit | None) -> Finding | None:
    if limit is None:
        return None
    if not run.watched:
        return unexplained_limit(run, limit)
    if sum(cpu_bound(run, s) for s in limit.seconds) >= 0.6 * len(limit.seconds):
        return None  # the CPU rule speaks for it
    in_service = limit.rate * run.base.mean_ms / 1000  # Little's law, N = X R
    cpu = statistics.median(s.cpu_pct or 0.0 for s in limit.seconds)
    starved = sum(contended(s) for s in limit.seconds)
    if starved >= 0.6 * len(limit.seconds):
        return unexplained_limit(
            run,
            limit,
            "the machine's CPUs were all busy, so perfeng "
            "cannot tell a target starved of CPU from one that waits",
        )
    if statistics.median(s.busiest_pct or 0.0 for s in limit.seconds) >= WAITING_BELOW_PCT:
        return unexplained_limit(run, limit, "the target was neither idle nor at a full core")
    where = waiting_where(run, limit.seconds)
    evidence = [
        *queueing_evidence(run, limit),
        f"the target's CPU stayed at {cpu:.0f}% of a core: it was waiting, not computing",
        f"Little's law: {human_rate(limit.rate)} x {human_ms(run.base.mean_ms)} per request "
        f"(unloaded) = {in_service:.1f} requests in service at any time",
    ]
    evidence += steps_evidence(run)
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
        severity=severity_of(run, limit.seconds),
        impact=latency_impact(run, limit.seconds),
        evidence=evidence,
        figures={
            "throughput_limit_rps": round(limit.rate, 1),
            "in_service": round(in_service, 2),
            "target_cpu_pct": round(cpu, 1),
            "unloaded_ms": round(run.base.mean_ms, 3),
        },
        window_s=window_of(limit.seconds),
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


def steps_evidence(run: Run) -> list[str]:
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


def unexplained_limit(run: Run, limit: Limit, why: str | None = None) -> Finding:
    return Finding(
        id="throughput_limit",
        title=f"Throughput limit: about {human_rate(limit.rate)}, cause "
        + ("unclear" if why else "not measured"),
        severity=severity_of(run, limit.seconds),
        impact=latency_impact(run, limit.seconds),
        evidence=queueing_evidence(run, limit) + ([why] if why else []),
        figures={
            "throughput_limit_rps": round(limit.rate, 1),
            "in_service": round(limit.rate * run.base.mean_ms / 1000, 2),
        },
        window_s=window_of(limit.seconds),
        next_step=(
            "Measure again on a quiet machine, with the target watched (--target-pid PID or "
            "--target-cmd '...'), so that perfeng can tell CPU saturation from a lock or a "
            "pool, and name the code."
        ),
    )


# ---- stalls ----------------------------------------------------------------------------------


def stall_rule(run: Run) -> Finding | None:
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
        impact=round(share_of_requests(run, stopped) + len(stopped) / max(len(run.seconds), 1), 4),
        evidence=[
            f"{len(stopped)} seconds with load offered ({run.load_text(first.offered)}) and no "
            "answer at all",
            "a pause of the whole process (a long garbage collection, a lock held across a slow "
            "call, swapping) or of the machine",
        ],
        figures={"seconds": len(stopped), "from_s": round(first.elapsed_s, 1)},
        window_s=window_of(stopped),
        next_step=(
            "Look at what the target did then: its log, the profile of that stage, and the "
            "machine's steal and PSI figures in the resources; a repeat of the run tells a "
            "one-off pause of the machine from the target's own."
        ),
    )
