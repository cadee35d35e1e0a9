"""Where a breakpoint run broke (``summary.breakpoint`` of a result; docs/patterns.md).

Declared once as a msgspec Struct; ``read_breakpoint`` checks a document's copy and names the
failing field.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from perfeng.model.watch import ShapeError


class Breakpoint(msgspec.Struct, frozen=True, kw_only=True):
    """The load a breakpoint ramp had reached when an abort threshold stopped it, or, when
    nothing stopped it, the load it reached (``broke`` false)."""

    broke: bool
    unit: Literal["req/s", "users"]
    rate: float | None  # open model: the ramp's arrival rate then (req/s)
    users: int | None  # closed model: the ramp's user count then
    at_s: float  # seconds from the start
    threshold: str | None  # the abort threshold that fired (its expression)
    verdict: str | None  # its verdict then, e.g. "p99<1s:abort: 1.2 s (limit 1 s) fail"
    peak_answered_rps: float | None  # the most requests answered in one second before
    planned_peak: float  # where the ramp would have ended
    stopped_by: str | None = None  # a signal that stopped the ramp first (SIGINT, SIGTERM)

    @property
    def load(self) -> float:
        return float(self.rate if self.rate is not None else self.users or 0)


def read_breakpoint(value: object, where: str) -> Breakpoint:
    try:
        return msgspec.convert(value, Breakpoint)
    except msgspec.ValidationError as exc:
        raise ShapeError(f"{where}: summary.breakpoint: {exc}") from None
