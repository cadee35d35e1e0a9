"""Findings: what limits the system, ranked by impact (produced by ``analysis.diagnose``).

Declared once as msgspec Structs; the run document carries them under ``findings`` (a list,
highest impact first) and ``read_findings`` checks a document's copy.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from perfeng.model.watch import ShapeError

Severity = Literal["critical", "warning", "info"]
Figure = float | int | str | None

# The causes perfeng knows, in the order a tie in impact is broken.
KINDS = (
    "generator",
    "stall",
    "cpu_saturation",
    "serialisation",
    "pool_limit",
    "throughput_limit",
    "errors_under_load",
    "no_recovery",
    "errors",
    "slow_recovery",
    "memory_growth",
    "fd_growth",
    "memory_trend",
    "latency_drift",
    "error_bursts",
    "connection_setup",
    "tail_latency",
    "machine_busy",
    "watch_unavailable",
    "no_bottleneck",
)
# Causes that limit the load a system can take (their absence is "no bottleneck").
LIMITS = frozenset(
    {
        "stall",
        "cpu_saturation",
        "serialisation",
        "pool_limit",
        "throughput_limit",
        "errors_under_load",
        "memory_growth",
        "fd_growth",
        "memory_trend",
    }
)


class Where(msgspec.Struct, frozen=True, kw_only=True):
    """A place in the target's code, from the profile."""

    function: str
    file: str
    line: int | None
    kind: Literal["cpu", "waiting"]
    own_share: float  # of the samples the finding looks at, with this frame as the leaf
    total_share: float  # ... with this frame anywhere on the stack
    code: str | None = None  # the source line, when the file could be read


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    severity: Severity
    impact: float  # share of requests (or latency) touched x how far past the SLO/baseline
    certainty: Literal["high", "low"] = "high"
    name: str | None = None  # the request name it concerns, when it is one name
    evidence: list[str]
    figures: dict[str, Figure]
    window_s: list[float] | None = None  # [start, end] seconds from the start where it shows
    where: list[Where] = []
    next_step: str


def read_findings(value: object, where: str) -> list[Finding]:
    try:
        return msgspec.convert(value, list[Finding])
    except msgspec.ValidationError as exc:
        text = str(exc)
        text = text.replace("$", "findings", 1) if "$" in text else f"{text} in findings"
        raise ShapeError(f"{where}: {text}") from None
