"""The only module that reads time.

Inside perfeng time is integer nanoseconds from a monotonic clock; wall-clock time is read once
per run to label results. The engine receives a ``Clock`` so tests can drive it in virtual time
(see ``perfeng.testing.FakeClock``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """Monotonic time in nanoseconds."""
        ...

    def wall_s(self) -> float:
        """Wall-clock time in seconds since the epoch (UTC)."""
        ...

    def cpu_ns(self) -> int:
        """CPU time (user + system) this process has used, in nanoseconds."""
        ...


class MonotonicClock:
    """The real clock. ``now_ns`` is a bound builtin so the hot path pays one C call."""

    def __init__(self) -> None:
        self.now_ns = time.perf_counter_ns
        self.wall_s = time.time
        self.cpu_ns = time.process_time_ns


def utc_iso(epoch_s: float) -> str:
    """Seconds since the epoch as an ISO 8601 UTC timestamp."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="milliseconds")
