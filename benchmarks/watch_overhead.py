"""What watching the target costs the target (issue 9): its throughput at saturation with and
without ``perfeng load --target-pid``.

Targets (``--targets``, default both), each a CPU-bound Python service pinned to CPU 1 and
driven past saturation (its process at ~100 % of that core) through ``/cpu``, about 5 ms of
pure-Python CPU per request:

threaded  tests/services/threaded_server.py (the standard library's ThreadingHTTPServer, a
          thread per connection), started as tests/services/launch.py's ``command``
demo      ``perfeng demo serve`` (uvicorn, one event loop)

Load: ``perfeng load URL/cpu --users 16 --duration 10s --out X.json --quiet`` pinned to CPU 0
(closed model); throughput is the result's ``summary.throughput_rps``. Modes (``--modes``):

none       no watching
resources  ``--target-pid PID --no-profile``: the watcher process samples the target's
           resources once a second (psutil, /proc), no py-spy
profile    ``--target-pid PID``: the watcher plus two ``py-spy record --nonblocking``
           recorders (one with ``--idle``) at ``--profile-rate`` Hz (default 100)
profile:HZ the same at HZ samples a second (for investigating; not in the default set)
control    a second unwatched run (an A/A pair with ``none``: the noise floor)

The watcher and py-spy are started by perfeng, run at nice 10 and reset their CPU affinity
to every CPU: the configuration users get, so it is kept here (the script says so in its
output). Each target process is started once, warmed up by a short run, and serves every
run; each repetition runs every mode once on each target, the order rotated from one
repetition to the next (A B C, B C A, C A B, ...). Before each run the script waits until the
machine is quiet (< 15 % busy over 2 s, at most 20 s). During the run a sampler reads /proc
every 0.5 s, so that the figures cover the load itself (from the result's start to its end):
the target's CPU, the generator's, the watcher's and each py-spy's, the machine's busy share
and what other programs took. A run during which other programs took more than 15 % of a
core, or the host stole more than 5 % of the machine, is repeated once (``--max-foreign``,
``--max-steal``, ``--retries``).

The ratio of a mode's throughput to ``none``'s is taken per repetition and target, and the
median of those ratios is the figure judged against the goal (at most 3 % lost): pairing
within a repetition cancels slow drifts of a shared machine. The same ratio of the target's
CPU share (the part of its core it got) is printed beside it: it shows what the observers
took from the target's core without the host's speed changes, which move throughput by
10-20 % from one run to the next on a shared VM (``control`` measures that floor). Only
127.0.0.1 is used; every process started here is stopped by its PID (SIGTERM, then SIGKILL),
also on Ctrl-C; each run is bounded (duration + 60 s).

    .venv/bin/python benchmarks/watch_overhead.py [--reps 5] [--duration 10]
        [--targets threaded,demo] [--modes none,resources,profile] [--json-out FILE]
    .venv/bin/python benchmarks/watch_overhead.py --report FILE   # the tables again
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.services.launch

from tests.services.launch import command as service_command  # noqa: E402

HOST = "127.0.0.1"
HZ = os.sysconf("SC_CLK_TCK")
TARGETS = ("threaded", "demo")
DEFAULT_MODES = ("none", "resources", "profile")
GOAL_LOST_PCT = 3.0
POLL_S = 0.5
ROLES = ("generator", "watcher", "pyspy_idle", "pyspy_cpu")


# --------------------------------------------------------------------------- processes


class Children:
    """Every process started here, so that ``finally`` can end each one by its PID."""

    def __init__(self) -> None:
        self.live: dict[int, subprocess.Popen[bytes]] = {}
        self.observers: dict[int, str] = {}  # pid -> cmdline of watchers and py-spy seen

    def start(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # A session of its own: Ctrl-C reaches only this script, which then ends the child.
        proc = subprocess.Popen(list(cmd), start_new_session=True, **kwargs)
        self.live[proc.pid] = proc
        return proc

    def end(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout)
            except ProcessLookupError:
                pass
        self.live.pop(proc.pid, None)

    def end_all(self) -> None:
        for proc in list(self.live.values()):
            self.end(proc)
        self.end_observers()

    def end_observers(self, grace_s: float = 5.0) -> None:
        """A watcher or py-spy that outlived its perfeng (it stops by itself when perfeng's
        pipe closes; this is the safety net), matched by PID and command line."""
        left = [pid for pid, cmd in self.observers.items() if _cmdline(pid) == cmd]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                left = [pid for pid in left if _cmdline(pid) == self.observers[pid]]
                if not left:
                    return
                time.sleep(0.1)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the service exited with code {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {HOST}:{port}") from None
            time.sleep(0.1)


def proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, utime+stime ticks, CPU last run on) of ``pid``, None when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[36])


# --------------------------------------------------------------------------- machine load


CpuTimes = dict[str, tuple[int, int, int, int]]


def cpu_times() -> CpuTimes:
    """(busy, total, steal, user+nice+system) jiffies per line of /proc/stat: 'cpu', 'cpu0'..."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if not line.startswith("cpu"):
            break
        name, *vals = line.split()
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, vals[:8])
        busy = user + nice + system + irq + softirq
        out[name] = (busy, busy + idle + iowait + steal, steal, user + nice + system)
    return out


