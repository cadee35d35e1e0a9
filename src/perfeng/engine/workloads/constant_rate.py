"""constant-rate (open model): arrivals at a fixed rate on an absolute schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfeng.engine.workloads.base import (
    Plan,
    Stage,
    expected_arrivals,
    require,
    require_duration,
)

TYPE = "constant-rate"


@dataclass(frozen=True)
class ConstantRate:
    rate: float  # arrivals per second
    duration_s: float
    max_in_flight: int | None = None  # None: sized from the rate by the runner
    name: str = TYPE
    type: str = TYPE

    def __post_init__(self) -> None:
        require(self.rate > 0, f"{self.name}: rate must be above 0, got {self.rate:g}")
        require(self.rate <= 1e6, f"{self.name}: rate {self.rate:g}/s is above 1,000,000/s")
        require_duration(self.name, self.duration_s)
        require(
            self.max_in_flight is None or self.max_in_flight >= 1,
            f"{self.name}: max-in-flight must be at least 1",
        )

    def plan(self) -> Plan:
        stage = Stage(self.duration_s, self.rate, self.rate)
        return Plan("open", "req/s", (stage,), expected_arrivals((stage,)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "rate": self.rate,
            "duration_s": self.duration_s,
            "max_in_flight": self.max_in_flight,
        }
