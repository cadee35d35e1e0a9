"""A run's fault timeline: which fault, from when, for how long (``--fault``, ``--fault-at``,
``--fault-for``; a scenario's ``[[faults]]``). Sans-IO: text in, ``TimedFault``s out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perfeng.errors import UsageError
from perfeng.proxy.spec import FaultSpec, parse_fault
from perfeng.units import parse_duration_s


@dataclass(frozen=True)
class TimedFault:
    """A fault in force from ``at_s`` for ``for_s`` seconds of the run (None: to the end)."""

    spec: FaultSpec
    at_s: float = 0.0
    for_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"fault": self.spec.text, "at_s": self.at_s, "for_s": self.for_s}


def timed_faults(
    specs: Sequence[str], at: str | None, lasting: str | None
) -> tuple[TimedFault, ...]:
    """``--fault`` (repeatable) with the one window ``--fault-at``/``--fault-for``."""
    if not specs:
        if at or lasting:
            raise UsageError("--fault-at and --fault-for need a --fault")
        return ()
    at_s = parse_duration_s(at) if at else 0.0
    for_s = parse_duration_s(lasting) if lasting else None
    if for_s is not None and for_s <= 0:
        raise UsageError(f"invalid --fault-for {lasting!r}: must be above 0")
    return tuple(TimedFault(parse_fault(text), at_s, for_s) for text in specs)


def timed_fault_of(entry: dict[str, Any], where: str) -> TimedFault:
    """One ``[[faults]]`` table of a scenario: ``fault``, ``at`` and ``for``."""
    unknown = sorted(set(entry) - {"fault", "at", "for"})
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: fault, at, for)")
    text = entry.get("fault")
    if not isinstance(text, str):
        raise UsageError(f"{where}: 'fault' is required, a string such as 'reset@10%'")
    at, lasting = entry.get("at"), entry.get("for")
    for key, value in (("at", at), ("for", lasting)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{where}: {key!r} must be a duration string such as '30s'")
    try:
        return timed_faults([text], at, lasting)[0]
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
