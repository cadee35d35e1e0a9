"""The load engine's recorder for a monitor: every probe also goes to the monitor's sink, the
per-second history is bounded, and the totals start afresh at each saved period."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perfeng.model.recorder import Gauges, Measurements, Recorder
from perfeng.model.sample import Sample

KEEP_SECONDS = 120  # of per-second slices: the live view needs a few, nothing needs more


class ProbeRecorder(Recorder):
    def __init__(
        self,
        start_ns: int,
        wall_start_s: float,
        gauges: Gauges | None,
        sink: Callable[[Sample], None],
    ) -> None:
        super().__init__(start_ns, wall_start_s, gauges)
        self.sink = sink

    def record(self, sample: Sample) -> None:
        super().record(sample)
        self.sink(sample)

    def _close_slice(self, end_ns: int) -> None:
        super()._close_slice(end_ns)
        if len(self.intervals) > KEEP_SECONDS:
            del self.intervals[:-KEEP_SECONDS]

    def take_period(
        self, now_ns: int, wall_now_s: float, generator: dict[str, Any]
    ) -> Measurements:
        """What was measured since the previous period, then start counting afresh."""
        measured = self.snapshot(now_ns, wall_now_s, generator)
        self.names = {}
        self.intervals = []
        self.dropped = 0
        self.start_ns = now_ns
        self.wall_start_s = wall_now_s
        return measured


def recorder_factory(sink: Callable[[Sample], None]) -> Callable[..., ProbeRecorder]:
    def make(start_ns: int, wall_start_s: float, gauges: Gauges | None) -> ProbeRecorder:
        return ProbeRecorder(start_ns, wall_start_s, gauges, sink)

    return make
