"""In-process aggregation of samples: bounded memory however long the run.

The hot path (``record``) only bumps counters and a ``value -> count`` dict per request name;
once a second (and whenever a dict grows past ``_FLUSH_AT`` distinct values) the dicts are
poured into HdrHistograms. Recording straight into HdrHistogram_py costs ~2.5 us a value in
pure Python; a dict bump costs ~0.1 us, and a second of traffic has few distinct microsecond
values, so this keeps the engine's cost per request low without losing any precision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perfeng.model import histogram as hdr
from perfeng.model.sample import ErrorClass, Sample

_FLUSH_AT = 512  # distinct values gathered before they go into the histograms: small batches
# keep each flush short (~0.5 ms), so no single one holds up the event loop for long
_NS_PER_S = 1_000_000_000
_TIMEOUT = ErrorClass.TIMEOUT.value

Gauges = Callable[[int], tuple[float | None, int]]  # now_ns -> (target rate, in-flight)


@dataclass
class NameStats:
    """Running totals for one request name."""

    requests: int = 0
    errors: int = 0
    errors_by_class: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0
    latency: Any = field(default_factory=hdr.new_histogram)
    service: Any = field(default_factory=hdr.new_histogram)
    pending_latency: dict[int, int] = field(default_factory=dict)
    pending_service: dict[int, int] = field(default_factory=dict)

    def flush(self) -> None:
        if self.pending_latency:
            hdr.record_counts(self.latency, self.pending_latency)
            self.pending_latency = {}
        if self.pending_service:
            hdr.record_counts(self.service, self.pending_service)
            self.pending_service = {}


@dataclass(frozen=True)
class Interval:
    """One wall-clock-aligned slice of the run (normally one second)."""

    time: int  # epoch second the slice belongs to
    elapsed_s: float  # seconds from the run start to the slice start
    duration_s: float
    requests: int
    errors: int
    dropped: int
    target_rate: float | None
    in_flight: int
    latency: Any  # HdrHistogram of the latency of the requests completed in the slice


@dataclass(frozen=True)
class Measurements:
    """What a run measured, ready for the result document."""

    start_ns: int
    end_ns: int
    wall_start_s: float
    wall_end_s: float
    names: dict[str, NameStats]
    intervals: tuple[Interval, ...]
    dropped: int
    generator: dict[str, Any]


class Recorder:
    """Aggregates samples into run totals per name and wall-clock-aligned intervals."""

    def __init__(self, start_ns: int, wall_start_s: float, gauges: Gauges | None = None) -> None:
        self.start_ns = start_ns
        self.wall_start_s = wall_start_s
        self.gauges: Gauges = gauges or (lambda _now: (None, 0))
        self.names: dict[str, NameStats] = {}
        self.intervals: list[Interval] = []
        self.dropped = 0
        # The first slice ends on the next whole wall-clock second so that runs on several
        # machines share slice boundaries and merge exactly.
        first_len = _NS_PER_S - round((wall_start_s % 1) * _NS_PER_S)
        self._slice_start = start_ns
        self._slice_end = start_ns + (first_len or _NS_PER_S)
        self._slice_counts: dict[int, int] = {}
        self._slice_histogram: Any = hdr.new_histogram()
        self._slice_requests = 0
        self._slice_errors = 0
        self._slice_dropped = 0

    def record(self, sample: Sample) -> None:
        """Hot path: one call per request (written for speed: locals, one tuple unpack)."""
        name, intended, sent, done, status, error, bytes_sent, bytes_received = sample
        if done >= self._slice_end:
            self.roll(done)
        stats = self.names.get(name)
        if stats is None:
            stats = self.names[name] = NameStats()
        stats.requests += 1
        stats.bytes_sent += bytes_sent
        stats.bytes_received += bytes_received
        self._slice_requests += 1
        if error is not None:
            stats.errors += 1
            self._slice_errors += 1
            by_class = stats.errors_by_class
            by_class[error] = by_class.get(error, 0) + 1
            if status == 0 and error != _TIMEOUT:
                return  # no response and no wait worth recording: refused, reset, ...
        latency_us = (done - intended) // 1000
        pending = stats.pending_latency
        pending[latency_us] = pending.get(latency_us, 0) + 1
        counts = self._slice_counts
        counts[latency_us] = counts.get(latency_us, 0) + 1
        service_us = (done - sent) // 1000
        pending = stats.pending_service
        pending[service_us] = pending.get(service_us, 0) + 1
        if len(counts) > _FLUSH_AT:
            self._flush()

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.names.values())

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.names.values())

    @property
    def next_boundary_ns(self) -> int:
        """When the current slice ends."""
        return self._slice_end

    def record_dropped(self, count: int = 1) -> None:
        self.dropped += count
        self._slice_dropped += count

    def roll(self, now_ns: int) -> None:
        """Close every slice that ended at or before ``now_ns``."""
        while now_ns >= self._slice_end:
            self._close_slice(self._slice_end)
            self._slice_start, self._slice_end = self._slice_end, self._slice_end + _NS_PER_S

    def _close_slice(self, end_ns: int) -> None:
        self._flush()
        histogram = self._slice_histogram
        target_rate, in_flight = self.gauges(end_ns)
        elapsed_ns = self._slice_start - self.start_ns
        wall = self.wall_start_s + elapsed_ns / _NS_PER_S
        self.intervals.append(
            Interval(
                time=int(wall + 1e-6),
                elapsed_s=round(elapsed_ns / _NS_PER_S, 6),
                duration_s=round((end_ns - self._slice_start) / _NS_PER_S, 6),
                requests=self._slice_requests,
                errors=self._slice_errors,
                dropped=self._slice_dropped,
                target_rate=target_rate,
                in_flight=in_flight,
                latency=histogram,
            )
        )
        self._slice_histogram = hdr.new_histogram()
        self._slice_requests = self._slice_errors = self._slice_dropped = 0

    def _flush(self) -> None:
        if self._slice_counts:
            hdr.record_counts(self._slice_histogram, self._slice_counts)
            self._slice_counts = {}
        for stats in self.names.values():
            stats.flush()

    def flushed_names(self) -> dict[str, NameStats]:
        """Totals so far with every pending value in its histogram (for live gates)."""
        self._flush()
        return self.names

    def snapshot(self, now_ns: int, wall_now_s: float, generator: dict[str, Any]) -> Measurements:
        """What was measured up to the last closed slice, for a checkpoint; the run goes on."""
        self._flush()
        return self._measurements(now_ns, wall_now_s, generator)

    def finish(self, end_ns: int, wall_end_s: float, generator: dict[str, Any]) -> Measurements:
        self.roll(end_ns)
        if end_ns > self._slice_start:
            self._close_slice(end_ns)
        self._flush()
        return self._measurements(end_ns, wall_end_s, generator)

    def _measurements(
        self, end_ns: int, wall_end_s: float, generator: dict[str, Any]
    ) -> Measurements:
        return Measurements(
            start_ns=self.start_ns,
            end_ns=end_ns,
            wall_start_s=self.wall_start_s,
            wall_end_s=wall_end_s,
            names=self.names,
            intervals=tuple(self.intervals),
            dropped=self.dropped,
            generator=generator,
        )
