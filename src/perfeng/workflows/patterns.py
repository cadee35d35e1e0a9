"""What a load pattern adds to a run (docs/patterns.md): the moment an abort threshold fired,
and from it, on a breakpoint ramp, the load where the target broke (``summary.breakpoint``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfeng.analysis.breakpoint import breakpoint_of
from perfeng.model.watch import to_builtins

AbortCheck = Callable[[Any, float], str | None]


@dataclass
class AbortClock:
    """Wraps the engine's abort check to note when it fired (seconds from the start)."""

    at_s: float | None = None

    def wrap(self, check: AbortCheck | None) -> AbortCheck | None:
        if check is None:
            return None

        def timed(recorder: Any, elapsed_s: float) -> str | None:
            reason = check(recorder, elapsed_s)
            if reason is not None and self.at_s is None:
                self.at_s = elapsed_s
            return reason

        return timed


def note_breakpoint(document: dict[str, Any], aborted_at_s: float | None = None) -> None:
    """``summary.breakpoint`` on a run with a breakpoint ramp; nothing on any other run."""
    point = breakpoint_of(document, aborted_at_s)
    if point is not None:
        document["summary"]["breakpoint"] = to_builtins(point)
