"""What every workload shares: its plan, the stage type and the config protocol.

A workload module holds a frozen config that validates itself in ``__post_init__`` and plans
itself with ``plan()``; the runner executes it. Open workloads give a target arrival rate over
time, closed ones a target number of users over time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from perfeng.errors import UsageError

Model = Literal["open", "closed"]


@dataclass(frozen=True)
class Stage:
    """A linear ramp from ``start`` to ``end`` (a rate in req/s, or a user count)."""

    duration_s: float
    start: float
    end: float

    def value_at(self, t_s: float) -> float:
        if self.duration_s <= 0:
            return self.end
        return self.start + (self.end - self.start) * min(max(t_s / self.duration_s, 0.0), 1.0)

    def to_dict(self) -> dict[str, float]:
        return {"duration_s": self.duration_s, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Plan:
    model: Model
    unit: Literal["req/s", "users"]
    stages: tuple[Stage, ...]
    expected_requests: int | None  # known in the open model only

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.stages)

    def value_at(self, t_s: float) -> float:
        """Target rate or users ``t_s`` seconds into the workload (0 after the end)."""
        for stage in self.stages:
            if t_s < stage.duration_s:
                return stage.value_at(t_s)
            t_s -= stage.duration_s
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "unit": self.unit,
            "duration_s": self.duration_s,
            "stages": [s.to_dict() for s in self.stages],
            "expected_requests": self.expected_requests,
        }


class WorkloadConfig(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def name(self) -> str: ...

    def plan(self) -> Plan: ...

    def to_dict(self) -> dict[str, Any]: ...


MAX_DURATION_S = 30 * 24 * 3600.0  # a month: anything longer is a typo


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)


def require_duration(name: str, duration_s: float, what: str = "duration must be") -> None:
    require(
        math.isfinite(duration_s) and 0 < duration_s <= MAX_DURATION_S,
        f"{name}: {what} above 0 and at most 30 days, got {duration_s:g}s",
    )


def require_in_range(name: str, what: str, value: float, high: float) -> None:
    require(
        not (what.startswith("start") and value < 0),
        f"{name}: {what} must not be negative, got {value:g}",
    )
    require(
        math.isfinite(value) and 0 <= value <= high,
        f"{name}: {what} {value:g} is out of range (0 to {high:,.0f})",
    )


def expected_arrivals(stages: tuple[Stage, ...]) -> int:
    """Arrival k is due when the rate's integral reaches k (k = 0, 1, ...), so a plan whose
    integral is A sends ceil(A) arrivals (see engine/schedule.py)."""
    total = area(stages)
    return max(math.ceil(total - 1e-9), 0)


def parse_stages(text: str, what: str) -> tuple[tuple[float, float], ...]:
    """``'10s:100,30s:1000,10s:0'`` -> ((10.0, 100.0), (30.0, 1000.0), (10.0, 0.0))."""
    from perfeng.units import parse_duration_s, parse_rate

    stages = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        duration, sep, target = part.partition(":")
        if not sep:
            raise UsageError(f"invalid stage {part!r} in {what}: use DURATION:TARGET, e.g. 30s:100")
        stages.append((parse_duration_s(duration), parse_rate(target)))
    if not stages:
        raise UsageError(f"invalid {what} {text!r}: no stages")
    return tuple(stages)


def ramp_stages(start: float, targets: tuple[tuple[float, float], ...]) -> tuple[Stage, ...]:
    stages, current = [], start
    for duration, target in targets:
        stages.append(Stage(duration, current, target))
        current = target
    return tuple(stages)


def area(stages: tuple[Stage, ...]) -> float:
    """The integral of a piecewise-linear target over time (expected arrivals for rates)."""
    return sum(s.duration_s * (s.start + s.end) / 2 for s in stages)
