"""What `perfeng monitor` costs to run (issue 10): its CPU and memory at 1 and 50 probes a
second over a long run, and whether its memory stays flat.

Each rate gets its own `perfeng monitor URL --rate R --slo 'p99<300ms' --slo
'availability>99.9%' --listen 127.0.0.1:0 --duration D` against a loopback `fast` test
server (perfeng.testing.servers, in a process of its own). The monitors run side by side
(their CPU is each process's own CPU time, so sharing the machine does not mix them up).
Every ``--every`` seconds the script reads each monitor's CPU time and RSS (psutil) and
scrapes its /metrics once (as Prometheus would). It prints, per rate: the mean CPU share of
one core after the first minute, RSS after 1 minute and at the end, the growth between them,
and the /metrics page size.

    .venv/bin/python benchmarks/monitor_cost.py --duration 600 --rates 1,50
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any

import psutil

from perfeng.testing.servers import start_in_process


def _start(url: str, rate: str, duration: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "perfeng", "monitor", url, "--rate", rate,
            "--slo", "p99<300ms", "--slo", "availability>99.9%",
            "--listen", "127.0.0.1:0", "--duration", f"{duration}s",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _metrics_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    for line in process.stderr:
        if "metrics on " in line:
            return line.split("metrics on ")[1].strip()
    raise SystemExit("the monitor did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds (default 600)")
    parser.add_argument("--rates", default="1,50", help="probes per second, comma-separated")
    parser.add_argument("--every", type=float, default=10.0, help="sampling interval, s")
    parser.add_argument("--json-out", help="write the figures here")
    args = parser.parse_args()
    rates = args.rates.split(",")
    with start_in_process("fast") as server:
        url = f"http://127.0.0.1:{server.port}/"
        monitors = {rate: _start(url, rate, args.duration) for rate in rates}
        urls = {rate: _metrics_url(p) for rate, p in monitors.items()}
        procs = {rate: psutil.Process(p.pid) for rate, p in monitors.items()}
        samples: dict[str, list[dict[str, float]]] = {rate: [] for rate in rates}
        start = time.monotonic()
        while time.monotonic() - start < args.duration - args.every:
            time.sleep(args.every)
            for rate in rates:
                samples[rate].append(_sample(procs[rate], urls[rate], start))
        for process in monitors.values():
            process.wait(120)
    figures = {rate: _figures(samples[rate]) for rate in rates}
    for rate, figure in figures.items():
        print(
            f"{rate:>4} probes/s: CPU {figure['cpu_share_median']:.2%} of a core (median of "
            f"{args.every:g}-s samples after the first minute), RSS {figure['rss_1min_mb']:.1f} MB "
            f"at 1 min, {figure['rss_end_mb']:.1f} MB at {figure['end_s']:.0f} s "
            f"(growth {figure['rss_growth_mb']:+.1f} MB), /metrics {figure['metrics_bytes']:.0f} B"
        )
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump({"duration_s": args.duration, "figures": figures}, out, indent=1)
    return 0


def _sample(process: psutil.Process, url: str, start: float) -> dict[str, float]:
    times = process.cpu_times()
    with urllib.request.urlopen(url, timeout=10) as response:
        size = len(response.read())
    return {
        "t": time.monotonic() - start,
        "cpu_s": times.user + times.system,
        "rss_mb": process.memory_info().rss / 2**20,
        "metrics_bytes": size,
    }


def _figures(samples: list[dict[str, float]]) -> dict[str, Any]:
    shares = [
        (b["cpu_s"] - a["cpu_s"]) / (b["t"] - a["t"])
        for a, b in itertools.pairwise(samples)
        if a["t"] >= 60
    ]
    first = next(s for s in samples if s["t"] >= 60)
    last = samples[-1]
    return {
        "cpu_share_median": statistics.median(shares),
        "cpu_share_max": max(shares),
        "rss_1min_mb": first["rss_mb"],
        "rss_end_mb": last["rss_mb"],
        "rss_growth_mb": last["rss_mb"] - first["rss_mb"],
        "end_s": last["t"],
        "metrics_bytes": last["metrics_bytes"],
    }


if __name__ == "__main__":
    raise SystemExit(main())
