"""Counted benchmarks across separate runs (issue 14, section 1): false alarms and detections.

Each pair is two separate ``perfeng bench --instructions`` runs, as two CI jobs would make
them, judged by ``perfeng compare`` (default minimum effect for counts, 1 %):

- A/A: the same benchmark file twice; the second run with a CPU hog on every core (one
  busy-looping process per CPU) for its whole duration. Any "slower" or "faster" is a false
  alarm.
- +2 %: base as above (quiet), head doing 2 % more work in every benchmark (a longer inner
  loop: REPS 50 -> 51), measured under the hog. Detected when compare calls every benchmark
  "slower" on instructions.

Each run is ``--fast`` (one worker process per benchmark). It also times ``perfeng bench``
(timing, --fast) and ``perfeng bench --instructions --fast``
on the same file: the wall-clock cost of counting, and the slowdown inside the measured
window (callgrind with cache simulation against the plain interpreter, same loop of calls).

Run: .venv/bin/python benchmarks/instructions_aa.py [--pairs 20] [--json-out FILE]
Everything it starts is stopped by PID (also on Ctrl-C); files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PERFENG = [sys.executable, "-m", "perfeng"]
# One worker process per benchmark and run: each pair compares counts of separate processes,
# as two CI jobs would (the default preset's 3 processes agree exactly as well).
FLAGS = ["--fast"]

BENCH_FILE = '''\
"""Three small benchmarks, each repeating a fixed piece of work REPS times (head: +2 %)."""
import json

REPS = {reps}
DATA = list(range(300))[::-1]
DOC = {{"k%d" % i: [i, str(i), {{"x": i}}] for i in range(30)}}


def bench_sort():
    for _ in range(REPS):
        sorted(DATA)


def bench_sum_squares():
    for _ in range(REPS):
        sum(i * i for i in range(300))


def bench_json_dumps():
    for _ in range(REPS):
        json.dumps(DOC)
'''
BASE_REPS = 50  # head: 51, 2 % more work (less the call's own constant cost)


def write_bench(folder: Path, name: str, reps: int) -> Path:
    path = folder / name
    path.mkdir()
    (path / "bench_aa.py").write_text(BENCH_FILE.format(reps=reps), encoding="utf-8")
    return path


def start_hog() -> list[subprocess.Popen[bytes]]:
    """One busy-looping process per CPU."""
    loop = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(os.cpu_count() or 1)]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.kill()
    for process in processes:
        process.wait()


def count(path: Path, out: Path, hog: bool) -> float:
    """One ``perfeng bench --instructions`` run; its wall time in seconds."""
    hogs = start_hog() if hog else []
    try:
        start = time.perf_counter()
        subprocess.run(
            [*PERFENG, "bench", "--instructions", *FLAGS, str(path), "--out", str(out), "--quiet"],
            check=True,
        )
        return time.perf_counter() - start
    finally:
        stop(hogs)


def compare(base: Path, head: Path) -> dict[str, Any]:
    done = subprocess.run(
        [*PERFENG, "compare", str(base), str(head), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"compare failed: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def verdicts(comparison: dict[str, Any], metric: str) -> list[str]:
    return [row["verdict"] for row in comparison["rows"] if row["metric"] == metric]


def run_pairs(folder: Path, pairs: int) -> dict[str, Any]:
    base_dir = write_bench(folder, "base", BASE_REPS)
    head_dir = write_bench(folder, "head", BASE_REPS + 1)
    record: dict[str, Any] = {"aa": [], "plus2": [], "seconds": []}
    for pair in range(pairs):
        base_out, aa_out, head_out = (folder / f"{k}{pair}.json" for k in ("base", "aa", "head"))
        record["seconds"].append(count(base_dir, base_out, hog=False))
        record["seconds"].append(count(base_dir, aa_out, hog=True))
        record["seconds"].append(count(head_dir, head_out, hog=True))
        aa, plus2 = compare(base_out, aa_out), compare(base_out, head_out)
        record["aa"].append(aa)
        record["plus2"].append(plus2)
        changes = [r["shift"] for r in plus2["rows"] if r["metric"] == "instructions"]
        print(
            f"pair {pair + 1}: A/A {verdicts(aa, 'instructions')} {verdicts(aa, 'est_cycles')};"
            f" +2 % {verdicts(plus2, 'instructions')} changes"
            f" {', '.join(f'{c:+.3%}' for c in changes)}",
            flush=True,
        )
    return record


def summarize(record: dict[str, Any]) -> None:
    pairs = len(record["aa"])
    for metric in ("instructions", "est_cycles"):
        alarms = sum(any(v != "no change" for v in verdicts(c, metric)) for c in record["aa"])
        found = sum(all(v == "slower" for v in verdicts(c, metric)) for c in record["plus2"])
        print(f"{metric}: A/A false alarms {alarms}/{pairs}; +2 % detected {found}/{pairs}")
    aa_shifts = [abs(r["shift"]) for c in record["aa"] for r in c["rows"]]
    print(f"largest A/A difference of a median: {max(aa_shifts):.4%}")
    seconds = sorted(record["seconds"])
    print(f"one counted run (--fast) of 3 benchmarks: median {seconds[len(seconds) // 2]:.1f} s")


def slowdown(folder: Path) -> None:
    """Whole-command wall time, timing vs counting, and the window's own slowdown."""
    path = write_bench(folder, "speed", BASE_REPS)
    for flags in (["--fast"], ["--fast", "--instructions"]):
        start = time.perf_counter()
        subprocess.run([*PERFENG, "bench", str(path), "--quiet", *flags], check=True)
        print(f"perfeng bench {' '.join(flags)}: {time.perf_counter() - start:.1f} s")
    loop = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import bench_aa as b;"
        "t = time.perf_counter(); [b.bench_sum_squares() for _ in range(20)];"
        "print(time.perf_counter() - t)"
    )
    native = float(
        subprocess.run(
            [sys.executable, "-c", loop, str(path)], capture_output=True, text=True, check=True
        ).stdout
    )
    counted = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--cache-sim=yes",
            "--quiet",
            f"--callgrind-out-file={folder}/slowdown.out",
            sys.executable,
            "-c",
            loop,
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"inside the window (20 calls): {float(counted.stdout) / native:.0f}x plain timing")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM too: the hogs are stopped in ``count``'s finally


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--json-out", help="write every comparison here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perfeng-aa-") as tmp:
        folder = Path(tmp)
        slowdown(folder)
        record = run_pairs(folder, args.pairs)
    summarize(record)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(record, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
