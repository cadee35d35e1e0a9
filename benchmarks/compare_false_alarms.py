"""False alarms and detections of perfeng's comparison rule on simulated noisy benchmarks.

Each trial draws a base and a head sample (N values each) from a noisy distribution, the head
shifted by 0 %, +5 % or +10 %, and asks ``analysis.compare.compare`` (Mann-Whitney at
alpha 0.01 and a 5 % minimum effect) for a verdict. Noise: Gaussian (3 %) and heavy-tailed
(lognormal body plus 5 % of outliers 1.5-3x slower, as a shared CI runner produces).
Run: python benchmarks/compare_false_alarms.py [--trials 1000] [--n 30]
"""

from __future__ import annotations

import argparse
import random

from perfeng.analysis.compare import compare


def gaussian(rng: random.Random, centre: float) -> float:
    return centre * (1 + rng.gauss(0, 0.03))


def heavy_tailed(rng: random.Random, centre: float) -> float:
    value = centre * rng.lognormvariate(0, 0.03)
    return value * rng.uniform(1.5, 3.0) if rng.random() < 0.05 else value


def rates(noise: str, shift: float, trials: int, n: int, seed: int) -> tuple[float, float]:
    draw = gaussian if noise == "gaussian" else heavy_tailed
    rng = random.Random(seed)
    slower = faster = 0
    for _ in range(trials):
        base = [draw(rng, 100.0) for _ in range(n)]
        head = [draw(rng, 100.0 * (1 + shift)) for _ in range(n)]
        verdict = compare(base, head).verdict
        slower += verdict == "slower"
        faster += verdict == "faster"
    return slower / trials, faster / trials


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    print(f"{args.trials} trials, {args.n} values per side, alpha 0.01, minimum effect 5 %")
    print("| noise | head shift | 'slower' | 'faster' |")
    print("|---|---|---|---|")
    for noise in ("gaussian", "heavy-tailed"):
        for shift in (0.0, 0.05, 0.10):
            slower, faster = rates(noise, shift, args.trials, args.n, seed=7)
            print(f"| {noise} | +{shift:.0%} | {slower:.1%} | {faster:.1%} |")


if __name__ == "__main__":
    main()
