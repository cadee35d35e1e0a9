"""What to send: requests, checks, data, think time and workloads, however they were given.

Quick mode (command line), TOML files and Python flows all produce a ``Scenario``; the engine
runs nothing else.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from perfeng.engine.workloads.base import WorkloadConfig

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variables_in(text: str) -> set[str]:
    return set(_VARIABLE.findall(text))


def render(text: str, row: dict[str, str]) -> str:
    """Replace ``${name}`` with the row's value (names were checked when loading)."""
    return _VARIABLE.sub(lambda m: row[m.group(1)], text)


@dataclass(frozen=True)
class Check:
    """One response check. ``failure`` returns None when it holds, else a short reason."""

    kind: Literal["status", "body_contains", "json_path"]
    statuses: frozenset[int] = frozenset()
    text: str = ""
    path: str = ""  # json_path: dotted keys and [index], e.g. "data.items[0].id"
    expected: Any = None

    @property
    def needs_body(self) -> bool:
        return self.kind != "status"

    def failure(self, status: int, body: bytes) -> str | None:
        if self.kind == "status":
            return (
                None
                if status in self.statuses
                else f"status {status} not in {sorted(self.statuses)}"
            )
        if self.kind == "body_contains":
            return None if self.text.encode() in body else f"body does not contain {self.text!r}"
        return self._json_failure(body)

    def _json_failure(self, body: bytes) -> str | None:
        try:
            value: Any = json.loads(body)
        except ValueError:
            return "body is not JSON"
        for key in re.findall(r"[^.\[\]]+|\[\d+\]", self.path):
            try:
                value = value[int(key[1:-1])] if key.startswith("[") else value[key]
            except (KeyError, IndexError, TypeError):
                return f"JSON path {self.path!r} not found"
        return (
            None
            if value == self.expected
            else f"{self.path} = {value!r}, expected {self.expected!r}"
        )


@dataclass(frozen=True)
class RequestSpec:
    """One named request. ``url`` is absolute or a path joined to the scenario's base URL;
    url, header values and body may hold ``${variable}`` placeholders."""

    name: str
    method: str = "GET"
    url: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    weight: float = 1.0
    checks: tuple[Check, ...] = ()

    @property
    def templated(self) -> bool:
        parts = [self.url, self.body or "", *(v for _, v in self.headers)]
        return any("${" in p for p in parts)

    @property
    def needs_body(self) -> bool:
        return any(c.needs_body for c in self.checks)


@dataclass(frozen=True)
class ThinkTime:
    """Pause between a user's iterations (closed model).

    ``constant``: ``low`` seconds; ``uniform``: between ``low`` and ``high``; ``pacing``: each
    iteration starts ``low`` seconds after the previous one started (a fixed period).
    """

    kind: Literal["none", "constant", "uniform", "pacing"] = "none"
    low: float = 0.0
    high: float = 0.0

    def pause_s(self, iteration_s: float, rng: random.Random) -> float:
        if self.kind == "constant":
            return self.low
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high)
        if self.kind == "pacing":
            return max(self.low - iteration_s, 0.0)
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "low_s": self.low, "high_s": self.high}


@dataclass(frozen=True)
class DataSource:
    """Rows of variables from a CSV file, handed out in order (cycled) or at random."""

    path: str
    rows: tuple[dict[str, str], ...]
    order: Literal["cycle", "random"] = "cycle"

    @property
    def columns(self) -> set[str]:
        return set(self.rows[0]) if self.rows else set()


@dataclass(frozen=True)
class ClientOptions:
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 10.0
    insecure: bool = False
    follow_redirects: bool = False
    max_redirects: int = 5
    keep_alive: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# A Python flow: ``async def flow(session) -> None``; see perfeng.engine.session.Session.
Flow = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    base_url: str
    requests: tuple[RequestSpec, ...]
    workloads: tuple[WorkloadConfig, ...]
    thresholds: tuple[str, ...] = ()
    think_time: ThinkTime = field(default_factory=ThinkTime)
    data: DataSource | None = None
    client: ClientOptions = field(default_factory=ClientOptions)
    flow: Flow | None = None
    source: str = "command line"
    faults: tuple[Any, ...] = ()  # perfeng.proxy.timeline.TimedFault ([[faults]])

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "base_url": self.base_url,
            "requests": [
                {"name": r.name, "method": r.method, "url": r.url, "weight": r.weight}
                for r in self.requests
            ],
            "flow": getattr(self.flow, "__name__", None),
            "think_time": self.think_time.to_dict(),
            "data": None
            if self.data is None
            else {"path": self.data.path, "rows": len(self.data.rows), "order": self.data.order},
            "client": self.client.to_dict(),
        }
