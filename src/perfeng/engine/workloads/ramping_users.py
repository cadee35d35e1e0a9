"""ramping-users (closed model): stages of user counts with linear ramps between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfeng.engine.workloads.base import (
    Plan,
    ramp_stages,
    require,
    require_duration,
    require_in_range,
)

TYPE = "ramping-users"


@dataclass(frozen=True)
class RampingUsers:
    stages: tuple[tuple[float, float], ...]  # (duration s, user count at its end)
    start_users: int = 0
    name: str = TYPE
    type: str = TYPE

    def __post_init__(self) -> None:
        require(len(self.stages) > 0, f"{self.name}: at least one stage is needed")
        require_in_range(self.name, "start users", self.start_users, 100_000)
        require(
            self.start_users == int(self.start_users),
            f"{self.name}: users must be whole, got {self.start_users:g}",
        )
        for duration, target in self.stages:
            require_duration(self.name, duration, "every stage needs a duration")
            require_in_range(self.name, "stage users", target, 100_000)
            require(target == int(target), f"{self.name}: users must be whole, got {target:g}")
        require_duration(self.name, sum(d for d, _ in self.stages))
        require(
            any(t > 0 for _, t in self.stages) or self.start_users > 0,
            f"{self.name}: every stage has 0 users, nothing would be sent",
        )

    def plan(self) -> Plan:
        return Plan("closed", "users", ramp_stages(self.start_users, self.stages), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "start_users": self.start_users,
            "stages": [list(s) for s in self.stages],
        }
