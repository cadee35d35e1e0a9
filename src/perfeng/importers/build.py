"""Parsed samples or summaries -> the measurements a perfeng run document is built from.

Samples go through the engine's own ``Recorder``, so their histograms, per-name totals and
one-second intervals are exactly what perfeng would have recorded. Summaries become one
histogram per name reconstructed from the tool's percentiles (``reconstruct``); the figures
the tool printed then replace the reconstruction's in the summary (``exact_figures``).
"""

from __future__ import annotations

import itertools
from typing import Any

from perfeng.importers.parsed import Request, Samples, Second, Spectrum, Summaries
from perfeng.model import histogram as hdr
from perfeng.model.recorder import Interval, Measurements, NameStats, Recorder

_NS_PER_S = 1_000_000_000
_STEPS = 50  # distinct values a gap between two printed percentiles is spread over
# perfeng's percentile keys and the percentiles they are
PERCENTILE_KEYS = {50.0: "p50", 90.0: "p90", 95.0: "p95", 99.0: "p99", 99.9: "p99_9"}


def measurements_from_samples(samples: Samples, start_s: float | None = None) -> Measurements:
    """Every request through a Recorder, in the order they ended. ``start_s`` places a file
    whose times count from its run's start (``relative_times``) on the wall clock."""
    offset = round(start_s * _NS_PER_S) if samples.relative_times and start_s else 0
    ordered = sorted(samples.requests, key=lambda r: r.start_ns + r.duration_ns)
    first = min(r.start_ns for r in ordered) + offset
    recorder = Recorder(first, first / _NS_PER_S)
    for request in ordered:
        _record(recorder, request, offset)
    end = max(first, max(r.start_ns + r.duration_ns for r in ordered) + offset)
    measurements = recorder.finish(end, end / _NS_PER_S, {"warnings": []})
    for name, phases in samples.phases.items():
        stats = measurements.names.get(name)
        if stats is not None:
            for phase, values in phases.items():
                stats.phases[phase] = _histogram_of(values)
    return measurements


def _record(recorder: Recorder, request: Request, offset: int) -> None:
    start = request.start_ns + offset
    done = start + request.duration_ns
    if request.connect_ns > 0 or request.dns_ns > 0:
        recorder.record_setup(request.name, (request.dns_ns, request.connect_ns, -1))
    written = first = 0
    if request.ttfb_ns >= 0 and request.receive_ns >= 0:
        first = done - request.receive_ns
        written = first - request.ttfb_ns
    recorder.record_fields(
        request.name,
        start,
        start,
        done,
        request.status,
        request.error,
        request.bytes_sent,
        request.bytes_received,
        written,
        first,
    )


def _histogram_of(values_ns: tuple[int, ...]) -> Any:
    counts: dict[int, int] = {}
    for value in values_ns:
        key = value // 1000
        counts[key] = counts.get(key, 0) + 1
    histogram = hdr.new_histogram()
    hdr.record_counts(histogram, counts)
    return histogram


# ---- summaries --------------------------------------------------------------------------


def reconstruct(
    count: int,
    percentiles: tuple[tuple[float, float], ...],
    low_ms: float | None = None,
    high_ms: float | None = None,
) -> Any:
    """A histogram of ``count`` values whose percentiles are the given (percentile, ms) points.

    Between two printed percentiles p_i < p_j the round(count * p_j / 100) - round(count *
    p_i / 100) values are spread evenly over (v_i, v_j] (linear interpolation of the quantile
    function, the usual assumption when only a spectrum is known); ``low_ms`` and ``high_ms``
    (the tool's min and max) anchor percentiles 0 and 100. Each printed percentile then reads
    back as its own value, to the histogram's 3 significant digits."""
    points = _anchored(percentiles, low_ms, high_ms)
    histogram = hdr.new_histogram()
    if count <= 0 or not points:
        return histogram
    counts: dict[int, int] = {}
    placed = 1
    _add(counts, points[0][1], 1)
    for (_, low), (pct, high) in itertools.pairwise(points):
        upto = min(max(round(count * pct / 100), placed), count)
        _spread(counts, low, high, upto - placed)
        placed = upto
    if placed < count:  # the tool's percentiles stopped short of 100: the rest at the top
        _add(counts, points[-1][1], count - placed)
    hdr.record_counts(histogram, counts)
    return histogram


