"""Sans-IO arrival schedule for the open model.

Arrival ``k`` (k = 0, 1, 2, ...) is due when the integral of the target rate reaches ``k``:
with a piecewise-linear rate r(t) = a + b*t inside a stage, the count is
N(t) = a*t + b*t^2/2, so arrival ``k`` sits at t = (-a + sqrt(a^2 + 2*b*c)) / b, where ``c``
is what is left to count inside the stage (t = c/a when the rate is flat). The times are
absolute offsets from the start: a late arrival never shifts the ones after it (wrk2's rule).
"""

from __future__ import annotations

import math

from perfeng.engine.shard import Shard
from perfeng.engine.workloads.base import Plan, Stage


def _time_of(stage: Stage, count: float) -> float | None:
    """Offset inside ``stage`` at which ``count`` arrivals have accumulated, if any."""
    a = stage.start
    b = (stage.end - stage.start) / stage.duration_s if stage.duration_s > 0 else 0.0
    if count <= 0:
        return 0.0 if a > 0 or b > 0 else None
    if abs(b) < 1e-12:
        return count / a if a > 0 else None
    disc = a * a + 2 * b * count
    if disc < 0:
        return None
    return (-a + math.sqrt(disc)) / b


class ArrivalSchedule:
    """Yields the offset (seconds from the workload start) of each arrival, in order; with a
    ``shard``, only the arrivals that shard sends (engine/shard.py)."""

    def __init__(self, plan: Plan, shard: Shard | None = None) -> None:
        self.stages = plan.stages
        self.shard = shard or Shard()
        self.issued = 0
        self._index = 0
        self._stage_start_s = 0.0
        self._stage_start_count = 0.0

    def next_offset_s(self) -> float | None:
        """The next arrival's offset, or None once the plan is over."""
        if self.shard.whole:
            return self._next()
        while True:
            number = self.issued
            offset = self._next()
            if offset is None or self.shard.takes(number):
                return offset

    def _next(self) -> float | None:
        while self._index < len(self.stages):
            stage = self.stages[self._index]
            offset = _time_of(stage, self.issued - self._stage_start_count)
            if offset is not None and offset < stage.duration_s:
                self.issued += 1
                return self._stage_start_s + offset
            self._stage_start_count += stage.duration_s * (stage.start + stage.end) / 2
            self._stage_start_s += stage.duration_s
            self._index += 1
        return None


def count_arrivals(plan: Plan, shard: Shard | None = None) -> int:
    """How many arrivals the schedule gives (for --dry-run and pre-allocation)."""
    schedule, count = ArrivalSchedule(plan, shard), 0
    while schedule.next_offset_s() is not None:
        count += 1
    return count