def busy_pct(before: CpuTimes, after: CpuTimes, name: str, column: int = 0) -> float:
    """Share of ``name``'s time that was busy (column 0) or stolen by the host (column 2)."""
    part = after[name][column] - before[name][column]
    total = after[name][1] - before[name][1]
    return 100.0 * part / total if total > 0 else 0.0


def wait_quiet(limit_pct: float, max_wait_s: float, sample_s: float = 2.0) -> tuple[float, float]:
    """Sample until the machine is below ``limit_pct`` busy; returns (seconds waited, busy %)."""
    waited = 0.0
    while True:
        before = cpu_times()
        time.sleep(sample_s)
        pct = busy_pct(before, cpu_times(), "cpu")
        if pct < limit_pct or waited >= max_wait_s:
            return waited, round(pct, 1)
        waited += sample_s


# --------------------------------------------------------------------------- sampling a run


@dataclass
class Sample:
    at: float  # time.time()
    cpu: CpuTimes
    target: int  # ticks of the target process (every thread)
    roles: dict[str, int]  # ticks per role, processes that ended included at their last value
    own: int  # ticks of this script (the sampler included)
    on_srv: dict[str, int]  # per role: live processes last seen on the target's CPU


class Sampler(threading.Thread):
    """Reads /proc every ``POLL_S`` during one generator run: the target, the generator and
    its descendants (the watcher and the py-spy recorders, told apart by command line)."""

    def __init__(self, generator: int, target: int, srv_cpu: int, children: Children) -> None:
        super().__init__(daemon=True)
        self.generator, self.target, self.srv_cpu = generator, target, srv_cpu
        self.children = children
        self.samples: list[Sample] = []
        self.role_of: dict[int, str] = {generator: "generator"}
        self.last: dict[int, int] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while True:
            self.samples.append(self.read())
            if self.halt.wait(POLL_S):
                self.samples.append(self.read())
                return

    def read(self) -> Sample:
        stats = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                st = proc_stat(int(entry.name))
                if st is not None:
                    stats[int(entry.name)] = st
        on_srv = dict.fromkeys(ROLES, 0)
        for pid in self._descendants(stats):
            role = self.role_of.get(pid) or self._classify(pid)
            if role is None:
                continue
            self.last[pid] = max(self.last.get(pid, 0), stats[pid][1])
            on_srv[role] += stats[pid][2] == self.srv_cpu
        roles = dict.fromkeys(ROLES, 0)
        for pid, ticks in self.last.items():
            roles[self.role_of[pid]] += ticks
        own = os.times()
        target = stats.get(self.target, (0, 0, 0))[1]
        return Sample(
            time.time(), cpu_times(), target, roles, round((own[0] + own[1]) * HZ), on_srv
        )

    def _descendants(self, stats: dict[int, tuple[int, int, int]]) -> list[int]:
        kids: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in stats.items():
            kids.setdefault(ppid, []).append(pid)
        found, todo = [], [self.generator] if self.generator in stats else []
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += kids.get(pid, [])
        return found

    def _classify(self, pid: int) -> str | None:
        cmd = _cmdline(pid)
        if cmd is None:
            return None
        role = None
        if "perfeng.profile.watcher" in cmd:
            role = "watcher"
        elif "py-spy" in cmd and " record " in cmd:
            role = "pyspy_idle" if "--idle" in cmd else "pyspy_cpu"
        if role is not None:
            self.role_of[pid] = role
            self.children.observers[pid] = cmd
        return role

    def window(self, start: float, end: float) -> tuple[Sample, Sample] | None:
        """The first and last samples inside [start, end] (the load itself)."""
        inside = [s for s in self.samples if start <= s.at <= end]
        return (inside[0], inside[-1]) if len(inside) >= 2 else None