def _anchored(
    percentiles: tuple[tuple[float, float], ...], low_ms: float | None, high_ms: float | None
) -> list[tuple[float, float]]:
    """(percentile, us) points from 0 to the highest known, never decreasing."""
    points = [(p, ms * 1000) for p, ms in percentiles if 0 < p < 100]
    if high_ms is not None:
        points.append((100.0, high_ms * 1000))
    elif percentiles and percentiles[-1][0] >= 100:
        points.append((100.0, percentiles[-1][1] * 1000))
    if not points and low_ms is None:
        return []
    bottom = low_ms * 1000 if low_ms is not None else points[0][1]
    points.insert(0, (0.0, bottom))
    steady: list[tuple[float, float]] = []
    for pct, value in points:
        steady.append((pct, max(value, steady[-1][1]) if steady else value))
    return steady


def _add(counts: dict[int, int], value_us: float, count: int) -> None:
    if count > 0:
        key = max(round(value_us), 1)
        counts[key] = counts.get(key, 0) + count


def _spread(counts: dict[int, int], low: float, high: float, count: int) -> None:
    steps = min(count, _STEPS)
    for step in range(steps):
        share = count // steps + (1 if step < count % steps else 0)
        _add(counts, low + (high - low) * (step + 1) / steps, share)


def _name_stats(spectrum: Spectrum) -> NameStats:
    latency = reconstruct(spectrum.timed, spectrum.percentiles, spectrum.min_ms, spectrum.max_ms)
    return NameStats(
        requests=spectrum.requests,
        errors=spectrum.errors,
        errors_by_class=dict(spectrum.errors_by_class),
        bytes_received=spectrum.bytes_received,
        latency=latency,
        service=hdr.merged([latency]),
    )


def _interval(second: Second, start_s: float, error_class: str | None) -> Interval:
    return Interval(
        time=second.time,
        elapsed_s=round(max(second.time - start_s, 0.0), 6),
        duration_s=1.0,
        requests=second.requests,
        errors=second.errors,
        dropped=0,
        target_rate=None,
        in_flight=0,
        latency=reconstruct(second.requests, second.percentiles),
        errors_by_class={error_class: second.errors} if error_class and second.errors else {},
    )


def sole_class(names: dict[str, Spectrum]) -> str | None:
    """The one class every error of the run has, if so: then each second's errors have it
    too (the series gives counts only)."""
    classes = {c for s in names.values() for c, n in s.errors_by_class.items() if n}
    classified = sum(sum(s.errors_by_class.values()) for s in names.values())
    errors = sum(s.errors for s in names.values())
    return next(iter(classes)) if len(classes) == 1 and classified == errors else None


def measurements_from_summaries(summaries: Summaries, start_s: float) -> Measurements:
    """One reconstructed histogram per name; the run placed at ``start_s`` on the wall clock."""
    end_s = start_s + summaries.duration_s
    names = {name: _name_stats(spectrum) for name, spectrum in summaries.names.items()}
    error_class = sole_class(summaries.names)
    return Measurements(
        start_ns=round(start_s * _NS_PER_S),
        end_ns=round(end_s * _NS_PER_S),
        wall_start_s=start_s,
        wall_end_s=end_s,
        names=names,
        intervals=tuple(_interval(s, start_s, error_class) for s in summaries.seconds),
        dropped=0,
        generator={"warnings": []},
    )


def exact_figures(summary: dict[str, Any], summaries: Summaries) -> None:
    """Put the tool's own figures in place of the reconstruction's (in ``summary``, whose
    histograms stay as reconstructed): its mean, min, max and the percentiles it printed.
    A minimum the tool did not print is null: the reconstruction cannot know it."""
    for name, spectrum in summaries.names.items():
        entry = summary["by_name"].get(name)
        if entry is not None:
            _exact(entry, spectrum)
    if summaries.overall is not None:
        _exact(summary, summaries.overall)
    elif len(summaries.names) == 1:
        _exact(summary, next(iter(summaries.names.values())))


def _exact(entry: dict[str, Any], spectrum: Spectrum) -> None:
    figures: dict[str, float | None] = {"min": spectrum.min_ms}
    if spectrum.mean_ms is not None:
        figures["mean"] = spectrum.mean_ms
    if spectrum.max_ms is not None:
        figures["max"] = spectrum.max_ms
    for pct, ms in spectrum.percentiles:
        if pct in PERCENTILE_KEYS:
            figures[PERCENTILE_KEYS[pct]] = ms
    if spectrum.timed == 0:
        return  # no answer was timed: the empty histogram's nulls stand
    for key in ("latency_ms", "service_time_ms"):
        entry[key] = {k: _rounded(figures.get(k, v)) for k, v in entry[key].items()}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def interpolated_keys(spectrum: Spectrum) -> list[str]:
    """perfeng's percentile keys the tool did not print (read from the reconstruction)."""
    if spectrum.timed == 0:
        return []
    printed = {PERCENTILE_KEYS[p] for p, _ in spectrum.percentiles if p in PERCENTILE_KEYS}
    return [k for k in PERCENTILE_KEYS.values() if k not in printed]
