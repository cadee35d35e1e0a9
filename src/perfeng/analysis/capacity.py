"""Finding the highest arrival rate that meets an SLO: the search and its bookkeeping.

Sans-IO: ``Search`` proposes the next rate from the verdicts so far; the CLI runs the steps.
Growth is geometric (x2) until a step fails, then bisection between the last passing and the
first failing rate until they are within ``resolution`` of each other. A step "clearly past
saturation" (half its requests failing, or achieving under half the offered rate) also ends
the growth. Mean concurrency in the system is Little's law, N = X * R (throughput times mean
response time).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    target_rate: float
    achieved_rps: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    error_rate: float
    passed: bool

    @property
    def concurrency(self) -> float | None:
        """Little's law: mean number in the system, N = X * R."""
        return None if self.mean_ms is None else self.achieved_rps * self.mean_ms / 1000

    @property
    def saturated(self) -> bool:
        return self.error_rate >= 0.5 or self.achieved_rps < 0.5 * self.target_rate


class Search:
    def __init__(self, start: float, maximum: float, resolution: float) -> None:
        if not 0 < start <= maximum:
            raise ValueError("the start rate must be above 0 and at most the maximum")
        if not 0 < resolution < 1:
            raise ValueError("the resolution must be between 0 and 1 (e.g. 5%)")
        self.start, self.maximum, self.resolution = start, maximum, resolution
        self.best: float | None = None  # highest passing rate
        self.worst: float | None = None  # lowest failing rate

    def next_rate(self) -> float | None:
        """The rate to try next, or None when the search is over."""
        if self.best is None and self.worst is None:
            return self.start
        if self.worst is None:
            assert self.best is not None
            return None if self.best >= self.maximum else min(self.best * 2, self.maximum)
        if self.best is None:
            return (
                None
                if self.worst <= self.start
                else max(self.start, self.worst / 2)
                if self.worst / 2 >= self.start
                else None
            )
        if (self.worst - self.best) / self.best <= self.resolution:
            return None
        return (self.best + self.worst) / 2

    def record(self, step: Step) -> None:
        if step.passed:
            self.best = max(self.best or 0.0, step.target_rate)
        else:
            self.worst = min(self.worst or float("inf"), step.target_rate)


def knee(steps: list[Step]) -> float | None:
    """The highest offered rate before throughput stops following the offered load (achieved
    under 95 % of target) or p99 latency more than doubles from the lowest step's."""
    ordered = sorted(steps, key=lambda s: s.target_rate)
    if not ordered:
        return None
    base = next((s.p99_ms for s in ordered if s.p99_ms is not None), None)
    last_good = None
    for step in ordered:
        bent = step.achieved_rps < 0.95 * step.target_rate or (
            base is not None and step.p99_ms is not None and step.p99_ms > 2 * base
        )
        if bent:
            break
        last_good = step.target_rate
    return last_good