def window_figures(pair: tuple[Sample, Sample], gen_cpu: int, srv_cpu: int) -> dict[str, Any]:
    """CPU shares over the load: processes in % of one core, the machine in % of all."""
    a, b = pair
    wall = b.at - a.at
    pct: dict[str, float] = {}

    def core(ticks: int) -> float:
        return round(100.0 * ticks / HZ / wall, 1)

    target = b.target - a.target
    roles = {r: b.roles[r] - a.roles[r] for r in ROLES}
    own = b.own - a.own
    known = target + sum(roles.values()) + own
    process_jiffies = b.cpu["cpu"][3] - a.cpu["cpu"][3]  # user+nice+system, every CPU
    pct["target_cpu_pct"] = core(target)
    for role, ticks in roles.items():
        pct[f"{role}_cpu_pct"] = core(ticks)
    pct["observers_cpu_pct"] = core(roles["watcher"] + roles["pyspy_idle"] + roles["pyspy_cpu"])
    pct["pyspy_cpu_pct"] = core(roles["pyspy_idle"] + roles["pyspy_cpu"])
    pct["bench_script_cpu_pct"] = core(own)
    pct["other_cpu_pct"] = max(core(process_jiffies - known), 0.0)
    pct["machine_busy_pct"] = round(busy_pct(a.cpu, b.cpu, "cpu"), 1)
    pct["gen_core_busy_pct"] = round(busy_pct(a.cpu, b.cpu, f"cpu{gen_cpu}"), 1)
    pct["target_core_busy_pct"] = round(busy_pct(a.cpu, b.cpu, f"cpu{srv_cpu}"), 1)
    pct["steal_pct"] = round(busy_pct(a.cpu, b.cpu, "cpu", column=2), 1)
    return {"window_s": round(wall, 2), **pct}


# --------------------------------------------------------------------------- the targets


@dataclass
class Service:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/cpu"


def service_argv(name: str, port: int) -> list[str]:
    if name == "threaded":
        return service_command("threaded", port)
    return [sys.executable, "-m", "perfeng", "demo", "serve", "--port", str(port)]


# --------------------------------------------------------------------------- one run


@dataclass
class Config:
    reps: int
    duration: int
    users: int
    targets: tuple[str, ...]
    modes: tuple[str, ...]
    profile_rate: int
    gen_cpu: int
    srv_cpu: int
    nice: int
    quiet_pct: float
    quiet_max_s: float
    max_foreign_pct: float
    max_steal_pct: float
    retries: int
    warmup_s: int
    workdir: Path


