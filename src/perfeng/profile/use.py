"""Sans-IO core of the resource sampler: two readings of cumulative counters in, one
per-second sample out (Brendan Gregg's USE method: utilisation, saturation, errors).

Readings are what the OS counts since boot or since a process started; a sample is the
difference over the second between two readings, divided by the time between them. A reading
the OS does not offer is ``None`` and stays ``None`` in the sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from perfeng.model.watch import SystemSample, TreeSample


@dataclass(frozen=True)
class ProcessReading:
    """Cumulative counters and gauges of one process at one instant."""

    pid: int
    create_time: float
    cpu_user_s: float
    cpu_system_s: float
    rss_bytes: int | None = None
    uss_bytes: int | None = None
    threads: int | None = None
    fds: int | None = None
    fd_limit: int | None = None
    ctx_voluntary: int | None = None
    ctx_involuntary: int | None = None
    read_bytes: int | None = None
    write_bytes: int | None = None
    tcp: Mapping[str, int] | None = None


@dataclass(frozen=True)
class SystemReading:
    wall_s: float
    per_cpu_busy_s: tuple[float, ...]  # non-idle time of each CPU
    per_cpu_total_s: tuple[float, ...]
    steal_s: float | None
    iowait_s: float | None
    total_s: float  # all CPUs, all states
    load1: float
    psi_us: Mapping[str, int]  # "cpu_some", "memory_full", ...: cumulative stall time
    mem_available_bytes: int
    net_drops: int | None
    net_errors: int | None
    listen_overflows: int | None
    listen_drops: int | None
    generator_cpu_s: float | None


@dataclass(frozen=True)
class TreeReading:
    wall_s: float
    processes: tuple[ProcessReading, ...] = field(default_factory=tuple)


def _per_s(now: float | None, before: float | None, seconds: float) -> float | None:
    if now is None or before is None or seconds <= 0:
        return None
    return round(max(now - before, 0) / seconds, 3)


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _cpu_deltas(before: TreeReading, after: TreeReading) -> list[tuple[float, float]]:
    """(user, system) seconds each process spent between the readings. A process that
    started in between counts all its time; one that ended is lost (at most a second)."""
    earlier = {(p.pid, p.create_time): p for p in before.processes}
    deltas = []
    for process in after.processes:
        old = earlier.get((process.pid, process.create_time))
        user0, system0 = (old.cpu_user_s, old.cpu_system_s) if old else (0.0, 0.0)
        deltas.append(
            (max(process.cpu_user_s - user0, 0.0), max(process.cpu_system_s - system0, 0.0))
        )
    return deltas


def _tcp(processes: tuple[ProcessReading, ...]) -> dict[str, int] | None:
    if all(p.tcp is None for p in processes):
        return None
    states: dict[str, int] = {}
    for process in processes:
        for state, count in (process.tcp or {}).items():
            states[state] = states.get(state, 0) + count
    return dict(sorted(states.items()))


def _counter(before: TreeReading, after: TreeReading, attr: str, seconds: float) -> float | None:
    """A per-second rate of a per-process counter summed over the processes in both."""
    earlier = {(p.pid, p.create_time): p for p in before.processes}
    total, known = 0, False
    for process in after.processes:
        old = earlier.get((process.pid, process.create_time))
        now_value = getattr(process, attr)
        old_value = getattr(old, attr) if old else 0
        if now_value is None or old_value is None:
            continue
        known = True
        total += max(now_value - old_value, 0)
    return round(total / seconds, 3) if known and seconds > 0 else None


def tree_sample(before: TreeReading, after: TreeReading, second: int) -> TreeSample:
    seconds = after.wall_s - before.wall_s
    processes = after.processes
    deltas = _cpu_deltas(before, after)
    pct = 100 / seconds if seconds > 0 else 0.0
    user = sum(d[0] for d in deltas) * pct
    system = sum(d[1] for d in deltas) * pct
    limits = [p.fd_limit for p in processes if p.fd_limit is not None]
    return TreeSample(
        time=second,
        processes=len(processes),
        cpu_pct=round(user + system, 2) if processes else None,
        user_pct=round(user, 2) if processes else None,
        system_pct=round(system, 2) if processes else None,
        busiest_pct=round(max((u + s) * pct for u, s in deltas), 2) if deltas else None,
        rss_bytes=_sum([p.rss_bytes for p in processes]),
        uss_bytes=_sum([p.uss_bytes for p in processes]),
        threads=_sum([p.threads for p in processes]),
        fds=_sum([p.fds for p in processes]),
        fd_limit=min(limits) if limits else None,
        ctx_voluntary=_counter(before, after, "ctx_voluntary", seconds),
        ctx_involuntary=_counter(before, after, "ctx_involuntary", seconds),
        read_bytes=_counter(before, after, "read_bytes", seconds),
        write_bytes=_counter(before, after, "write_bytes", seconds),
        tcp=_tcp(processes),
    )


def _share(now: float | None, before: float | None, whole: float) -> float | None:
    if now is None or before is None or whole <= 0:
        return None
    return round(100 * max(now - before, 0.0) / whole, 2)


def system_sample(before: SystemReading, after: SystemReading, second: int) -> SystemSample:
    seconds = after.wall_s - before.wall_s
    per_cpu = [
        _share(busy, busy0, total - total0) or 0.0
        for busy, busy0, total, total0 in zip(
            after.per_cpu_busy_s,
            before.per_cpu_busy_s,
            after.per_cpu_total_s,
            before.per_cpu_total_s,
            strict=False,
        )
    ]
    whole = after.total_s - before.total_s
    psi = {
        key: _share(after.psi_us.get(key), before.psi_us.get(key), seconds * 1e6)
        for key in ("cpu_some", "memory_some", "memory_full", "io_some", "io_full")
    }
    generator = _share(after.generator_cpu_s, before.generator_cpu_s, seconds)
    return SystemSample(
        time=second,
        cpu_pct=round(sum(per_cpu) / len(per_cpu), 2) if per_cpu else 0.0,
        per_cpu_pct=per_cpu,
        steal_pct=_share(after.steal_s, before.steal_s, whole),
        iowait_pct=_share(after.iowait_s, before.iowait_s, whole),
        load1=after.load1,
        psi_cpu_some=psi["cpu_some"],
        psi_memory_some=psi["memory_some"],
        psi_memory_full=psi["memory_full"],
        psi_io_some=psi["io_some"],
        psi_io_full=psi["io_full"],
        mem_available_bytes=after.mem_available_bytes,
        net_drops=_per_s(after.net_drops, before.net_drops, seconds),
        net_errors=_per_s(after.net_errors, before.net_errors, seconds),
        listen_overflows=_per_s(after.listen_overflows, before.listen_overflows, seconds),
        listen_drops=_per_s(after.listen_drops, before.listen_drops, seconds),
        generator_cpu_pct=generator,
    )
