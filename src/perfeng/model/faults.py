"""The fault windows of a load run and what each did (``document.faults``,
``summary.faults``; docs/result-format.md#faults).

Declared once as msgspec Structs: the workflow writes ``FaultWindow``s, the analysis
(``perfeng.analysis.faults``) turns them into ``FaultOutcome``s, readers decode with
``read_windows`` and get the failing field named.
"""

from __future__ import annotations

from typing import Any

import msgspec

from perfeng.model.watch import ShapeError


class FaultWindow(msgspec.Struct, frozen=True, kw_only=True):
    """A fault in force from ``start_s`` to ``end_s`` (seconds from the run's start)."""

    kind: str  # latency, bandwidth, timeout, reset, slow-close, slicer, down
    fault: str  # as written, e.g. "reset@10%"
    start_s: float
    end_s: float


class FaultOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of ``summary.faults``: the window, the load during it, and the recovery."""

    kind: str
    fault: str
    start_s: float
    end_s: float
    requests: int  # completed (successes and errors) during the window
    errors: int
    dropped: int
    error_rate: float  # (errors + dropped) / (requests + dropped) during the window
    p99_ms: float | None
    recovered: bool
    recovery_s: float | None  # from end_s until back within the baseline band; None: never
    lost: int  # errors + dropped from start_s until recovery (or the run's end)
    baseline_p99_ms: float | None
    baseline_error_rate: float | None
    after_s: float = 0.0  # seconds of load after end_s the recovery could be looked for in
    note: str = ""


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


def read_windows(value: Any) -> list[FaultWindow]:
    try:
        return msgspec.convert(value, list[FaultWindow])
    except msgspec.ValidationError as exc:
        raise ShapeError(f"faults: {exc}") from None


def read_outcomes(value: Any) -> list[FaultOutcome]:
    try:
        return msgspec.convert(value, list[FaultOutcome])
    except msgspec.ValidationError as exc:
        raise ShapeError(f"summary.faults: {exc}") from None