@dataclass
class Bench:
    cfg: Config
    children: Children
    runs: list[dict[str, Any]] = field(default_factory=list)
    services: dict[str, Service] = field(default_factory=dict)
    _count: int = 0

    def log(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def pinned(self, cpu: int, cmd: Sequence[str]) -> list[str]:
        prefix = ["nice", "-n", str(self.cfg.nice)] if self.cfg.nice else []
        return [*prefix, "taskset", "-c", str(cpu), *cmd]

    def start_service(self, name: str) -> Service:
        port = free_port()
        log = self.cfg.workdir / f"service.{name}.log"
        with log.open("wb") as sink:
            cmd = self.pinned(self.cfg.srv_cpu, service_argv(name, port))
            proc = self.children.start(cmd, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        service = Service(name, port, proc, log)
        self.services[name] = service
        wait_port(port, proc)
        self.log(f"{name}: PID {proc.pid} on {service.url}, CPU {self.cfg.srv_cpu}; warming up")
        warm = self.generate(service, [], f"warmup.{name}", self.cfg.warmup_s)
        rps = warm.get("rps")
        if not rps or warm.get("errors"):
            raise RuntimeError(f"{name}: the warm-up run failed: {warm}")
        self.log(f"{name}: warm-up {rps:.1f} req/s")
        return service

    def mode_args(self, mode: str, pid: int) -> list[str]:
        if mode in ("none", "control"):
            return []
        if mode == "resources":
            return ["--target-pid", str(pid), "--no-profile"]
        rate = int(mode.split(":", 1)[1]) if ":" in mode else self.cfg.profile_rate
        return ["--target-pid", str(pid), "--profile-rate", str(rate)]

    def generate(
        self, service: Service, extra: Sequence[str], tag: str, duration: int
    ) -> dict[str, Any]:
        """One ``perfeng load`` on the generator CPU, sampled from /proc while it runs."""
        out = self.cfg.workdir / f"{tag}.json"
        err = self.cfg.workdir / f"{tag}.err"
        load = [sys.executable, "-m", "perfeng", "load", service.url]
        load += ["--users", str(self.cfg.users), "--duration", f"{duration}s"]
        load += ["--out", str(out), "--quiet", *extra]
        cmd = self.pinned(self.cfg.gen_cpu, load)
        row: dict[str, Any] = {"command": " ".join(load[2:]).replace(sys.executable, "python")}
        wall0 = time.time()
        with err.open("wb") as ferr:
            proc = self.children.start(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=ferr)
        sampler = Sampler(proc.pid, service.pid, self.cfg.srv_cpu, self.children)
        sampler.start()
        try:
            proc.wait(duration + 60)
        except subprocess.TimeoutExpired:
            row["timed_out"] = True
        finally:
            self.children.end(proc)
            sampler.halt.set()
            sampler.join()
        row["rc"], row["wall_s"] = proc.returncode, round(time.time() - wall0, 2)
        row["stderr_tail"] = err.read_text(errors="replace").strip()[-1000:]
        try:
            row.update(read_result(out))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            row["failure"] = f"no usable result: {exc!r}"
            return row
        pair = sampler.window(row["load_start"], row["load_end"])
        if pair is None:
            row["failure"] = "fewer than two /proc samples during the load"
            return row
        row.update(window_figures(pair, self.cfg.gen_cpu, self.cfg.srv_cpu))
        row["observer_samples_on_target_cpu"] = {
            r: sum(s.on_srv[r] for s in sampler.samples) for r in ROLES[1:]
        }
        if row.get("rps"):
            row["target_cpu_ms_per_req"] = round(10.0 * row["target_cpu_pct"] / row["rps"], 3)
        return row

    def run(self, target: str, mode: str, rep: int, position: int) -> None:
        """One measured run, repeated when other programs were busy during it."""
        service = self.services[target]
        for attempt in range(1, self.cfg.retries + 2):
            waited, busy_before = wait_quiet(self.cfg.quiet_pct, self.cfg.quiet_max_s)
            self._count += 1
            tag = f"{self._count:03d}.{target}.{mode.replace(':', '')}.r{rep}"
            row = self.generate(service, self.mode_args(mode, service.pid), tag, self.cfg.duration)
            row.update(target=target, mode=mode, rep=rep, position=position, attempt=attempt)
            row.update(waited_quiet_s=waited, busy_before_pct=busy_before)
            row["contaminated"] = self.contaminated(row)
            self.runs.append(row)
            self.log(describe(row))
            if not row["contaminated"] or attempt > self.cfg.retries:
                return
            row["discarded"] = True
            self.log("  other programs or the host took CPU: repeating this run")

    def contaminated(self, row: dict[str, Any]) -> bool:
        """Other programs took more than ``max_foreign_pct`` of a core, or the host (steal)
        more than ``max_steal_pct`` of the machine, during the load."""
        foreign, steal = row.get("other_cpu_pct"), row.get("steal_pct")
        return (foreign is not None and foreign > self.cfg.max_foreign_pct) or (
            steal is not None and steal > self.cfg.max_steal_pct
        )


def read_result(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    summary, meta, gen = doc["summary"], doc["metadata"], doc["generator"]
    row: dict[str, Any] = {
        "rps": summary["throughput_rps"],
        "requests": summary["requests"],
        "errors": summary["errors"],
        "p50_ms": summary["latency_ms"]["p50"],
        "p99_ms": summary["latency_ms"]["p99"],
        "load_start": meta["start_epoch_s"],
        "load_end": meta["end_epoch_s"],
        "run_s": meta["duration_s"],
        "gen_share_of_core": gen["cpu_share_of_core"],
        "gen_warnings": gen["warnings"],
        "interrupted": doc.get("interrupted"),
    }
    profile = doc.get("profile")
    if profile is not None:
        samples = sum(s[2] for s in profile["stacks"])  # [stage, frames, wall, cpu]
        row["profile"] = {
            "status": profile["status"],
            "reason": profile.get("reason"),
            "rate_hz": profile["rate_hz"],
            "wall_samples": samples,
            "cpu_samples": sum(s[3] for s in profile["stacks"]),
            "errors": profile.get("errors"),
        }
    resources = doc.get("resources")
    if resources is not None:
        row["resource_samples"] = len(resources["system"])
    return row


def describe(row: dict[str, Any]) -> str:
    head = f"{row['target']:8} {row['mode']:11} rep {row['rep']}"
    if row.get("failure"):
        return f"{head}: FAILED {row['failure']}"
    g = row.get
    return (
        f"{head}: {fmt(g('rps'))} req/s, target {fmt(g('target_cpu_pct'))} % CPU "
        f"({fmt(g('target_cpu_ms_per_req'), 2)} ms/req), observers {fmt(g('observers_cpu_pct'))}"
        f" %, other programs {fmt(g('other_cpu_pct'))} %, machine "
        f"{fmt(g('machine_busy_pct'))} % busy, steal {fmt(g('steal_pct'))} %"
    )


def order(modes: Sequence[str], rep: int) -> list[str]:
    """A B C, B C A, C A B, ... (rep counts from 1)."""
    k = (rep - 1) % len(modes)
    return [*modes[k:], *modes[:k]]


# --------------------------------------------------------------------------- summary


def kept(runs: Iterable[dict[str, Any]], target: str, mode: str) -> list[dict[str, Any]]:
    return [
        r
        for r in runs
        if r["target"] == target
        and r["mode"] == mode
        and not r.get("discarded")
        and not r.get("failure")
    ]


def values(runs: Iterable[dict[str, Any]], key: str) -> list[float]:
    return [r[key] for r in runs if isinstance(r.get(key), int | float)]


def ratios(runs: list[dict[str, Any]], target: str, mode: str, key: str = "rps") -> list[float]:
    """``key`` of mode / ``key`` of none per repetition, where both ran."""
    base = {r["rep"]: r.get(key) for r in kept(runs, target, "none")}
    return [
        round(r[key] / base[r["rep"]], 4)
        for r in kept(runs, target, mode)
        if base.get(r["rep"]) and isinstance(r.get(key), int | float)
    ]


def summarise(runs: list[dict[str, Any]], cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = (
        "rps", "target_cpu_pct", "target_cpu_ms_per_req", "generator_cpu_pct",
        "watcher_cpu_pct", "pyspy_idle_cpu_pct", "pyspy_cpu_cpu_pct", "observers_cpu_pct",
        "target_core_busy_pct", "machine_busy_pct", "other_cpu_pct", "steal_pct",
    )  # fmt: skip
    for target in cfg.targets:
        per_mode: dict[str, Any] = {}
        for mode in cfg.modes:
            rs = kept(runs, target, mode)
            entry: dict[str, Any] = {"runs": len(rs)}
            for key in keys:
                v = values(rs, key)
                entry[key] = (
                    {"median": statistics.median(v), "min": min(v), "max": max(v)} if v else None
                )
            if mode != "none":
                rr = ratios(runs, target, mode)
                med = statistics.median(rr) if rr else None
                lost = round(100.0 * (1.0 - med), 2) if med is not None else None
                cpu = ratios(runs, target, mode, "target_cpu_pct")
                entry["ratio_to_none"] = {
                    "median": med,
                    "per_rep": rr,
                    "lost_pct": lost,
                    "reps_within_goal": sum(100.0 * (1 - x) <= GOAL_LOST_PCT for x in rr),
                    # the share of its core the target got, against none's: what other
                    # processes on its core took, free of the host's speed changes
                    "target_cpu_ratio_median": statistics.median(cpu) if cpu else None,
                    "target_cpu_ratio_per_rep": cpu,
                }
                if mode != "control":
                    entry["verdict"] = verdict(lost)
            per_mode[mode] = entry
        out[target] = per_mode
    return out


def verdict(lost: float | None) -> str:
    if lost is None:
        return "n/a"
    return "PASS" if lost <= GOAL_LOST_PCT else "MISS"


# --------------------------------------------------------------------------- printing


def fmt(x: float | None, nd: int = 1) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.{nd}f}"


def cell(stat: dict[str, float] | None, nd: int = 1, ranged: bool = True) -> str:
    if stat is None:
        return "n/a"
    if not ranged or stat["min"] == stat["max"]:
        return fmt(stat["median"], nd)
    return f"{fmt(stat['median'], nd)} ({fmt(stat['min'], nd)}–{fmt(stat['max'], nd)})"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


MODE_LABEL = {
    "none": "none (no watching)",
    "resources": "resources (`--target-pid --no-profile`)",
    "profile": "profile (`--target-pid`, py-spy ×2)",
    "control": "control (unwatched again)",
}


def target_table(summary: dict[str, Any], cfg: Config) -> str:
    rows = []
    for mode, e in summary.items():
        ratio = e.get("ratio_to_none")
        if ratio is None:
            rtext = "1 (reference)" if mode == "none" else "n/a"
        elif ratio["median"] is None:
            rtext = "n/a"
        else:
            per = ", ".join(f"{x:.3f}" for x in ratio["per_rep"])
            rtext = f"**{ratio['median']:.3f}** ({per})"
        label = MODE_LABEL.get(mode, f"{mode.replace(':', ' at ')} Hz (`--profile-rate`)")
        rows.append(
            [
                label,
                str(e["runs"]),
                cell(e["rps"], 1),
                rtext,
                cell(e["target_cpu_pct"], 0),
                cell(e["target_cpu_ms_per_req"], 2, False),
                cell(e["watcher_cpu_pct"], 1, False),
                cell(e["pyspy_idle_cpu_pct"], 1, False) + " + " + cell(e["pyspy_cpu_cpu_pct"], 1),
                cell(e["target_core_busy_pct"], 0, False),
                cell(e["machine_busy_pct"], 0),
                cell(e["other_cpu_pct"], 1),
            ]
        )
    header = [
        "mode", "runs", "req/s median (min–max)", "ratio to none: median (per rep)",
        "target CPU %", "target CPU ms/req", "watcher CPU %", "py-spy CPU % (idle + cpu)",
        "target core busy %", "machine busy % (both cores)", "other programs, % of a core",
    ]  # fmt: skip
    return table(header, rows)


def verdict_lines(summary: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for target, per_mode in summary.items():
        for mode, e in per_mode.items():
            ratio = e.get("ratio_to_none")
            if ratio is None or ratio["median"] is None:
                continue
            n = len(ratio["per_rep"])
            v = e.get("verdict", "A/A, no goal")
            cpu = ratio.get("target_cpu_ratio_median")
            core = f"; the target's CPU share {cpu:.3f}× unwatched" if cpu is not None else ""
            lines.append(
                f"{target} / {mode}: {ratio['lost_pct']:+.2f} % throughput lost (median ratio "
                f"{ratio['median']:.3f}, per rep {min(ratio['per_rep']):.3f}–"
                f"{max(ratio['per_rep']):.3f}; {ratio['reps_within_goal']}/{n} reps within "
                f"{GOAL_LOST_PCT:g} %{core}) → {v}"
            )
    return lines


def notable(runs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in runs:
        where = f"{r['target']}/{r['mode']} rep {r['rep']} attempt {r['attempt']}"
        took = f"other programs took {r.get('other_cpu_pct')} % of a core"
        took += f", steal {r.get('steal_pct')} %"
        if r.get("discarded"):
            lines.append(f"{where}: repeated, {took}")
        elif r.get("contaminated"):
            lines.append(f"{where}: kept although {took}")
        if r.get("failure"):
            lines.append(f"{where}: {r['failure']}")
        if r.get("errors"):
            lines.append(f"{where}: {r['errors']} request errors")
        if r.get("timed_out"):
            lines.append(f"{where}: timed out and was stopped")
        if r.get("rc") not in (0, None):
            lines.append(f"{where}: perfeng exit code {r['rc']}: {r.get('stderr_tail', '')}")
        prof = r.get("profile")
        if prof and prof["status"] != "ok":
            lines.append(f"{where}: profile {prof['status']}: {prof.get('reason')}")
    return lines


def report(runs: list[dict[str, Any]], summary: dict[str, Any], cfg: Config) -> str:
    parts = []
    for target in cfg.targets:
        title = {
            "threaded": "threaded (tests/services/threaded_server.py) `/cpu`",
            "demo": "demo (`perfeng demo serve`, uvicorn) `/cpu`",
        }[target]
        parts += [f"## {title}", "", target_table(summary[target], cfg), ""]
    lines = verdict_lines(summary)
    worst = [e["verdict"] for per in summary.values() for e in per.values() if e.get("verdict")]
    overall = "PASS" if worst and all(v == "PASS" for v in worst) else "MISS"
    parts += ["## Verdict (goal: at most 3 % of throughput lost)", ""]
    parts += [f"- {line}" for line in lines]
    parts += ["", f"overall: {overall}", ""]
    notes = notable(runs)
    parts += ["## Repeated runs, warnings and errors", "", *(f"- {n}" for n in notes or ["none"])]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- main


def source_digest() -> str:
    """sha256 (first 16 hex digits) over src/perfeng's .py files: the version measured."""
    digest = hashlib.sha256()
    root = ROOT / "src" / "perfeng"
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _output(cmd: Sequence[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout or done.stderr).strip() or "?"


def environment(cfg: Config) -> dict[str, Any]:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    pyspy = Path(sys.executable).parent / "py-spy"
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "git_commit": _output(["git", "rev-parse", "--short", "HEAD"]),
        "perfeng_source_sha256": source_digest(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "py_spy": _output([str(pyspy), "--version"]) if pyspy.exists() else "missing",
        "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "config": {k: v for k, v in cfg.__dict__.items() if k != "workdir"},
        "placement": (
            f"target: taskset -c {cfg.srv_cpu}; generator (perfeng load): taskset -c "
            f"{cfg.gen_cpu}; the watcher and py-spy are started by perfeng, which resets their "
            "affinity to every CPU at nice 10 (the real configuration)"
        ),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--reps", type=int, default=5, help="interleaved repetitions (default 5)")
    p.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    p.add_argument("--users", type=int, default=16, help="closed-model users (default 16)")
    p.add_argument("--targets", default=",".join(TARGETS), help="comma list: threaded,demo")
    p.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help="comma list of none, resources, profile, profile:HZ, control (none is required)",
    )
    p.add_argument("--profile-rate", type=int, default=100, help="py-spy Hz of 'profile'")
    p.add_argument("--json-out", type=Path, help="write every raw figure to this JSON file")
    p.add_argument("--gen-cpu", type=int, default=0, help="CPU of the generator (default 0)")
    p.add_argument("--srv-cpu", type=int, default=1, help="CPU of the target (default 1)")
    p.add_argument("--nice", type=int, default=0, help="nice of target and generator (0)")
    p.add_argument("--quiet-pct", type=float, default=15.0, help="quiet machine: busy below this")
    p.add_argument("--quiet-max", type=float, default=20.0, help="longest wait for quiet (s)")
    p.add_argument(
        "--max-foreign",
        type=float,
        default=15.0,
        help="repeat a run when other programs took more than this %% of a core (default 15)",
    )
    p.add_argument(
        "--max-steal",
        type=float,
        default=5.0,
        help="repeat a run when the host stole more than this %% of the machine (default 5)",
    )
    p.add_argument("--retries", type=int, default=1, help="repeats per contaminated run")
    p.add_argument("--warmup", type=int, default=3, help="seconds of warm-up load per target")
    p.add_argument("--keep", action="store_true", help="keep the work directory (raw results)")
    p.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="print the tables again from a --json-out file of an earlier run, run nothing",
    )
    args = p.parse_args(argv)
    args.targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    args.modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if set(args.targets) - set(TARGETS) or not args.targets:
        p.error(f"--targets: choose from {', '.join(TARGETS)}")
    for mode in args.modes:
        ok = mode in (*DEFAULT_MODES, "control")
        if mode.startswith("profile:"):
            ok = mode.split(":", 1)[1].isdigit()
        if not ok:
            p.error(f"unknown mode {mode!r}")
    if "none" not in args.modes or len(set(args.modes)) != len(args.modes):
        p.error("--modes must contain 'none' once (the reference), and no mode twice")
    if args.reps < 1 or args.duration < 1:
        p.error("--reps and --duration must be at least 1")
    return args


def print_report(env: dict[str, Any], runs: list[dict[str, Any]], cfg: Config) -> None:
    print(f"# Watching the target: overhead — {env['date_utc']}\n")
    print(f"command: {env['command']}\n")
    print(f"commit {env['git_commit']}, perfeng source sha256 {env['perfeng_source_sha256']}")
    if env["perfeng_source_sha256_at_end"] != env["perfeng_source_sha256"]:
        print(
            "WARNING: src/perfeng changed during the run (now "
            f"{env['perfeng_source_sha256_at_end']}, commit {env['git_commit_at_end']}); "
            "runs may mix two versions."
        )
    print(f"\nplacement: {env['placement']}.")
    print(
        f"load: perfeng load URL/cpu --users {cfg.users} --duration {cfg.duration}s (closed "
        f"model); {cfg.reps} interleaved repetitions, mode order rotated; py-spy at "
        f"{cfg.profile_rate} Hz in 'profile'. CPU % are shares of one core during the load.\n"
    )
    print(report(runs, summarise(runs, cfg), cfg))


def reprint(path: Path) -> int:
    doc = json.loads(path.read_text())
    env = doc["environment"]
    fields: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in env["config"].items()
    }
    fields.setdefault("max_steal_pct", float("nan"))
    print_report(env, doc["runs"], Config(**fields, workdir=Path(".")))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        return reprint(args.report)
    if shutil.which("taskset") is None:
        sys.exit("taskset is missing (util-linux)")
    if not (Path(sys.executable).parent / "py-spy").exists() and shutil.which("py-spy") is None:
        sys.exit("py-spy is missing: pip install py-spy")
    workdir = Path(tempfile.mkdtemp(prefix="watch_overhead."))
    cfg = Config(
        reps=args.reps,
        duration=args.duration,
        users=args.users,
        targets=args.targets,
        modes=args.modes,
        profile_rate=args.profile_rate,
        gen_cpu=args.gen_cpu,
        srv_cpu=args.srv_cpu,
        nice=args.nice,
        quiet_pct=args.quiet_pct,
        quiet_max_s=args.quiet_max,
        max_foreign_pct=args.max_foreign,
        max_steal_pct=args.max_steal,
        retries=args.retries,
        warmup_s=args.warmup,
        workdir=workdir,
    )
    os.sched_setaffinity(0, {cfg.gen_cpu})  # this script's sampler stays off the target's CPU
    env = environment(cfg)
    bench = Bench(cfg, Children())
    signal.signal(signal.SIGTERM, _raise_interrupt)
    interrupted = False
    bench.log(f"work directory {workdir}; {env['placement']}")
    try:
        for name in cfg.targets:
            bench.start_service(name)
        for rep in range(1, cfg.reps + 1):
            targets = cfg.targets if rep % 2 else tuple(reversed(cfg.targets))
            for target in targets:
                for position, mode in enumerate(order(cfg.modes, rep)):
                    bench.run(target, mode, rep, position)
    except KeyboardInterrupt:
        interrupted = True
        bench.log("interrupted: stopping every process started here")
    finally:
        bench.children.end_all()
    env["perfeng_source_sha256_at_end"] = source_digest()
    env["git_commit_at_end"] = _output(["git", "rev-parse", "--short", "HEAD"])
    summary = summarise(bench.runs, cfg)
    print_report(env, bench.runs, cfg)
    if args.json_out:
        doc = {"environment": env, "interrupted": interrupted, "summary": summary}
        doc["runs"] = bench.runs
        args.json_out.write_text(json.dumps(doc, indent=1) + "\n")
        bench.log(f"raw figures in {args.json_out}")
    if args.keep:
        bench.log(f"results kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 130 if interrupted else 0


if __name__ == "__main__":
    raise SystemExit(main())
