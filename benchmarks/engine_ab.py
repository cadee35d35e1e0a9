"""Two versions of perfeng's engine against the same nginx, interleaved: the cost of a change.

``--base-src`` is the ``src`` folder of the other version (a ``git worktree`` of the commit
before the change); the working tree's ``src`` is the head. Both run ``perfeng load URL
--users 50`` (the closed-model throughput case of engine_vs_wrk.py) on CPU 0 against nginx
(one worker) on CPU 1, in ABBA order so that a drift of the machine falls on both alike,
waiting for a quiet machine before each run and repeating a run that other programs disturbed
(engine_vs_wrk.py's method and helpers). Prints each pair's head/base throughput ratio and
their median: the figure a change's cost is judged by (issue 12: at most 3 % lost).

    .venv/bin/python benchmarks/engine_ab.py --base-src ../base/src [--pairs 6] [--duration 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from engine_vs_wrk import THROUGHPUT_CONNS, Bench, Children, Config, Nginx, run_perfeng

HEAD_SRC = Path(__file__).resolve().parents[1] / "src"


def one(b: Bench, label: str, src: Path, url: str, pid: int | None, pair: int) -> dict[str, Any]:
    os.environ["PYTHONPATH"] = str(src)
    load = ["--users", str(THROUGHPUT_CONNS), "--duration", f"{b.cfg.duration}s", "--json"]
    return b.measure("ab", label, pair, lambda: run_perfeng(b, "ab", url, load, pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-src", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="engine_ab."))
    cfg = Config(
        reps=args.pairs,
        duration=args.duration,
        sections=("ab",),
        gen_cpu=0,
        srv_cpu=1,
        nice=-10 if os.geteuid() == 0 else 0,
        quiet_pct=15.0,
        quiet_max_s=20.0,
        max_foreign_pct=10.0,
        retries=2,
        workdir=workdir,
    )
    head_src = workdir / "head-src"  # a copy: edits made while it runs do not leak into it
    shutil.copytree(HEAD_SRC, head_src, ignore=shutil.ignore_patterns("__pycache__"))
    bench = Bench(cfg, Children())
    ratios, cpu_ratios = [], []
    try:
        with Nginx(bench) as nginx:
            for pair in range(args.pairs):
                order = [("base", args.base_src), ("head", head_src)]
                if pair % 2:
                    order.reverse()
                rows = {
                    label: one(bench, label, src, nginx.url, nginx.worker, pair)
                    for label, src in order
                }
                head, base = rows["head"], rows["base"]
                if head.get("rps") and base.get("rps"):
                    ratios.append(head["rps"] / base["rps"])
                    cpu_ratios.append(head["gen_us_per_req"] / base["gen_us_per_req"])
                    print(
                        f"pair {pair + 1}: head {head['rps']:.0f}/s, base {base['rps']:.0f}/s,"
                        f" ratio {ratios[-1]:.3f}; CPU/request ratio {cpu_ratios[-1]:.3f}",
                        flush=True,
                    )
    finally:
        bench.children.end_all()
    if ratios:
        print(
            f"head/base throughput: median {statistics.median(ratios):.3f}"
            f" (pairs: {', '.join(f'{r:.3f}' for r in ratios)});"
            f" CPU per request: median {statistics.median(cpu_ratios):.3f}"
        )


if __name__ == "__main__":
    main()
