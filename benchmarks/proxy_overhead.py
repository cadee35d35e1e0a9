"""The fault proxy's own cost: nginx directly vs through ``perfeng proxy`` (no fault), at
5,000 requests/s in the open model (issue 13, section 2: added p50 < 0.2 ms).

nginx (one worker, ``return 200 "ok\\n"``) and the proxy share CPU 1; perfeng ``load --rate
5000`` runs on CPU 0 (taskset, as engine_vs_wrk.py, whose helpers this reuses: quiet-machine
waits, a run repeated when other programs took its CPU). Pairs of runs in ABBA order (direct,
proxy, proxy, direct, ...) so that a drift of the machine falls on both alike. Prints each
pair's added latency at p50 and p99 (proxy minus direct) and their medians.

    .venv/bin/python benchmarks/proxy_overhead.py [--pairs 4] [--duration 8]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from engine_vs_wrk import (
    HOST,
    HZ,
    OPEN_RATE,
    Bench,
    Children,
    Config,
    Nginx,
    _raise_interrupt,
    pin,
    proc_ticks,
    run_perfeng,
)


def start_proxy(b: Bench, upstream_port: int) -> tuple[subprocess.Popen[bytes], str]:
    """``perfeng proxy`` in front of nginx, pinned beside it; returns it and its URL."""
    cmd = [sys.executable, "-m", "perfeng", "proxy", "--upstream", f"{HOST}:{upstream_port}"]
    proc = b.children.start(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()  # "proxy listening HOST:PORT -> ..."
    if not line.startswith("proxy listening"):
        raise SystemExit(f"perfeng proxy did not start: {line!r}")
    pin(proc.pid, b.cfg.srv_cpu, b.cfg.nice)
    return proc, f"http://{line.split()[2]}/"


def one(
    b: Bench, label: str, url: str, pid: int | None, pair: int, proxy_pid: int
) -> dict[str, Any]:
    load = ["--rate", str(OPEN_RATE), "--duration", f"{b.cfg.duration}s"]

    def once() -> dict[str, Any]:
        before = proc_ticks(proxy_pid)
        row = run_perfeng(b, "proxy", url, load, pid)
        # the proxy's own CPU is part of the case measured, not another program's
        share = 100.0 * (proc_ticks(proxy_pid) - before) / HZ / row["wall_s"]
        row["proxy_cpu_pct"] = round(share, 1)
        for key in ("foreign_cpu_pct", "foreign_srv_cpu_pct"):
            row[key] = round(row[key] - share, 1)
        return row

    return b.measure("proxy", label, pair, once)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    for signum in (signal.SIGINT, signal.SIGTERM):  # stop the children in ``finally``
        signal.signal(signum, _raise_interrupt)
    cfg = Config(
        reps=args.pairs,
        duration=args.duration,
        sections=("proxy",),
        gen_cpu=0,
        srv_cpu=1,
        nice=-10 if os.geteuid() == 0 else 0,
        quiet_pct=15.0,
        quiet_max_s=20.0,
        max_foreign_pct=10.0,
        retries=2,
        workdir=Path(tempfile.mkdtemp(prefix="proxy_overhead.")),
    )
    bench = Bench(cfg, Children())
    added_p50, added_p99 = [], []
    try:
        with Nginx(bench) as nginx:
            proc, proxied = start_proxy(bench, nginx.port)
            urls = {"direct": nginx.url, "proxy": proxied}
            for pair in range(args.pairs):
                order = ["direct", "proxy"] if pair % 2 == 0 else ["proxy", "direct"]
                rows = {
                    label: one(bench, label, urls[label], nginx.worker, pair, proc.pid)
                    for label in order
                }
                direct, proxy = rows["direct"], rows["proxy"]
                if direct.get("p50_ms") is None or proxy.get("p50_ms") is None:
                    print(f"pair {pair + 1}: no result", flush=True)
                    continue
                added_p50.append(proxy["p50_ms"] - direct["p50_ms"])
                added_p99.append(proxy["p99_ms"] - direct["p99_ms"])
                print(
                    f"pair {pair + 1}: direct p50 {direct['p50_ms']:.3f} p99 "
                    f"{direct['p99_ms']:.3f} ms; proxy p50 {proxy['p50_ms']:.3f} p99 "
                    f"{proxy['p99_ms']:.3f} ms; rates {direct['rps']:.0f}/{proxy['rps']:.0f}/s, "
                    f"errors {direct['errors']}/{proxy['errors']}, dropped "
                    f"{direct['dropped']}/{proxy['dropped']}; proxy CPU {proxy['proxy_cpu_pct']}%",
                    flush=True,
                )
    finally:
        bench.children.end_all()
    if added_p50:
        print(
            f"added latency at {OPEN_RATE}/s: p50 median {statistics.median(added_p50):.3f} ms "
            f"({', '.join(f'{v:.3f}' for v in added_p50)}), p99 median "
            f"{statistics.median(added_p99):.3f} ms ({', '.join(f'{v:.3f}' for v in added_p99)})"
            f"; target p50 < 0.2 ms"
        )


if __name__ == "__main__":
    main()
