"""perfeng's change-point detector beside Apache Otava's, on synthetic series with known answers.

Otava (``otava.analysis.compute_change_points``, default window 50 and p-value 0.001) pins
numpy 2.2.x, so it runs in its own throwaway venv (``benchmarks/.venv-otava``, created on the
first run with ``pip install apache-otava==0.8.0``) as a subprocess that reads the series as
JSON and prints the indices it finds. perfeng's ``analysis.changepoint.detect`` runs here with
its defaults.

Series: ``--n`` values of N(100, 2) (sigma = 2 % of the level), ``--seeds`` per scenario:
level steps of 4, 2 and 1.5 sigma (3 steps, at least 30 values apart, random signs), steps
with five single spikes of 5-15 sigma, a 4 sigma step 10 values before the end, a 4 sigma
bump of 5 values (a regression fixed 5 commits later: two true indices), and series
without any step: plain, with spikes, and with heavy-tailed noise (Student t, 3 degrees of
freedom). A find within +-3 of a true index is a hit (each true index matches one find at
most); every other find is a false positive. Also: the time for 10,000 values (median of 5).

Run: .venv/bin/python benchmarks/detect_vs_otava.py [--seeds 30] [--n 300] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perfeng.analysis.changepoint import detect

HERE = Path(__file__).resolve().parent
OTAVA_VENV = HERE / ".venv-otava"
OTAVA_PACKAGE = "apache-otava==0.8.0"
TOLERANCE = 3
SIGMA = 2.0
SCENARIOS = {
    # name: (step size in sigma, layout of the steps, spikes, noise)
    "steps 4σ": (4.0, "3 steps", 0, "gauss"),
    "steps 2σ": (2.0, "3 steps", 0, "gauss"),
    "steps 1.5σ": (1.5, "3 steps", 0, "gauss"),
    "steps 4σ + spikes": (4.0, "3 steps", 5, "gauss"),
    "steps 2σ + spikes": (2.0, "3 steps", 5, "gauss"),
    "4σ step 10 before the end": (4.0, "end", 0, "gauss"),
    "4σ bump of 5 values (up and back)": (4.0, "bump", 0, "gauss"),
    "no step": (0.0, "none", 0, "gauss"),
    "no step + spikes": (0.0, "none", 5, "gauss"),
    "no step, heavy tails (t3)": (0.0, "none", 0, "t3"),
}

OTAVA_RUNNER = """
import json, statistics, sys, time
from importlib.metadata import version
from otava.analysis import compute_change_points

job = json.load(sys.stdin)
found = [[int(c.index) for c in compute_change_points(s)[0]] for s in job["series"]]
compute_change_points(job["timing"])
times = []
for _ in range(job["repeats"]):
    start = time.perf_counter()
    compute_change_points(job["timing"])
    times.append(time.perf_counter() - start)
json.dump({"found": found, "seconds": statistics.median(times),
           "version": version("apache-otava")}, sys.stdout)
