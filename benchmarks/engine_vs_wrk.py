"""perfeng's load engine measured beside wrk and Locust in the same run (issue 2, section 8).

Sections (``--only``, comma-separated; default all four):

throughput  nginx (1 worker, ``return 200 "ok\\n"``) on CPU 1; perfeng ``--users 50``,
            ``wrk -t1 -c50`` and Locust FastHttpUser (50 users, 1 process) on CPU 0, one at a
            time. Throughput, generator CPU per request, nginx CPU. Targets: perfeng/wrk >= 0.6,
            perfeng/locust >= 6.
open        perfeng ``--rate 5000`` against the same nginx. Targets: achieved rate within 1 %
            of 5,000/s, nothing dropped, schedule-lag p99 < 1 ms.
accuracy    perfeng's 10 ms delay server on CPU 1; ``wrk -t1 -c20`` and perfeng ``--users 20``.
            Target: perfeng p50 within 0.5 ms of wrk's.
stall       perfeng's stall server (1 ms answers, frozen for 1 s, 5 s after its first request);
            perfeng ``--rate 500`` for 10 s. Expected (wrk2-style): p50 low, p95 ~500 ms,
            p99 ~900 ms, and requests + dropped == 5,000.

Method as in the anchors (docs: /work/shared/anchors/load-testing.md, load-measure.sh): target
on CPU 1, generator on CPU 0 (both ``nice -n -10`` when run as root), wait before each run until
the machine is quiet (< 15 % busy over a 2 s sample, at most 20 s), repetitions interleaved
(rep 1 of every case, then rep 2, ...), medians and ranges over the repetitions. A run during
which other programs took more than 10 % of the generator's core (or of a busy target's core)
is repeated, at most twice by default (``--max-foreign``, ``--retries``). Generator CPU
is user+sys of the generator process (``getrusage(RUSAGE_CHILDREN)`` around its wait), start-up
included. Only 127.0.0.1 is used; every process started here is stopped by its PID, also on
Ctrl-C.

    .venv/bin/python benchmarks/engine_vs_wrk.py [--reps 3] [--duration 10]
        [--only throughput,open,accuracy,stall] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECTIONS = ("throughput", "open", "accuracy", "stall")
HOST = "127.0.0.1"
HZ = os.sysconf("SC_CLK_TCK")
BIN = Path(sys.executable).parent  # the venv's bin: locust

THROUGHPUT_CONNS = 50
OPEN_RATE = 5000
ACCURACY_CONNS = 20
ACCURACY_DELAY_MS = 10.0
STALL_RATE = 500
STALL_DURATION_S = 10
STALL_AT_S = 5.0
STALL_FOR_S = 1.0
STALL_DELAY_MS = 1.0
LOCUST_EXTRA_S = 5  # Locust runs D+5 s ...
LOCUST_SKIP_S = 3  # ... and its throughput is taken after the first 3 s

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {host}:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
}}
"""

LOCUSTFILE = """\
from locust import FastHttpUser, constant, task


class Fast(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")
"""


# --------------------------------------------------------------------------- processes


