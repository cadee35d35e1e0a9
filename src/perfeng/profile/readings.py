"""Reading the OS: psutil where it serves, /proc for PSI and the TCP listen queue.

Every reader returns ``None`` for what this OS (or our permissions) does not offer and notes
why in ``Notes``, which the result reports once, instead of failing the run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import psutil

from perfeng.profile.use import ProcessReading, SystemReading, TreeReading

T = TypeVar("T")
_PSI = Path("/proc/pressure")
_NETSTAT = Path("/proc/net/netstat")


class Notes:
    """Readings that were not available, each said once."""

    def __init__(self) -> None:
        self.items: dict[str, None] = {}

    def add(self, text: str) -> None:
        self.items.setdefault(text, None)

    def __iter__(self) -> Any:
        return iter(self.items)


def _try(read: Callable[[], T], what: str, notes: Notes) -> T | None:
    try:
        return read()
    except psutil.AccessDenied:
        notes.add(f"{what}: access denied (watch a process of your own user, or run as root)")
    except (NotImplementedError, AttributeError, OSError):
        notes.add(f"{what}: not offered by this OS")
    return None


def _tcp_states(process: psutil.Process) -> dict[str, int]:
    states: dict[str, int] = {}
    for conn in process.net_connections(kind="tcp"):
        states[conn.status] = states.get(conn.status, 0) + 1
    return states


def read_process(process: psutil.Process, notes: Notes) -> ProcessReading | None:
    """One process's counters; None when it is gone."""
    try:
        with process.oneshot():
            times = process.cpu_times()
            ctx = _try(process.num_ctx_switches, "context switches", notes)
            io = _try(process.io_counters, "process I/O bytes", notes)
            full = _try(process.memory_full_info, "USS memory", notes)
            rss = full.rss if full is not None else process.memory_info().rss
            limit = _try(lambda: process.rlimit(psutil.RLIMIT_NOFILE)[0], "fd limit", notes)
            return ProcessReading(
                pid=process.pid,
                create_time=process.create_time(),
                cpu_user_s=times.user,
                cpu_system_s=times.system,
                rss_bytes=rss,
                uss_bytes=getattr(full, "uss", None),
                threads=process.num_threads(),
                fds=_try(process.num_fds, "open file descriptors", notes),
                fd_limit=limit if limit is not None and limit >= 0 else None,
                ctx_voluntary=ctx.voluntary if ctx else None,
                ctx_involuntary=ctx.involuntary if ctx else None,
                read_bytes=io.read_bytes if io else None,
                write_bytes=io.write_bytes if io else None,
                tcp=_try(lambda: _tcp_states(process), "TCP connections", notes),
            )
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


def tree_processes(root: psutil.Process) -> list[psutil.Process]:
    """The root and its descendants now (children come and go: read each second)."""
    try:
        return [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []


def read_tree(root: psutil.Process, wall_s: float, notes: Notes) -> TreeReading:
    readings = (read_process(p, notes) for p in tree_processes(root))
    return TreeReading(wall_s=wall_s, processes=tuple(r for r in readings if r is not None))


def _psi(notes: Notes) -> dict[str, int]:
    totals: dict[str, int] = {}
    for resource in ("cpu", "memory", "io"):
        try:
            lines = (_PSI / resource).read_text().splitlines()
        except OSError:
            notes.add(f"PSI {resource} pressure: /proc/pressure/{resource} is not available")
            continue
        for line in lines:
            kind, *fields = line.split()
            for item in fields:
                key, _, value = item.partition("=")
                if key == "total":
                    totals[f"{resource}_{kind}"] = int(value)
    return totals


def _netstat(notes: Notes) -> dict[str, int]:
    """TcpExt counters from /proc/net/netstat: header lines then value lines, in pairs."""
    try:
        lines = _NETSTAT.read_text().splitlines()
    except OSError:
        notes.add("listen-queue overflows: /proc/net/netstat is not available")
        return {}
    values: dict[str, int] = {}
    for header, numbers in zip(lines[::2], lines[1::2], strict=False):
        names, counts = header.split()[1:], numbers.split()[1:]
        if header.startswith("TcpExt:"):
            values.update({n: int(c) for n, c in zip(names, counts, strict=False)})
    return values


def _net(notes: Notes) -> tuple[int | None, int | None]:
    counters = _try(psutil.net_io_counters, "network drops and errors", notes)
    if counters is None:
        return None, None
    return counters.dropin + counters.dropout, counters.errin + counters.errout


def read_system(wall_s: float, generator: psutil.Process | None, notes: Notes) -> SystemReading:
    per_cpu = psutil.cpu_times(percpu=True)
    busy = tuple(
        t.user
        + t.nice
        + t.system
        + getattr(t, "irq", 0)
        + getattr(t, "softirq", 0)
        + getattr(t, "steal", 0)
        for t in per_cpu
    )
    totals = tuple(sum(t) for t in per_cpu)
    netstat = _netstat(notes)
    drops, errors = _net(notes)
    return SystemReading(
        wall_s=wall_s,
        per_cpu_busy_s=busy,
        per_cpu_total_s=totals,
        steal_s=_field_sum(per_cpu, "steal"),
        iowait_s=_field_sum(per_cpu, "iowait"),
        total_s=sum(totals),
        load1=round(os.getloadavg()[0], 2),
        psi_us=_psi(notes),
        mem_available_bytes=psutil.virtual_memory().available,
        net_drops=drops,
        net_errors=errors,
        listen_overflows=netstat.get("ListenOverflows"),
        listen_drops=netstat.get("ListenDrops"),
        generator_cpu_s=_generator_cpu(generator),
    )


def _field_sum(per_cpu: Iterable[Any], name: str) -> float | None:
    values = [getattr(t, name, None) for t in per_cpu]
    return None if any(v is None for v in values) else float(sum(v for v in values if v))


def _generator_cpu(process: psutil.Process | None) -> float | None:
    if process is None:
        return None
    with contextlib.suppress(psutil.Error):
        times = process.cpu_times()
        return float(times.user + times.system)
    return None
