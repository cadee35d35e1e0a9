"""The load engine's recorder for a monitor: every probe also goes to the monitor's sink, no
per-second history is kept, and the totals start afresh at each saved period."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perfeng.model import histogram as hdr
from perfeng.model.recorder import Gauges, Measurements, NameStats, Recorder
from perfeng.model.sample import Sample


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

    def record_fields(self, *fields: Any, **named: Any) -> None:
        """Every probe also goes to the sink, as a ``Sample``."""
        sample = Sample(*fields, **named)
        super().record_fields(*sample)
        self.sink(sample)

    def _close_slice(self, end_ns: int) -> None:
        """Each second's values go straight into the period's totals. A load test keeps a
        histogram a second for its time series (about 74 KiB each); a monitor running for
        months keeps none: its time series is the SLO windows and Prometheus's."""
        for stats in self.names.values():
            _pour_into_totals(stats)
        self._slice_requests = self._slice_errors = self._slice_dropped = 0
        self._slice_classes = {}

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


def _pour_into_totals(stats: NameStats) -> None:
    if stats.slice_same is not None or stats.slice_latency is not None:
        stats.close_slice()  # a busy second already started slice histograms
        return
    if stats.pending_same:
        same = stats.take_same()
        hdr.record_counts(stats.latency, same)
        hdr.record_counts(stats.service, same)
    stats.flush_phases()
    if stats.pending_latency:
        hdr.record_counts(stats.latency, stats.pending_latency)
        hdr.record_counts(stats.service, stats.pending_service)
        stats.pending_latency, stats.pending_service = {}, {}


def recorder_factory(sink: Callable[[Sample], None]) -> Callable[..., ProbeRecorder]:
    def make(start_ns: int, wall_start_s: float, gauges: Gauges | None) -> ProbeRecorder:
        return ProbeRecorder(start_ns, wall_start_s, gauges, sink)

    return make
