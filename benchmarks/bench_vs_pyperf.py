"""perfeng bench beside pyperf (callables) and hyperfine (commands), on the same machine.

Callables: ``python -m pyperf timeit "sorted(range(1000))"`` (default and --fast) against
``perfeng bench`` on a bench file doing the same (default and --fast): the wall time of each
and the median each reports. Commands: ``hyperfine 'python3 -c pass'`` (and -N) against
``perfeng bench --cmd 'python3 -c pass'`` (and -N): the median each reports.
The tools run interleaved, once each per repetition; the table gives medians over the
repetitions, their min-max, and perfeng/anchor ratios.

pyperf is not a dependency of perfeng: install it into a throwaway venv and point --pyperf at
its interpreter. hyperfine is the Debian package (``apt-get install hyperfine``); without it
the command part is skipped.

Run from the repository root:
    python3 -m venv /tmp/pyperf-venv && /tmp/pyperf-venv/bin/pip install pyperf
    .venv/bin/python benchmarks/bench_vs_pyperf.py [--pyperf /tmp/pyperf-venv/bin/python]
        [--reps 3] [--only callables,commands] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STATEMENT = "sorted(range(1000))"
BENCH_FILE = f"def bench_sorted():\n    {STATEMENT}\n"
COMMAND = "python3 -c pass"


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def pyperf_median(path: Path) -> float:
    """Median of every timed value in a pyperf JSON file (values are per loop already)."""
    document = json.loads(path.read_text())
    runs = document["benchmarks"][0]["runs"]
    return statistics.median(v for run in runs for v in run.get("values", []))


def perfeng_median(path: Path) -> float:
    return float(json.loads(path.read_text())["benchmarks"][0]["stats"]["median"])


def hyperfine_median(path: Path) -> float:
    return float(json.loads(path.read_text())["results"][0]["median"])


def callable_cases(pyperf: str, work: Path) -> dict[str, Any]:
    (work / "bench_sorted.py").write_text(BENCH_FILE)
    perfeng = [sys.executable, "-m", "perfeng", "bench", "bench_sorted.py", "--quiet", "--out"]
    timeit = [pyperf, "-m", "pyperf", "timeit", STATEMENT, "--quiet", "-o"]
    return {
        "pyperf": (lambda out: [*timeit, out], pyperf_median),
        "perfeng": (lambda out: [*perfeng, out], perfeng_median),
        "pyperf --fast": (lambda out: [*timeit, out, "--fast"], pyperf_median),
        "perfeng --fast": (lambda out: [*perfeng, out, "--fast"], perfeng_median),
    }


def command_cases() -> dict[str, Any]:
    perfeng = [sys.executable, "-m", "perfeng", "bench", "--quiet", "--cmd", COMMAND, "--out"]
    hyperfine = ["hyperfine", "--style", "none", COMMAND, "--export-json"]
    return {
        "hyperfine": (lambda out: [*hyperfine, out], hyperfine_median),
        "perfeng --cmd": (lambda out: [*perfeng, out], perfeng_median),
        "hyperfine -N": (lambda out: [*hyperfine, out, "-N"], hyperfine_median),
        "perfeng --cmd -N": (lambda out: [*perfeng, out, "-N"], perfeng_median),
    }


def run_cases(cases: dict[str, Any], reps: int, work: Path) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {n: {"wall": [], "median": []} for n in cases}
    for rep in range(reps):
        for name, (argv_for, median_of) in cases.items():
            if (work / "out.json").exists():
                (work / "out.json").unlink()
            wall = timed(argv_for("out.json"), work)
            results[name]["wall"].append(wall)
            results[name]["median"].append(median_of(work / "out.json"))
            print(f"rep {rep + 1} {name}: wall {wall:.2f} s", file=sys.stderr)
    return results


def _span(values: list[float], scale: float, unit: str) -> str:
    middle = statistics.median(values) * scale
    return f"{middle:.3g} {unit} ({min(values) * scale:.3g}-{max(values) * scale:.3g})"


def table(results: dict[str, dict[str, list[float]]], scale: float, unit: str) -> str:
    lines = [f"| tool | wall time, s | reported median, {unit} |", "|---|---|---|"]
    for name, series in results.items():
        wall, median = _span(series["wall"], 1, "s"), _span(series["median"], scale, unit)
        lines.append(f"| {name} | {wall} | {median} |")
    return "\n".join(lines)


def ratios(results: dict[str, dict[str, list[float]]], pairs: list[tuple[str, str]]) -> str:
    lines = ["| perfeng / anchor | wall time | reported median |", "|---|---|---|"]
    for ours, theirs in pairs:
        cells = [
            statistics.median(results[ours][k]) / statistics.median(results[theirs][k])
            for k in ("wall", "median")
        ]
        lines.append(f"| {ours} / {theirs} | {cells[0]:.2f} | {cells[1]:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyperf", default="/tmp/pyperf-venv/bin/python")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default="callables,commands")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    report: dict[str, Any] = {"python3": shutil.which("python3")}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if "callables" in args.only:
            found = run_cases(callable_cases(args.pyperf, work), args.reps, work)
            report["callables"] = found
            print(f"\n`{STATEMENT}`, {args.reps} interleaved repetitions\n")
            print(table(found, 1e6, "µs"))
            print()
            print(ratios(found, [("perfeng", "pyperf"), ("perfeng --fast", "pyperf --fast")]))
        if "commands" in args.only and shutil.which("hyperfine"):
            found = run_cases(command_cases(), args.reps, work)
            report["commands"] = found
            print(f"\n`{COMMAND}` (python3 = {report['python3']})\n")
            print(table(found, 1e3, "ms"))
            print()
            print(
                ratios(
                    found, [("perfeng --cmd", "hyperfine"), ("perfeng --cmd -N", "hyperfine -N")]
                )
            )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
