"""users (closed model): N virtual users looping, with optional think time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfeng.engine.workloads.base import Plan, Stage, require, require_duration

TYPE = "users"


@dataclass(frozen=True)
class Users:
    users: int
    duration_s: float
    name: str = TYPE
    type: str = TYPE

    def __post_init__(self) -> None:
        require(self.users >= 1, f"{self.name}: users must be at least 1, got {self.users}")
        require(self.users <= 100_000, f"{self.name}: {self.users} users is above 100,000")
        require_duration(self.name, self.duration_s)

    def plan(self) -> Plan:
        return Plan("closed", "users", (Stage(self.duration_s, self.users, self.users),), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "users": self.users,
            "duration_s": self.duration_s,
        }
