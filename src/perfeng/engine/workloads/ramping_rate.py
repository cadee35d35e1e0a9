"""ramping-rate (open model): stages of target rates with linear ramps between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfeng.engine.workloads.base import (
    Plan,
    expected_arrivals,
    ramp_stages,
    require,
    require_duration,
    require_in_range,
)

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
        require_in_range(self.name, "start rate", self.start_rate, 1e6)
        require(
            self.max_in_flight is None or self.max_in_flight >= 1,
            f"{self.name}: max-in-flight must be at least 1",
        )
        for duration, target in self.stages:
            require_duration(self.name, duration, "every stage needs a duration")
            require_in_range(self.name, "stage rate", target, 1e6)
        require_duration(self.name, sum(d for d, _ in self.stages))
        require(
            any(t > 0 for _, t in self.stages) or self.start_rate > 0,
            f"{self.name}: every stage has rate 0, nothing would be sent",
        )

    def plan(self) -> Plan:
        stages = ramp_stages(self.start_rate, self.stages)
        return Plan("open", "req/s", stages, expected_arrivals(stages))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "start_rate": self.start_rate,
            "stages": [list(s) for s in self.stages],
            "max_in_flight": self.max_in_flight,
        }
