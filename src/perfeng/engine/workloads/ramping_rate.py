"""ramping-rate (open model): stages of target rates with linear ramps between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfeng.engine.workloads.base import Plan, area, ramp_stages, require

TYPE = "ramping-rate"


@dataclass(frozen=True)
class RampingRate:
    stages: tuple[tuple[float, float], ...]  # (duration s, target rate at its end)
    start_rate: float = 0.0
    max_in_flight: int | None = None
    name: str = TYPE
    type: str = TYPE

    def __post_init__(self) -> None:
        require(len(self.stages) > 0, f"{self.name}: at least one stage is needed")
        require(self.start_rate >= 0, f"{self.name}: start rate must not be negative")
        for duration, target in self.stages:
            require(duration > 0, f"{self.name}: every stage needs a duration above 0")
            require(0 <= target <= 1e6, f"{self.name}: stage rate {target:g} is out of range")
        require(
            any(t > 0 for _, t in self.stages) or self.start_rate > 0,
            f"{self.name}: every stage has rate 0, nothing would be sent",
        )

    def plan(self) -> Plan:
        stages = ramp_stages(self.start_rate, self.stages)
        return Plan("open", "req/s", stages, round(area(stages)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "start_rate": self.start_rate,
            "stages": [list(s) for s in self.stages],
            "max_in_flight": self.max_in_flight,
        }