class Children:
    """Every process started here, so that ``finally`` can end each one by its PID."""

    def __init__(self) -> None:
        self.live: dict[int, subprocess.Popen[bytes]] = {}
        self.servers: list[Any] = []  # perfeng.testing.servers.ServerProcess handles

    def start(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # A session of its own: Ctrl-C reaches only this script, which then ends the child.
        proc = subprocess.Popen(list(cmd), start_new_session=True, **kwargs)
        self.live[proc.pid] = proc
        return proc

    def end(self, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
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

    def start_server(self, kind: str, **kwargs: Any) -> Any:
        from perfeng.testing.servers import start_in_process

        handle = start_in_process(kind, **kwargs)
        self.servers.append(handle)
        return handle

    def stop_server(self, handle: Any) -> None:
        if handle in self.servers:
            self.servers.remove(handle)
            handle.stop()

    def end_all(self) -> None:
        for proc in list(self.live.values()):
            self.end(proc)
        for handle in list(self.servers):
            self.stop_server(handle)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


def wait_port(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {HOST}:{port}") from None
            time.sleep(0.05)


def child_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            pids.append(int(entry.name))
    return pids


def proc_ticks(pid: int | None) -> int:
    """utime+stime of ``pid`` in clock ticks (0 when unknown or gone)."""
    if pid is None:
        return 0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def pin(pid: int, cpu: int, nice: int) -> None:
    subprocess.run(["taskset", "-a", "-cp", str(cpu), str(pid)], check=True, capture_output=True)
    if nice:
        os.setpriority(os.PRIO_PROCESS, pid, nice)


# --------------------------------------------------------------------------- machine load


CpuTimes = dict[str, tuple[int, int, int]]


def cpu_times() -> CpuTimes:
    """(busy, total, steal) jiffies per line of /proc/stat: 'cpu', 'cpu0', 'cpu1', ..."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if not line.startswith("cpu"):
            break
        name, *vals = line.split()
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, vals[:8])
        busy = user + nice + system + irq + softirq
        out[name] = (busy, busy + idle + iowait + steal, steal)
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


# --------------------------------------------------------------------------- one run


@dataclass
class Config:
    reps: int
    duration: int
    sections: tuple[str, ...]
    gen_cpu: int
    srv_cpu: int
    nice: int
    quiet_pct: float
    quiet_max_s: float
    max_foreign_pct: float
    retries: int
    workdir: Path
    verbose: bool = True


@dataclass
class Bench:
    cfg: Config
    children: Children
    runs: list[dict[str, Any]] = field(default_factory=list)
    _count: int = 0

    def log(self, text: str) -> None:
        if self.cfg.verbose:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def contaminated(self, row: dict[str, Any]) -> bool:
        """Other programs took more than ``max_foreign_pct`` of the generator's CPU, or of the
        target's CPU while the target needed most of it (foreign + target >= 85 %)."""
        limit = self.cfg.max_foreign_pct
        on_gen = row.get("foreign_gen_cpu_pct") or 0.0
        on_srv = row.get("foreign_srv_cpu_pct") or 0.0
        target = row.get("target_cpu_pct") or 0.0
        return on_gen > limit or (on_srv > limit and on_srv + target >= 85.0)

    def tag(self, section: str, tool: str) -> str:
        """A unique name for one run's files."""
        self._count += 1
        return f"{self._count:03d}.{section}.{tool}"

    def generator_cmd(self, cmd: Sequence[str]) -> list[str]:
        prefix = ["nice", "-n", str(self.cfg.nice)] if self.cfg.nice else []
        return [*prefix, "taskset", "-c", str(self.cfg.gen_cpu), *cmd]

    def run(
        self, tag: str, cmd: Sequence[str], target_pid: int | None, timeout_s: float
    ) -> dict[str, Any]:
        """One generator run on the generator CPU, after waiting for a quiet machine."""
        cfg = self.cfg
        waited, busy_before = wait_quiet(cfg.quiet_pct, cfg.quiet_max_s)
        out, err = cfg.workdir / f"{tag}.out", cfg.workdir / f"{tag}.err"
        cpu0, target0 = cpu_times(), proc_ticks(target_pid)
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall0 = time.perf_counter()
        timed_out = False
        with out.open("wb") as fout, err.open("wb") as ferr:
            proc = self.children.start(self.generator_cmd(cmd), stdout=fout, stderr=ferr)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                self.children.end(proc)
        wall = time.perf_counter() - wall0
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu1, target1 = cpu_times(), proc_ticks(target_pid)
        gen_cpu_s = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
        gen_pct = 100.0 * gen_cpu_s / wall
        target_pct = 100.0 * (target1 - target0) / HZ / wall
        c0 = busy_pct(cpu0, cpu1, f"cpu{cfg.gen_cpu}")
        c1 = busy_pct(cpu0, cpu1, f"cpu{cfg.srv_cpu}")
        return {
            "rc": proc.returncode,
            "timed_out": timed_out,
            "wall_s": round(wall, 3),
            "gen_cpu_s": round(gen_cpu_s, 3),
            "gen_cpu_pct": round(gen_pct, 1),
            "target_cpu_pct": round(target_pct, 1) if target_pid else None,
            "gen_cpu_busy_pct": round(c0, 1),
            "srv_cpu_busy_pct": round(c1, 1),
            "foreign_cpu_pct": round(c0 + c1 - gen_pct - (target_pct if target_pid else 0), 1),
            "foreign_gen_cpu_pct": round(c0 - gen_pct, 1),
            "foreign_srv_cpu_pct": round(c1 - (target_pct if target_pid else 0), 1),
            "steal_gen_cpu_pct": round(busy_pct(cpu0, cpu1, f"cpu{cfg.gen_cpu}", 2), 1),
            "steal_srv_cpu_pct": round(busy_pct(cpu0, cpu1, f"cpu{cfg.srv_cpu}", 2), 1),
            "quiet_wait_s": waited,
            "busy_before_pct": busy_before,
            "stdout": str(out),
            "stderr": str(err),
        }

    def measure(
        self, section: str, tool: str, rep: int, once: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Run ``once``; run it again (at most ``retries`` times) while foreign CPU was high.

        Another program busy on either CPU during the run means the figures describe a
        shared machine; such attempts stay in the raw data, marked ``discarded``.
        """
        for attempt in range(1, self.cfg.retries + 2):
            row = {"section": section, "tool": tool, "rep": rep, "attempt": attempt, **once()}
            row["contaminated"] = self.contaminated(row)
            row["discarded"] = row["contaminated"] and attempt <= self.cfg.retries
            self.runs.append(row)
            keys = ("rps", "p50_ms", "p99_ms", "gen_cpu_pct", "target_cpu_pct", "foreign_cpu_pct")
            shown = " ".join(f"{k}={row.get(k)}" for k in keys if row.get(k) is not None)
            again = " (discarded for foreign CPU; again)" if row["discarded"] else ""
            self.log(f"{section}/{tool} rep {rep} attempt {attempt}: {shown}{again}")
            if not row["discarded"]:
                break
        return row


# --------------------------------------------------------------------------- tools


_WRK_PCT = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(text: str) -> dict[str, Any]:
    pct = {int(p): float(v) * _TO_MS[u] for p, v, u in _WRK_PCT.findall(text)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in sock.groups()) if sock else 0
    )
    return {
        "rps": float(rps.group(1)) if rps else None,
        "requests": int(total.group(1)) if total else None,
        "p50_ms": pct.get(50),
        "p99_ms": pct.get(99),
        "errors": errors,
    }


def read_perfeng(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    summary, gen = doc["summary"], doc["generator"]
    lat = summary["latency_ms"]
    return {
        "rps": summary["throughput_rps"],
        "requests": summary["requests"],
        "errors": summary["errors"],
        "errors_by_class": {k: v for k, v in summary["errors_by_class"].items() if v},
        "dropped": summary["dropped"],
        "p50_ms": lat["p50"],
        "p90_ms": lat["p90"],
        "p95_ms": lat["p95"],
        "p99_ms": lat["p99"],
        "p99_9_ms": lat["p99_9"],
        "max_ms": lat["max"],
        "service_p50_ms": summary["service_time_ms"]["p50"],
        "service_p99_ms": summary["service_time_ms"]["p99"],
        "run_s": doc["metadata"]["duration_s"],
        "cpu_share_of_core": gen["cpu_share_of_core"],
        "loop_lag_p99_ms": gen["loop_lag_ms"]["p99"],
        "loop_lag_max_ms": gen["loop_lag_ms"]["max"],
        "schedule_lag_p99_ms": gen["schedule_lag_ms"]["p99"],
        "schedule_lag_max_ms": gen["schedule_lag_ms"]["max"],
        "connections_opened": gen["connections_opened"],
        "warnings": gen["warnings"],
        "interrupted": doc.get("interrupted"),
    }


def _num(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def read_locust(prefix: Path, users: int) -> dict[str, Any]:
    """Totals from ``_stats.csv``; throughput over the steady window of ``_stats_history.csv``."""
    with open(f"{prefix}_stats.csv", newline="") as f:
        total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    with open(f"{prefix}_stats_history.csv", newline="") as f:
        rows = [
            (int(r["Timestamp"]), int(r["Total Request Count"]))
            for r in csv.DictReader(f)
            if r["Name"] == "Aggregated" and r["User Count"] == str(users)
        ]
    # One row a second, stamped in whole seconds; the row written at the stop comes at an
    # arbitrary fraction of a second, so the window ends at the last row of the second before.
    rps = window = None
    if rows:
        start = next((r for r in rows if r[0] >= rows[0][0] + LOCUST_SKIP_S), None)
        last_ts = rows[-1][0]
        end = next((r for r in reversed(rows) if r[0] < last_ts), None)
        if start and end and end[0] > start[0]:
            window = end[0] - start[0]
            rps = round((end[1] - start[1]) / window, 1)
    return {
        "rps": rps,
        "steady_window_s": window,
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]),
        "rps_whole_run": _num(total["Requests/s"]),
        "p50_ms": _num(total["50%"]),
        "p99_ms": _num(total["99%"]),
    }


def perfeng_cmd(url: str, *args: str) -> list[str]:
    # ``python -m perfeng`` is the ``perfeng`` command; with PYTHONPATH it runs the snapshot.
    return [sys.executable, "-m", "perfeng", "load", url, *args]


def run_perfeng(
    b: Bench, section: str, url: str, load: Sequence[str], target_pid: int | None
) -> dict[str, Any]:
    tag = b.tag(section, "perfeng")
    out = b.cfg.workdir / f"{tag}.json"
    cmd = perfeng_cmd(url, *load, "--out", str(out), "--quiet")
    plan_s = _plan_seconds(load)
    info = b.run(tag, cmd, target_pid, timeout_s=plan_s + 60)
    row: dict[str, Any] = {**info, "command": _shell(cmd)}
    try:
        row.update(read_perfeng(out))
    except (OSError, ValueError, KeyError) as exc:
        row["failure"] = f"no usable result: {exc}"
    row["stderr_text"] = Path(info["stderr"]).read_text(errors="replace").strip()[-2000:]
    if row.get("requests"):
        row["gen_us_per_req"] = round(row["gen_cpu_s"] * 1e6 / row["requests"], 1)
        share = row.get("cpu_share_of_core")
        if share is not None:
            in_run = share * row["run_s"] * 1e6 / row["requests"]
            row["gen_us_per_req_in_run"] = round(in_run, 1)
    return row


def run_wrk(b: Bench, section: str, url: str, conns: int, target_pid: int | None) -> dict[str, Any]:
    d = b.cfg.duration
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{d}s", "--latency", url]
    info = b.run(b.tag(section, "wrk"), cmd, target_pid, timeout_s=d + 60)
    row: dict[str, Any] = {**info, "command": _shell(cmd)}
    row.update(parse_wrk(Path(info["stdout"]).read_text(errors="replace")))
    if row.get("requests"):
        row["gen_us_per_req"] = round(row["gen_cpu_s"] * 1e6 / row["requests"], 1)
    return row


def run_locust(b: Bench, base_url: str, target_pid: int | None) -> dict[str, Any]:
    d = b.cfg.duration + LOCUST_EXTRA_S
    locustfile = b.cfg.workdir / "locustfile_fast.py"
    if not locustfile.exists():
        locustfile.write_text(LOCUSTFILE)
    exe = BIN / "locust"
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "locust"]
    tag = b.tag("throughput", "locust")
    prefix = b.cfg.workdir / tag
    users = str(THROUGHPUT_CONNS)
    cmd = [
        *base, "-f", str(locustfile), "--headless", "-u", users, "-r", users, "-t", f"{d}s",
        "-H", base_url, "--csv", str(prefix), "--csv-full-history", "--only-summary",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    info = b.run(tag, cmd, target_pid, timeout_s=d + 60)
    row: dict[str, Any] = {**info, "command": _shell(cmd)}
    try:
        row.update(read_locust(prefix, THROUGHPUT_CONNS))
    except (OSError, StopIteration, KeyError, ValueError) as exc:
        row["failure"] = f"no usable Locust CSV: {exc}"
    text = Path(info["stdout"]).read_text(errors="replace")
    text += Path(info["stderr"]).read_text(errors="replace")
    row["cpu_warning"] = "CPU usage" in text
    if row.get("requests"):
        row["gen_us_per_req"] = round(row["gen_cpu_s"] * 1e6 / row["requests"], 1)
    return row


def _plan_seconds(load: Sequence[str]) -> float:
    args = list(load)
    text = args[args.index("--duration") + 1]
    return float(text.rstrip("s"))


def _shell(cmd: Sequence[str]) -> str:
    return " ".join(cmd)


# --------------------------------------------------------------------------- targets


class Nginx:
    """nginx, one worker, pinned to a CPU; ``worker`` is the PID whose CPU is measured."""

    def __init__(self, b: Bench) -> None:
        self.b = b
        self.dir = Path(tempfile.mkdtemp(prefix="nginx.", dir=b.cfg.workdir))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.worker: int | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def __enter__(self) -> Nginx:
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.dir, host=HOST, port=self.port))
        cfg = self.b.cfg
        prefix = ["nice", "-n", str(cfg.nice)] if cfg.nice else []
        cmd = [
            *prefix,
            "taskset",
            "-c",
            str(cfg.srv_cpu),
            "nginx",
            "-e",
            str(self.dir / "error.log"),
        ]
        cmd += ["-c", str(conf), "-p", f"{self.dir}/"]
        log = (self.dir / "nginx.out").open("wb")
        try:
            self.proc = self.b.children.start(cmd, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        wait_port(self.port)
        for _ in range(50):
            workers = child_pids(self.proc.pid)
            if workers:
                self.worker = workers[0]
                break
            time.sleep(0.05)
        self.b.log(f"nginx master {self.proc.pid} worker {self.worker} on {self.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.b.children.end(self.proc)


def start_pinned_server(b: Bench, kind: str, **kwargs: Any) -> Any:
    handle = b.children.start_server(kind, **kwargs)
    try:
        pin(handle.pid, b.cfg.srv_cpu, b.cfg.nice)
    except BaseException:
        b.children.stop_server(handle)
        raise
    b.log(f"{kind} server pid {handle.pid} on {handle.url}")
    return handle


# --------------------------------------------------------------------------- sections


def phase_nginx(b: Bench, rep: int) -> None:
    cfg, d = b.cfg, f"{b.cfg.duration}s"
    with Nginx(b) as nginx:
        url, pid = nginx.url, nginx.worker
        if "throughput" in cfg.sections:
            closed = ["--users", str(THROUGHPUT_CONNS), "--duration", d, "--json"]
            b.measure(
                "throughput", "perfeng", rep, lambda: run_perfeng(b, "throughput", url, closed, pid)
            )
            b.measure(
                "throughput",
                "wrk",
                rep,
                lambda: run_wrk(b, "throughput", url, THROUGHPUT_CONNS, pid),
            )
            b.measure("throughput", "locust", rep, lambda: run_locust(b, url.rstrip("/"), pid))
        if "open" in cfg.sections:
            rate = ["--rate", str(OPEN_RATE), "--duration", d]

            def open_run() -> dict[str, Any]:
                row = run_perfeng(b, "open", url, rate, pid)
                if row.get("requests") is not None:
                    row["achieved_rate_over_plan"] = round(row["requests"] / cfg.duration, 1)
                return row

            b.measure("open", "perfeng", rep, open_run)


def phase_accuracy(b: Bench, rep: int) -> None:
    server = start_pinned_server(b, "delay", delay_ms=ACCURACY_DELAY_MS)
    try:
        url, pid = server.url + "/", server.pid
        conns = ACCURACY_CONNS
        b.measure("accuracy", "wrk", rep, lambda: run_wrk(b, "accuracy", url, conns, pid))
        load = ["--users", str(conns), "--duration", f"{b.cfg.duration}s"]
        b.measure("accuracy", "perfeng", rep, lambda: run_perfeng(b, "accuracy", url, load, pid))
    finally:
        b.children.stop_server(server)


def stall_once(b: Bench) -> dict[str, Any]:
    # A fresh server each time: the freeze is armed by the first request it ever sees.
    server = start_pinned_server(
        b, "stall", delay_ms=STALL_DELAY_MS, stall_at=STALL_AT_S, stall_for=STALL_FOR_S
    )
    try:
        load = ["--rate", str(STALL_RATE), "--duration", f"{STALL_DURATION_S}s"]
        row = run_perfeng(b, "stall", server.url + "/", load, server.pid)
        if row.get("requests") is not None:
            row["accounted"] = row["requests"] + row["dropped"]
        return row
    finally:
        b.children.stop_server(server)


def phase_stall(b: Bench, rep: int) -> None:
    b.measure("stall", "perfeng", rep, lambda: stall_once(b))


# --------------------------------------------------------------------------- summary


def values(runs: Iterable[dict[str, Any]], key: str) -> list[float]:
    return [r[key] for r in runs if isinstance(r.get(key), int | float)]


def med(vals: list[float]) -> float | None:
    return statistics.median(vals) if vals else None


def stat(runs: list[dict[str, Any]], key: str) -> dict[str, float | None]:
    v = values(runs, key)
    return {"median": med(v), "min": min(v) if v else None, "max": max(v) if v else None}


def pick(runs: list[dict[str, Any]], section: str, tool: str) -> list[dict[str, Any]]:
    """The kept runs of one tool in one section (attempts discarded for foreign CPU left out)."""
    return [
        r for r in runs if r["section"] == section and r["tool"] == tool and not r.get("discarded")
    ]


def paired(
    runs: list[dict[str, Any]], section: str, a: str, b: str, key: str, op: Callable[..., float]
) -> list[float]:
    """``op(a, b)`` per repetition, for the reps where both tools produced ``key``."""
    by_rep = {r["rep"]: r for r in pick(runs, section, b)}
    out = []
    for ra in pick(runs, section, a):
        rb = by_rep.get(ra["rep"])
        if rb and isinstance(ra.get(key), int | float) and isinstance(rb.get(key), int | float):
            out.append(op(ra[key], rb[key]))
    return out


@dataclass
class Target:
    name: str
    value: float | None
    per_rep: list[float]
    goal: str
    ok: Callable[[float], bool] | None  # None: reported only

    def verdict(self) -> str:
        if self.ok is None:
            return "info"
        if self.value is None:
            return "n/a"
        return "PASS" if self.ok(self.value) else "MISS"

    def to_dict(self) -> dict[str, Any]:
        ok = self.ok
        passing = [ok(v) for v in self.per_rep] if ok is not None else []
        return {
            "name": self.name,
            "value": self.value,
            "per_rep": self.per_rep,
            "goal": self.goal,
            "verdict": self.verdict(),
            "reps_passing": f"{sum(passing)}/{len(passing)}" if ok is not None else "",
        }


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _diff(a: float, b: float) -> float:
    return a - b


def throughput_targets(runs: list[dict[str, Any]]) -> list[Target]:
    out = []
    for other, goal in (("wrk", 0.6), ("locust", 6.0)):
        pe = med(values(pick(runs, "throughput", "perfeng"), "rps"))
        ot = med(values(pick(runs, "throughput", other), "rps"))
        value = round(pe / ot, 3) if pe and ot else None
        per = [round(x, 3) for x in paired(runs, "throughput", "perfeng", other, "rps", _ratio)]
        out.append(
            Target(
                f"perfeng/{other} throughput",
                value,
                per,
                f">= {goal:g}",
                lambda v, g=goal: v >= g,
            )
        )
    return out


def open_targets(runs: list[dict[str, Any]]) -> list[Target]:
    rs = pick(runs, "open", "perfeng")
    out = []
    for key, label in (
        ("achieved_rate_over_plan", "open: requests / planned duration"),
        ("rps", "open: summary.throughput_rps"),
    ):
        v = values(rs, key)
        out.append(
            Target(
                label,
                med(v),
                v,
                f"within 1% of {OPEN_RATE:,}",
                lambda x: abs(x - OPEN_RATE) <= 0.01 * OPEN_RATE,
            )
        )
    dropped = values(rs, "dropped")
    out.append(Target("open: dropped", med(dropped), dropped, "== 0", lambda x: x == 0))
    lag = values(rs, "schedule_lag_p99_ms")
    out.append(Target("open: schedule lag p99 (ms)", med(lag), lag, "< 1 ms", lambda x: x < 1.0))
    return out


def accuracy_targets(runs: list[dict[str, Any]]) -> list[Target]:
    out = []
    for key, goal in (("p50_ms", 0.5), ("p99_ms", None)):
        diff = [round(x, 3) for x in paired(runs, "accuracy", "perfeng", "wrk", key, _diff)]
        pe = med(values(pick(runs, "accuracy", "perfeng"), key))
        wr = med(values(pick(runs, "accuracy", "wrk"), key))
        value = round(pe - wr, 3) if pe is not None and wr is not None else None
        name = f"accuracy: perfeng {key[:3]} - wrk {key[:3]} (ms)"
        if goal is None:
            out.append(Target(name, value, diff, "(reported, no target)", None))
        else:
            out.append(Target(name, value, diff, f"within ±{goal} ms", lambda v: abs(v) <= 0.5))
    return out


def stall_targets(runs: list[dict[str, Any]]) -> list[Target]:
    rs = pick(runs, "stall", "perfeng")
    expected = STALL_RATE * STALL_DURATION_S
    checks: list[tuple[str, str, str, Callable[[float], bool]]] = [
        ("accounted", "stall: requests + dropped", f"== {expected:,}", lambda x: x == expected),
        ("p50_ms", "stall: p50 (ms)", "< 10 ms (low)", lambda x: x < 10),
        ("p95_ms", "stall: p95 (ms)", "~500 ms (450-600)", lambda x: 450 <= x <= 600),
        ("p99_ms", "stall: p99 (ms)", "~900 ms (850-1000)", lambda x: 850 <= x <= 1000),
    ]
    return [
        Target(label, med(values(rs, k)), values(rs, k), goal, ok) for k, label, goal, ok in checks
    ]


def all_targets(runs: list[dict[str, Any]], sections: Sequence[str]) -> list[Target]:
    makers = {
        "throughput": throughput_targets,
        "open": open_targets,
        "accuracy": accuracy_targets,
        "stall": stall_targets,
    }
    return [t for s in sections for t in makers[s](runs)]


# --------------------------------------------------------------------------- printing


def fmt(x: float | None, nd: int = 1) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, int):
        return f"{x:,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def fmt_range(s: dict[str, float | None], nd: int = 1) -> str:
    return f"{fmt(s['min'], nd)}–{fmt(s['max'], nd)}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cell(runs: list[dict[str, Any]], key: str, nd: int = 1, ranged: bool = True) -> str:
    s = stat(runs, key)
    if s["median"] is None:
        return "n/a"
    if not ranged or s["min"] == s["max"]:
        return fmt(s["median"], nd)
    return f"{fmt(s['median'], nd)} ({fmt_range(s, nd)})"


def throughput_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for tool, label in (
        ("perfeng", f"perfeng load --users {THROUGHPUT_CONNS}"),
        ("wrk", f"wrk -t1 -c{THROUGHPUT_CONNS}"),
        ("locust", f"Locust FastHttpUser, {THROUGHPUT_CONNS} users"),
    ):
        rs = pick(runs, "throughput", tool)
        rows.append(
            [
                label,
                str(len(rs)),
                cell(rs, "rps", 0),
                cell(rs, "p50_ms", 3, False),
                cell(rs, "p99_ms", 3, False),
                cell(rs, "gen_us_per_req"),
                cell(rs, "gen_cpu_pct", 0, False),
                cell(rs, "target_cpu_pct", 0, False),
                cell(rs, "foreign_gen_cpu_pct", 0, False),
                cell(rs, "foreign_srv_cpu_pct", 0, False),
                cell(rs, "errors", 0, False),
            ]
        )
    header = [
        "generator (CPU 0)", "reps", "req/s median (min–max)", "p50 ms", "p99 ms",
        "gen CPU µs/req (min–max)", "gen CPU %", "nginx CPU %", "foreign CPU % gen core",
        "foreign CPU % nginx core", "errors",
    ]  # fmt: skip
    return table(header, rows)


def open_table(runs: list[dict[str, Any]]) -> str:
    rs = pick(runs, "open", "perfeng")
    keys = [
        ("achieved_rate_over_plan", "requests / plan (req/s)", 1),
        ("rps", "summary.throughput_rps", 1),
        ("requests", "requests", 0),
        ("dropped", "dropped", 0),
        ("errors", "errors", 0),
        ("schedule_lag_p99_ms", "schedule lag p99 ms", 3),
        ("schedule_lag_max_ms", "schedule lag max ms", 3),
        ("loop_lag_p99_ms", "loop lag p99 ms", 3),
        ("p50_ms", "latency p50 ms", 3),
        ("p99_ms", "latency p99 ms", 3),
        ("max_ms", "latency max ms", 3),
        ("connections_opened", "connections opened", 0),
        ("gen_cpu_pct", "gen CPU % (process)", 0),
        ("target_cpu_pct", "nginx CPU %", 0),
        ("foreign_gen_cpu_pct", "foreign CPU % on the generator's core", 0),
        ("foreign_srv_cpu_pct", "foreign CPU % on the target's core", 0),
    ]
    rows = [[label, cell(rs, key, nd)] for key, label, nd in keys]
    return table([f"perfeng --rate {OPEN_RATE} ({len(rs)} reps)", "median (min–max)"], rows)


def accuracy_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for tool, label in (("wrk", "wrk -t1 -c20"), ("perfeng", "perfeng load --users 20")):
        rs = pick(runs, "accuracy", tool)
        rows.append(
            [
                label,
                str(len(rs)),
                cell(rs, "rps", 0),
                cell(rs, "p50_ms", 3),
                cell(rs, "p99_ms", 3),
                cell(rs, "gen_cpu_pct", 0, False),
                cell(rs, "loop_lag_p99_ms", 3, False),
                cell(rs, "foreign_gen_cpu_pct", 0, False),
                cell(rs, "errors", 0, False),
            ]
        )
    header = [
        "generator (CPU 0)", "reps", "req/s", "p50 ms", "p99 ms", "gen CPU %",
        "perfeng loop lag p99 ms", "foreign CPU % (gen core)", "errors",
    ]  # fmt: skip
    return table(header, rows)


def stall_table(runs: list[dict[str, Any]]) -> str:
    rs = pick(runs, "stall", "perfeng")
    keys = [
        ("p50_ms", "p50 ms", 3),
        ("p90_ms", "p90 ms", 3),
        ("p95_ms", "p95 ms", 3),
        ("p99_ms", "p99 ms", 3),
        ("max_ms", "max ms", 3),
        ("service_p99_ms", "service time p99 ms", 3),
        ("requests", "requests", 0),
        ("dropped", "dropped", 0),
        ("accounted", "requests + dropped", 0),
        ("errors", "errors", 0),
        ("schedule_lag_p99_ms", "schedule lag p99 ms", 3),
        ("loop_lag_p99_ms", "loop lag p99 ms", 3),
        ("gen_cpu_pct", "gen CPU % (process)", 0),
        ("foreign_gen_cpu_pct", "foreign CPU % on the generator's core", 0),
    ]
    rows = [[label, cell(rs, key, nd)] for key, label, nd in keys]
    title = f"perfeng --rate {STALL_RATE} for {STALL_DURATION_S}s, 1 s freeze ({len(rs)} reps)"
    return table([title, "median (min–max)"], rows)


def targets_table(targets: list[Target]) -> str:
    rows = []
    for t in targets:
        d = t.to_dict()
        per = ", ".join(fmt(v, 3) for v in t.per_rep) or "n/a"
        rows.append([t.name, fmt(t.value, 3), per, t.goal, d["verdict"], d["reps_passing"]])
    header = ["check", "median", "per rep", "target", "verdict", "reps passing"]
    return table(header, rows)


def notable(runs: list[dict[str, Any]]) -> list[str]:
    """Warnings, errors, timeouts and failures of the kept runs, one line each, and how many
    attempts were repeated because other programs were busy."""
    lines = []
    for r in runs:
        where = f"{r['section']}/{r['tool']} rep {r['rep']}"
        if r.get("discarded"):
            continue
        if r.get("attempt", 1) > 1:
            lines.append(f"{where}: kept attempt {r['attempt']} (earlier ones had foreign CPU)")
        if r.get("contaminated"):
            lines.append(f"{where}: kept although foreign CPU was high ({_foreign(r)})")
        for w in r.get("warnings") or []:
            lines.append(f"{where}: generator warning: {w}")
        if r.get("errors"):
            lines.append(f"{where}: {r['errors']} errors {r.get('errors_by_class', '')}")
        if r.get("timed_out"):
            lines.append(f"{where}: timed out and was stopped")
        if r.get("failure"):
            lines.append(f"{where}: {r['failure']}")
        if r.get("rc") not in (0, None) and not (r["tool"] == "locust" and r["rc"] == 1):
            lines.append(f"{where}: exit code {r['rc']}")
        if r.get("cpu_warning"):
            lines.append(f"{where}: Locust warned about its CPU usage")
    return lines


def _foreign(r: dict[str, Any]) -> str:
    gen, srv = r.get("foreign_gen_cpu_pct"), r.get("foreign_srv_cpu_pct")
    return f"{gen} % on the generator's CPU, {srv} % on the target's"


def report(runs: list[dict[str, Any]], sections: Sequence[str]) -> str:
    parts = []
    makers = {
        "throughput": ("Throughput against nginx", throughput_table),
        "open": ("Open model against nginx", open_table),
        "accuracy": ("Accuracy: 10 ms server, 20 connections", accuracy_table),
        "stall": ("Coordinated omission: 1 s stall", stall_table),
    }
    for s in sections:
        title, make = makers[s]
        parts += [f"## {title}", "", make(runs), ""]
    parts += ["## Targets", "", targets_table(all_targets(runs, sections)), ""]
    notes = notable(runs)
    parts += ["## Warnings and errors", "", *(f"- {n}" for n in notes or ["none"]), ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- main


def package_dir() -> Path:
    """Where ``import perfeng`` finds the package (found without importing it)."""
    spec = importlib.util.find_spec("perfeng")
    if spec is None or spec.origin is None:
        sys.exit("perfeng is not importable: run with the project's venv (.venv/bin/python)")
    return Path(spec.origin).parent


def source_digest(root: Path) -> str:
    """sha256 (first 16 hex digits) over a perfeng tree's .py files: which engine was measured,
    without asking git."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def take_snapshot(workdir: Path) -> tuple[Path, Path]:
    """Copy perfeng's package into ``workdir`` and run that copy: every run measures the same
    engine even while someone edits the working tree. Returns (live tree, snapshot)."""
    live = package_dir()
    dest = workdir / "snapshot"
    shutil.copytree(live, dest / "perfeng", ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(dest))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(dest), old) if p)
    return live, dest / "perfeng"


def _version(cmd: Sequence[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    return (done.stdout + done.stderr).strip().splitlines()[0] if done.stdout + done.stderr else ""


def environment(cfg: Config) -> dict[str, Any]:
    from importlib import metadata

    def pkg(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "missing"

    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "nginx": _version(["nginx", "-v"]),
        "wrk": _version(["wrk", "--version"]),
        "perfeng": pkg("perfeng"),
        "locust": pkg("locust"),
        "uvloop": pkg("uvloop"),
        "gen_cpu": cfg.gen_cpu,
        "srv_cpu": cfg.srv_cpu,
        "nice": cfg.nice,
        "reps": cfg.reps,
        "duration_s": cfg.duration,
        "quiet_pct": cfg.quiet_pct,
        "quiet_max_s": cfg.quiet_max_s,
        "max_foreign_pct": cfg.max_foreign_pct,
        "retries": cfg.retries,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3, help="interleaved repetitions (default 3)")
    p.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    p.add_argument(
        "--only", default=",".join(SECTIONS), help="comma list of " + ", ".join(SECTIONS)
    )
    p.add_argument("--json-out", type=Path, help="write every raw figure to this JSON file")
    p.add_argument("--gen-cpu", type=int, default=0, help="CPU for the generators (default 0)")
    p.add_argument("--srv-cpu", type=int, default=1, help="CPU for the targets (default 1)")
    p.add_argument("--nice", type=int, default=-10 if os.geteuid() == 0 else 0)
    p.add_argument("--quiet-pct", type=float, default=15.0, help="quiet machine: busy below this")
    p.add_argument("--quiet-max", type=float, default=20.0, help="longest wait for quiet (s)")
    p.add_argument(
        "--max-foreign",
        type=float,
        default=10.0,
        help="repeat a run when other programs took more than this %% of the generator's core, "
        "or of a busy target's core (default 10)",
    )
    p.add_argument("--retries", type=int, default=2, help="repeats per run for foreign CPU")
    p.add_argument(
        "--no-snapshot",
        action="store_true",
        help="run perfeng from the working tree instead of a copy taken at the start",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (raw logs)")
    args = p.parse_args(argv)
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {SECTIONS}")
    args.sections = tuple(s for s in SECTIONS if s in sections)
    if args.reps < 1 or args.duration < 1:
        p.error("--reps and --duration must be at least 1")
    return args


def check_tools(sections: Sequence[str]) -> None:
    need = ["taskset"]
    if {"throughput", "open"} & set(sections):
        need.append("nginx")
    if {"throughput", "accuracy"} & set(sections):
        need.append("wrk")
    missing = [t for t in need if shutil.which(t) is None]
    if missing:
        sys.exit(f"missing programs: {', '.join(missing)} (apt-get install nginx-light wrk)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    check_tools(args.sections)
    workdir = Path(tempfile.mkdtemp(prefix="engine_vs_wrk."))
    cfg = Config(
        reps=args.reps,
        duration=args.duration,
        sections=args.sections,
        gen_cpu=args.gen_cpu,
        srv_cpu=args.srv_cpu,
        nice=args.nice,
        quiet_pct=args.quiet_pct,
        quiet_max_s=args.quiet_max,
        max_foreign_pct=args.max_foreign,
        retries=args.retries,
        workdir=workdir,
    )
    env = environment(cfg)
    live = package_dir()
    if args.no_snapshot:
        measured = live
    else:
        live, measured = take_snapshot(workdir)
    child_sees = subprocess.run(
        [sys.executable, "-c", "import perfeng; print(perfeng.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if Path(child_sees).parent.resolve() != measured.resolve():
        sys.exit(f"a child process would run perfeng from {child_sees}, not from {measured}")
    env["perfeng_measured"] = str(measured)
    env["perfeng_source_sha256"] = source_digest(measured)
    bench = Bench(cfg, Children())
    signal.signal(signal.SIGTERM, _raise_interrupt)
    interrupted = False
    bench.log(f"work directory {workdir}; sections {', '.join(cfg.sections)}")
    try:
        for rep in range(1, cfg.reps + 1):
            if {"throughput", "open"} & set(cfg.sections):
                phase_nginx(bench, rep)
            if "accuracy" in cfg.sections:
                phase_accuracy(bench, rep)
            if "stall" in cfg.sections:
                phase_stall(bench, rep)
    except KeyboardInterrupt:
        interrupted = True
        bench.log("interrupted: stopping every process started here")
    finally:
        bench.children.end_all()
    env["working_tree_sha256_at_end"] = source_digest(live)
    changed = env["working_tree_sha256_at_end"] != env["perfeng_source_sha256"]
    text = report(bench.runs, cfg.sections)
    print(f"# perfeng load engine vs wrk and Locust — {env['date_utc']}\n")
    print(f"command: {env['command']}\n")
    print(f"perfeng source sha256 (first 16): {env['perfeng_source_sha256']}\n")
    if changed and args.no_snapshot:
        print("WARNING: perfeng's source changed during the run; runs may mix two versions.\n")
    elif changed:
        print("note: the working tree changed during the run; the snapshot taken at the start")
        print(f"was measured (working tree now: {env['working_tree_sha256_at_end']}).\n")
    print(text)
    if args.json_out:
        targets = [t.to_dict() for t in all_targets(bench.runs, cfg.sections)]
        doc = {"environment": env, "interrupted": interrupted, "runs": bench.runs}
        doc["targets"] = targets
        args.json_out.write_text(json.dumps(doc, indent=1) + "\n")
        bench.log(f"raw figures in {args.json_out}")
    if args.keep:
        bench.log(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 130 if interrupted else 0


if __name__ == "__main__":
    raise SystemExit(main())
