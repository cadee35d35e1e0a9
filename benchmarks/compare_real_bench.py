"""False alarms and detections of ``perfeng compare`` on real benchmarks on this machine.

The anchor experiment (pyperf's ``compare_to`` gave 2 false alarms and 1 miss in 9 pairs of
``sorted(range(1000))`` runs) redone with perfeng: each repetition runs ``perfeng bench`` on
three files measuring ``sorted(range(N))`` under one name, A (N=1000), A again, and B (N=1100,
about +10 % work), in the order A B A' so drift hits both sides, then compares A with A'
(identical code: any "slower"/"faster" is a false alarm) and A with B (a detection when
"slower").

With ``--interleaved`` each pair is measured in one ``perfeng bench HEAD --base BASE`` run
instead, base and head worker processes alternating, as a CI job comparing two checkouts would.

Run: python benchmarks/compare_real_bench.py [--reps 5] [--preset fast|default] [--interleaved]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = "def bench_sorted_range():\n    sorted(range({n}))\n"


def perfeng(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfeng", *args], capture_output=True, text=True, check=False
    )


def bench(folder: Path, n: int, out: Path, preset: str) -> None:
    source = folder / f"n{n}"
    source.mkdir(exist_ok=True)
    (source / "bench_sort.py").write_text(BENCH.format(n=n))
    flags = ["--fast"] if preset == "fast" else []
    done = perfeng("bench", str(source), *flags, "--quiet", "--out", str(out))
    if done.returncode != 0:
        sys.exit(f"perfeng bench failed: {done.stderr}")


def bench_pair(folder: Path, base_n: int, head_n: int, preset: str) -> tuple[Path, Path]:
    """Base and head measured in one run, their worker processes interleaved."""
    paths = []
    for side, n in (("base", base_n), ("head", head_n)):
        source = folder / side
        source.mkdir(exist_ok=True)
        (source / "bench_sort.py").write_text(BENCH.format(n=n))
        paths.append(source)
    base_out, head_out = folder / "base.json", folder / "head.json"
    flags = ["--fast"] if preset == "fast" else []
    done = perfeng(
        "bench", str(paths[1]), "--base", str(paths[0]), "--base-out", str(base_out),
        "--out", str(head_out), *flags, "--quiet",
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"perfeng bench failed: {done.stderr}")
    return base_out, head_out


def verdict(base: Path, head: Path) -> tuple[str, float]:
    done = perfeng("compare", str(base), str(head), "--json")
    (row,) = json.loads(done.stdout)["rows"]
    return row["verdict"], row["shift"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--preset", choices=("fast", "default"), default="fast")
    parser.add_argument("--interleaved", action="store_true", help="base and head in one run")
    args = parser.parse_args()
    alarms = detections = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for rep in range(args.reps):
            if args.interleaved:
                same, same_change = verdict(*bench_pair(folder, 1000, 1000, args.preset))
                slower, slower_change = verdict(*bench_pair(folder, 1000, 1100, args.preset))
            else:
                a, b, a2 = folder / "a.json", folder / "b.json", folder / "a2.json"
                for path, n in ((a, 1000), (b, 1100), (a2, 1000)):
                    bench(folder, n, path, args.preset)
                same, same_change = verdict(a, a2)
                slower, slower_change = verdict(a, b)
            alarms += same != "no change"
            detections += slower == "slower"
            print(
                f"rep {rep + 1}: A vs A' {same} ({same_change:+.1%}); "
                f"A vs B {slower} ({slower_change:+.1%})",
                flush=True,
            )
    print(
        f"preset {args.preset}{', interleaved' if args.interleaved else ''}, {args.reps} reps: "
        f"false alarms {alarms}/{args.reps}, "
        f"detections of +10 % work {detections}/{args.reps}"
    )


if __name__ == "__main__":
    main()