"""


@dataclass
class Score:
    hits: int = 0
    finds: int = 0
    truths: int = 0
    series: int = 0
    false_by_series: list[int] = field(default_factory=list)

    def add(self, found: list[int], truth: list[int]) -> None:
        hits = matched(found, truth)
        self.hits += hits
        self.finds += len(found)
        self.truths += len(truth)
        self.series += 1
        self.false_by_series.append(len(found) - hits)

    @property
    def precision(self) -> float:
        return self.hits / self.finds if self.finds else 1.0

    @property
    def recall(self) -> float:
        return self.hits / self.truths if self.truths else float("nan")

    @property
    def false_per_series(self) -> float:
        return sum(self.false_by_series) / max(self.series, 1)


def matched(found: list[int], truth: list[int]) -> int:
    """True indices with a find within the tolerance, each find used once (nearest first)."""
    free = sorted(found)
    hits = 0
    for t in truth:
        near = [f for f in free if abs(f - t) <= TOLERANCE]
        if near:
            free.remove(min(near, key=lambda f: abs(f - t)))
            hits += 1
    return hits


def make_series(scenario: int, seed: int, n: int) -> tuple[list[float], list[int]]:
    size, layout, spikes, noise = list(SCENARIOS.values())[scenario]
    rng = np.random.default_rng([scenario, seed])
    level = np.full(n, 100.0)
    truth = step_positions(rng, n, layout)
    for index in truth:
        level[index:] += rng.choice([-1.0, 1.0]) * size * SIGMA
    if layout == "bump":
        level[truth[1] :] = 100.0
    if noise == "t3":
        y = level + rng.standard_t(3, n) * SIGMA / np.sqrt(3.0)  # t3 scaled to sd sigma
    else:
        y = level + rng.normal(0.0, SIGMA, n)
    for index in rng.choice(np.arange(2, n - 2), spikes, replace=False):
        y[index] = level[index] + rng.choice([-1.0, 1.0, 1.0]) * rng.uniform(5, 15) * SIGMA
    return [float(v) for v in y], truth


def step_positions(rng: np.random.Generator, n: int, layout: str) -> list[int]:
    if layout == "end":
        return [n - 10]
    if layout == "bump":
        start = int(rng.integers(30, n - 35))
        return [start, start + 5]
    while layout == "3 steps":
        positions = sorted(int(p) for p in rng.integers(30, n - 30, 3))
        if all(b - a >= 30 for a, b in itertools.pairwise(positions)):
            return positions
    return []


def timing_series(n: int = 10_000) -> list[float]:
    rng = np.random.default_rng(10_000)
    level = 100.0 + 8.0 * (np.arange(n) >= n // 3) - 6.0 * (np.arange(n) >= 2 * n // 3)
    y = level + rng.normal(0.0, SIGMA, n)
    y[rng.choice(n, 20, replace=False)] *= 1.25
    return [float(v) for v in y]


def otava_python(path: Path) -> Path:
    python = path / "bin" / "python"
    if not python.exists():
        print(f"creating {path} with {OTAVA_PACKAGE} (once) ...", file=sys.stderr)
        venv.create(path, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", OTAVA_PACKAGE], check=True, timeout=900
        )
    return python


def run_otava(python: Path, series: list[list[float]], repeats: int) -> dict[str, Any]:
    job = json.dumps({"series": series, "timing": timing_series(), "repeats": repeats})
    done = subprocess.run(
        [str(python), "-c", OTAVA_RUNNER],
        input=job,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def time_perfeng(repeats: int) -> float:
    values = timing_series()
    detect(values)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        detect(values)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "∞" if a else "-"


def table(scores: dict[str, dict[str, Score]]) -> list[str]:
    lines = [
        "| scenario | true changes | recall perfeng | recall Otava "
        "| false pos./series perfeng | false pos./series Otava |",
        "|---|---|---|---|---|---|",
    ]
    for name, pair in scores.items():
        ours, theirs = pair["perfeng"], pair["otava"]
        recall = f"{ours.recall:.1%} | {theirs.recall:.1%}" if ours.truths else "– | –"
        lines.append(
            f"| {name} | {ours.truths} | {recall} | {ours.false_per_series:.2f} "
            f"| {theirs.false_per_series:.2f} |"
        )
    return lines


def total(scores: dict[str, dict[str, Score]], who: str, null_only: bool = False) -> Score:
    out = Score()
    for pair in scores.values():
        s = pair[who]
        if null_only and s.truths:
            continue
        out.hits += s.hits
        out.finds += s.finds
        out.truths += s.truths
        out.series += s.series
        out.false_by_series += s.false_by_series
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=30, help="series per scenario (default 30)")
    parser.add_argument("--n", type=int, default=300, help="values per series (default 300)")
    parser.add_argument("--repeats", type=int, default=5, help="timing runs (median; default 5)")
    parser.add_argument("--otava-venv", type=Path, default=OTAVA_VENV, help="Otava's venv")
    parser.add_argument("--json-out", type=Path, help="write every series' finds here")
    args = parser.parse_args()

    cases = [
        (name, *make_series(i, seed, args.n))
        for i, name in enumerate(SCENARIOS)
        for seed in range(args.seeds)
    ]
    otava = run_otava(otava_python(args.otava_venv), [c[1] for c in cases], args.repeats)
    ours_found = [[p.index for p in detect(c[1])] for c in cases]
    scores: dict[str, dict[str, Score]] = {
        n: {"perfeng": Score(), "otava": Score()} for n in SCENARIOS
    }
    for (name, _, truth), mine, theirs in zip(cases, ours_found, otava["found"], strict=True):
        scores[name]["perfeng"].add(mine, truth)
        scores[name]["otava"].add(theirs, truth)
    ours_s = time_perfeng(args.repeats)
    report(args, otava, scores, ours_s)
    if args.json_out:
        rows = [
            {"scenario": c[0], "truth": c[2], "perfeng": m, "otava": o}
            for c, m, o in zip(cases, ours_found, otava["found"], strict=True)
        ]
        args.json_out.write_text(json.dumps(rows, indent=1))
    ours, theirs = total(scores, "perfeng"), total(scores, "otava")
    return 0 if ours.precision >= theirs.precision and ours.recall >= theirs.recall else 1


def report(
    args: argparse.Namespace,
    otava: dict[str, Any],
    scores: dict[str, dict[str, Score]],
    ours_s: float,
) -> None:
    print(
        f"perfeng detect (defaults) vs Apache Otava {otava['version']} compute_change_points "
        f"(window 50, p 0.001); {args.seeds} seeds x {len(SCENARIOS)} scenarios, {args.n} values, "
        f"sigma {SIGMA:g} % of the level, hit = within ±{TOLERANCE}; "
        f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}\n"
    )
    print("\n".join(table(scores)))
    ours, theirs = total(scores, "perfeng"), total(scores, "otava")
    null_ours, null_theirs = total(scores, "perfeng", True), total(scores, "otava", True)
    print("\n| overall | perfeng | Otava | perfeng / Otava |\n|---|---|---|---|")
    print(
        f"| precision | {ours.precision:.1%} | {theirs.precision:.1%} "
        f"| {ratio(ours.precision, theirs.precision)} |"
    )
    print(
        f"| recall | {ours.recall:.1%} | {theirs.recall:.1%} "
        f"| {ratio(ours.recall, theirs.recall)} |"
    )
    print(
        f"| false positives per series without a step | {null_ours.false_per_series:.3f} "
        f"| {null_theirs.false_per_series:.3f} "
        f"| {ratio(null_ours.false_per_series, null_theirs.false_per_series)} |"
    )
    print(
        f"| time for 10,000 values (median of {args.repeats}) | {ours_s * 1000:.0f} ms "
        f"| {otava['seconds'] * 1000:.0f} ms | {ratio(ours_s, otava['seconds'])} |"
    )
    verdict = ours.precision >= theirs.precision and ours.recall >= theirs.recall
    print(
        f"\n{'PASS' if verdict else 'MISS'}: perfeng's precision and recall "
        f"{'are' if verdict else 'are not both'} at least Otava's"
    )


if __name__ == "__main__":
    sys.exit(main())
