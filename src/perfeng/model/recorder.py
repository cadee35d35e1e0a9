"""In-process aggregation of samples: bounded memory however long the run.

The hot path (``record``) only bumps counters and a ``value -> count`` dict per request name
(one dict in the closed model, where latency equals service time; two in the open model). When
a dict passes ``_FLUSH_AT`` distinct values, and when a slice closes, it is poured into that
name's slice histogram; at the end of each one-second slice, the slice histograms are added to
the run totals and to the slice's all-names histogram with HdrHistogram's C-speed ``add``.
Recording straight into HdrHistogram_py costs ~2.5 us a value in pure Python, so each value is
poured once per histogram level as few times as possible, without losing any precision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from perfeng.model import histogram as hdr
from perfeng.model.sample import ErrorClass, Sample

_FLUSH_AT = 512  # distinct values gathered before they go into the histograms: small batches
# keep each flush short (~0.5 ms), so no single one holds up the event loop for long
_NS_PER_S = 1_000_000_000
_TIMEOUT = ErrorClass.TIMEOUT.value
# Where a request's time goes, in order (k6's http_req_looking_up ... _receiving): name
# resolution, TCP connect, TLS handshake (these three only on a request that opened a
# connection), the wait from the request written to its response's first byte, and the rest
# of the response.
SETUP_PHASES = ("dns", "connect", "tls")
_LOW_32 = (1 << 32) - 1
PHASES = (*SETUP_PHASES, "ttfb", "receive")

Gauges = Callable[[int], tuple[float | None, int]]  # now_ns -> (target rate, in-flight)


@dataclass
class NameStats:
    """Running totals for one request name, and what the current slice has gathered."""

    requests: int = 0
    errors: int = 0
    errors_by_class: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0
    latency: Any = field(default_factory=hdr.new_histogram)
    service: Any = field(default_factory=hdr.new_histogram)
    # value (us) -> count, gathered in the hot path. "same": latency equals service time (the
    # closed model, one dict update per request); otherwise latency and service apart. A key
    # above 32 bits in "same" also carries the request's wait: latency_us + 1 << 32 | ttfb_us
    # (its phases at no extra dict update; receive = latency - ttfb, to the microsecond); a
    # negative one, ~latency_us, is an answer whole in its first read (ttfb = latency).
    pending_same: dict[int, int] = field(default_factory=dict)
    pending_latency: dict[int, int] = field(default_factory=dict)
    pending_service: dict[int, int] = field(default_factory=dict)
    # This slice's latencies, split the same way; added to the run totals (and to the
    # slice's all-names histogram) with HdrHistogram's C-speed add when the slice closes.
    slice_same: Any = None
    slice_latency: Any = None
    # Where each request's time went (PHASES): run totals only, one histogram per phase that
    # happened, fed from value -> count dicts like the latencies.
    phases: dict[str, Any] = field(default_factory=dict)
    # (ttfb_us << 32 | receive_us) -> count: both phases of a request in one dict update
    # (receive_us < 2**32: HdrHistogram's range ends at an hour, 3.6e9 us).
    pending_waits: dict[int, int] = field(default_factory=dict)
    pending_setup: dict[str, dict[int, int]] = field(default_factory=dict)

    def flush_phases(self) -> None:
        if self.pending_waits:
            ttfb: dict[int, int] = {}
            receive: dict[int, int] = {}
            for key, count in self.pending_waits.items():
                wait_us, receive_us = key >> 32, key & _LOW_32
                ttfb[wait_us] = ttfb.get(wait_us, 0) + count
                receive[receive_us] = receive.get(receive_us, 0) + count
            self._pour("ttfb", ttfb)
            self._pour("receive", receive)
            self.pending_waits = {}
        for phase, counts in self.pending_setup.items():
            self._pour(phase, counts)
        self.pending_setup = {}

    def _pour(self, phase: str, counts: dict[int, int]) -> None:
        histogram = self.phases.get(phase)
        if histogram is None:
            histogram = self.phases[phase] = hdr.new_histogram()
        hdr.record_counts(histogram, counts)

    def take_same(self) -> dict[int, int]:
        """The latencies gathered in ``pending_same`` (emptied); the waits packed with them
        move to ``pending_waits``."""
        same, self.pending_same = self.pending_same, {}
        if not same or (min(same) >= 0 and max(same) <= _LOW_32):
            return same
        latency: dict[int, int] = {}
        waits = self.pending_waits
        for key, count in same.items():
            if key < 0:  # ~latency_us: the answer came whole in its first read
                key = ~key
                packed = key << 32
            elif key > _LOW_32:  # latency_us + 1 << 32 | ttfb_us
                key, wait_us = (key >> 32) - 1, key & _LOW_32
                packed = wait_us << 32 | max(key - wait_us, 0)
            else:
                latency[key] = latency.get(key, 0) + count
                continue
            waits[packed] = waits.get(packed, 0) + count
            latency[key] = latency.get(key, 0) + count
        return latency

    def flush(self) -> None:
        """Pour the pending values into histograms: once per distinct value and histogram."""
        if self.pending_same:
            if self.slice_same is None:
                self.slice_same = hdr.new_histogram()
            hdr.record_counts(self.slice_same, self.take_same())
        self.flush_phases()
        if self.pending_latency:
            if self.slice_latency is None:
                self.slice_latency = hdr.new_histogram()
            hdr.record_counts(self.slice_latency, self.pending_latency)
            hdr.record_counts(self.service, self.pending_service)
            self.pending_latency, self.pending_service = {}, {}

    def with_open_slice(self) -> NameStats:
        """A copy whose totals include the slice still open (after ``flush``)."""
        if self.slice_same is None and self.slice_latency is None:
            return self
        parts = [h for h in (self.slice_same, self.slice_latency) if h is not None]
        same = [self.slice_same] if self.slice_same is not None else []
        return replace(
            self,
            latency=hdr.merged([self.latency, *parts]),
            service=hdr.merged([self.service, *same]),
            slice_same=None,
            slice_latency=None,
        )

    def close_slice(self) -> list[Any]:
        """Move this slice into the run totals; the slice's latency histograms."""
        self.flush()
        parts = [h for h in (self.slice_same, self.slice_latency) if h is not None]
        if self.slice_same is not None:
            self.service.add(self.slice_same)
        for part in parts:
            self.latency.add(part)
        self.slice_same = self.slice_latency = None
        return parts


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
    errors_by_class: dict[str, int] = field(default_factory=dict)


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
        self.last_done_ns = start_ns  # when the latest request ended
        # The first slice ends on the next whole wall-clock second so that runs on several
        # machines share slice boundaries and merge exactly.
        first_len = _NS_PER_S - round((wall_start_s % 1) * _NS_PER_S)
        self._slice_start = start_ns
        self._slice_end = start_ns + (first_len or _NS_PER_S)
        self._slice_requests = 0
        self._slice_errors = 0
        self._slice_classes: dict[str, int] = {}
        self._slice_dropped = 0

    def record(self, sample: Sample) -> None:
        """One request (see ``Sample``)."""
        self.record_fields(*sample)

    def record_fields(
        self,
        name: str,
        intended: int,
        sent: int,
        done: int,
        status: int,
        error: str | None,
        bytes_sent: int,
        bytes_received: int,
        written: int = 0,
        first: int = 0,
    ) -> None:
        """Hot path: one call per request, the ``Sample``'s fields as arguments (the engine's
        busiest caller builds no tuple; written for speed: locals only)."""
        self.last_done_ns = done
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
            slice_classes = self._slice_classes
            slice_classes[error] = slice_classes.get(error, 0) + 1
            by_class = stats.errors_by_class
            by_class[error] = by_class.get(error, 0) + 1
            if status == 0 and error != _TIMEOUT:
                return  # no response and no wait worth recording: refused, reset, ...
        latency_us = (done - intended) // 1000
        if intended == sent:
            pending = stats.pending_same
            if first and written == sent:  # a reused connection: the wait rides along
                if first == done:  # whole in its first read: all wait, nothing to receive
                    key = ~latency_us
                else:
                    key = latency_us + 1 << 32 | (first - written) // 1000
                pending[key] = pending.get(key, 0) + 1
                if len(pending) > _FLUSH_AT:
                    stats.flush()
                return
            pending[latency_us] = pending.get(latency_us, 0) + 1
        else:
            pending = stats.pending_latency
            pending[latency_us] = pending.get(latency_us, 0) + 1
            service_us = (done - sent) // 1000
            service = stats.pending_service
            service[service_us] = service.get(service_us, 0) + 1
        if first:
            key = (first - written) // 1000 << 32 | (done - first) // 1000 & 0xFFFFFFFF
            waits = stats.pending_waits
            waits[key] = waits.get(key, 0) + 1
            if len(waits) > _FLUSH_AT:
                stats.flush_phases()
        if len(pending) > _FLUSH_AT:
            stats.flush()

    def record_setup(self, name: str, setup: tuple[int, int, int]) -> None:
        """How the connection a request opened was set up: (dns, connect, tls) in ns, -1 for
        a step that did not happen. Called before that request's ``record``."""
        stats = self.names.get(name)
        if stats is None:
            stats = self.names[name] = NameStats()
        pending = stats.pending_setup
        for phase, took in zip(SETUP_PHASES, setup, strict=True):
            if took >= 0:
                counts = pending.setdefault(phase, {})
                took_us = took // 1000
                counts[took_us] = counts.get(took_us, 0) + 1

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
        parts = [part for stats in self.names.values() for part in stats.close_slice()]
        histogram = parts[0] if len(parts) == 1 else hdr.merged(parts)
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
                errors_by_class=self._slice_classes,
                dropped=self._slice_dropped,
                target_rate=target_rate,
                in_flight=in_flight,
                latency=histogram,
            )
        )
        self._slice_requests = self._slice_errors = self._slice_dropped = 0
        self._slice_classes = {}

    def _flush(self) -> None:
        for stats in self.names.values():
            stats.flush()

    def flushed_names(self) -> dict[str, NameStats]:
        """Totals so far, the current slice included (for live gates and checkpoints)."""
        self._flush()
        return {name: stats.with_open_slice() for name, stats in self.names.items()}

    def snapshot(self, now_ns: int, wall_now_s: float, generator: dict[str, Any]) -> Measurements:
        """What was measured so far, for a checkpoint; the run goes on."""
        return self._measurements(now_ns, wall_now_s, generator, self.flushed_names())

    def finish(self, end_ns: int, wall_end_s: float, generator: dict[str, Any]) -> Measurements:
        self.roll(end_ns)
        if end_ns > self._slice_start:
            self._close_slice(end_ns)
        self._flush()
        return self._measurements(end_ns, wall_end_s, generator, self.names)

    def _measurements(
        self,
        end_ns: int,
        wall_end_s: float,
        generator: dict[str, Any],
        names: dict[str, NameStats],
    ) -> Measurements:
        return Measurements(
            start_ns=self.start_ns,
            end_ns=end_ns,
            wall_start_s=self.wall_start_s,
            wall_end_s=wall_end_s,
            names=names,
            intervals=tuple(self.intervals),
            dropped=self.dropped,
            generator=generator,
        )
