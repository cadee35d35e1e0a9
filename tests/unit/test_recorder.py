"""The model: Recorder aggregation, result documents, exact merges and the HDR helpers.

Time is virtual: samples carry monotonic nanoseconds made up here, and every recorder gets an
explicit wall-clock start, so slices and merges are checked exactly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from perfeng.model import histogram as hdr
from perfeng.model import recorder as recorder_module
from perfeng.model.merge import merge_documents, merge_totals
from perfeng.model.recorder import Measurements, Recorder
from perfeng.model.result import (
    FORMAT,
    FORMAT_VERSION,
    DocumentError,
    Totals,
    build_document,
    check_document,
    load_document,
    summarize,
    totals_of,
)
from perfeng.model.sample import ERROR_CLASSES, ErrorClass, Sample

S = 10**9
MS = 10**6


def mk(
    done_ns: int,
    *,
    latency_ns: int = 10 * MS,
    service_ns: int | None = None,
    name: str = "GET /",
    status: int = 200,
    error: str | None = None,
    sent: int = 100,
    received: int = 1000,
) -> Sample:
    service = latency_ns if service_ns is None else service_ns
    return Sample(
        name, done_ns - latency_ns, done_ns - service, done_ns, status, error, sent, received
    )


def counts_of(histogram: Any) -> tuple[int, ...]:
    """Every bucket's count: two histograms are equal when these are."""
    return tuple(histogram.counts[: histogram.counts_len])


def single_value(histogram: Any) -> int:
    assert histogram.get_total_count() == 1
    return int(histogram.get_max_value())


# ---- counting -----------------------------------------------------------------------------------


def test_counts_per_name_and_in_total() -> None:
    rec = Recorder(start_ns=0, wall_start_s=1000.0)
    for i in range(10):
        rec.record(mk(i * 1000 + 1, name="a", sent=10, received=20))
    for i in range(5):
        rec.record(mk(i * 1000 + 2, name="b", status=500, error="http_5xx", sent=1, received=2))
    rec.record(mk(3, name="b", status=404, error="http_4xx"))
    m = rec.finish(S // 2, 1000.5, {})
    assert (rec.requests, rec.errors) == (16, 6)
    a, b = m.names["a"], m.names["b"]
    assert (a.requests, a.errors, a.bytes_sent, a.bytes_received) == (10, 0, 100, 200)
    assert (b.requests, b.errors, b.bytes_sent, b.bytes_received) == (6, 6, 105, 1010)
    assert a.errors_by_class == {}
    assert b.errors_by_class == {"http_5xx": 5, "http_4xx": 1}
    assert a.latency.get_total_count() == 10
    assert b.latency.get_total_count() == 6
    assert [i.requests for i in m.intervals] == [16]
    assert [i.errors for i in m.intervals] == [6]


def test_latency_is_measured_from_the_intended_start_and_service_time_from_sending() -> None:
    rec = Recorder(start_ns=0, wall_start_s=1000.0)
    # scheduled at 0, sent 50 ms late (no free slot), answered 10 ms after sending
    rec.record(Sample("a", intended_ns=0, sent_ns=50 * MS, done_ns=60 * MS, status=200,
                      error=None, bytes_sent=1, bytes_received=1))  # fmt: skip
    m = rec.finish(S, 1001.0, {})
    latency, service = m.names["a"].latency, m.names["a"].service
    assert latency.values_are_equivalent(single_value(latency), 60_000)
    assert service.values_are_equivalent(single_value(service), 10_000)
    assert latency.values_are_equivalent(single_value(m.intervals[0].latency), 60_000)


def test_closed_model_latency_equals_service_time() -> None:
    rec = Recorder(start_ns=0, wall_start_s=0.0)
    rec.record(mk(500 * MS, latency_ns=123_456_789))
    m = rec.finish(S, 1.0, {})
    stats = m.names["GET /"]
    assert counts_of(stats.latency) == counts_of(stats.service)
    assert stats.latency.values_are_equivalent(single_value(stats.latency), 123_456)


@pytest.mark.parametrize(
    ("status", "error", "in_latency"),
    [
        (200, None, True),
        (0, ErrorClass.CONNECT.value, False),
        (0, ErrorClass.RESET.value, False),
        (0, ErrorClass.DNS.value, False),
        (0, ErrorClass.TLS.value, False),
        (0, ErrorClass.PROTOCOL.value, False),
        (0, ErrorClass.TIMEOUT.value, True),  # a timeout is a wait: it is the tail
        (500, ErrorClass.HTTP_5XX.value, True),
        (404, ErrorClass.HTTP_4XX.value, True),
        (200, ErrorClass.CHECK_FAILED.value, True),
        (200, ErrorClass.PROTOCOL.value, True),  # e.g. a body over the limit: a response came
    ],
)
def test_which_failures_are_recorded_in_latency(
    status: int, error: str | None, in_latency: bool
) -> None:
    rec = Recorder(start_ns=0, wall_start_s=1000.0)
    rec.record(mk(2 * S + 1, latency_ns=1500 * MS, status=status, error=error))
    m = rec.finish(3 * S, 1003.0, {})
    stats = m.names["GET /"]
    assert stats.requests == 1
    assert stats.errors == (error is not None)
    assert stats.errors_by_class == ({error: 1} if error else {})
    assert (rec.requests, rec.errors) == (1, int(error is not None))
    expected = 1 if in_latency else 0
    assert stats.latency.get_total_count() == expected
    assert stats.service.get_total_count() == expected
    last = m.intervals[-1]
    assert (last.requests, last.errors) == (1, int(error is not None))
    assert last.latency.get_total_count() == expected
    if in_latency:
        assert stats.latency.values_are_equivalent(single_value(stats.latency), 1_500_000)


def test_a_sub_microsecond_latency_is_kept_as_the_lowest_value() -> None:
    rec = Recorder(start_ns=0, wall_start_s=0.0)
    rec.record(mk(10, latency_ns=0))
    rec.record(mk(20, latency_ns=999))
    m = rec.finish(S, 1.0, {})
    assert m.names["GET /"].latency.get_total_count() == 2
    assert m.names["GET /"].latency.get_max_value() == hdr.LOWEST_US


# ---- wall-clock slices --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall_start", "first_s"),
    [
        (1000.0, 1.0),
        (1000.25, 0.75),
        (1000.5, 0.5),
        (1000.75, 0.25),
        (1000.001, 0.999),
        (1000.999, 0.001),
        (1_700_000_000.5, 0.5),
    ],
)
def test_slices_end_on_whole_wall_clock_seconds(wall_start: float, first_s: float) -> None:
    start_ns = 123_456_789_000  # the monotonic clock has its own origin
    rec = Recorder(start_ns=start_ns, wall_start_s=wall_start)
    assert rec.next_boundary_ns - start_ns == round(first_s * S)
    end_ns = start_ns + round((first_s + 3.5) * S)
    m = rec.finish(end_ns, wall_start + first_s + 3.5, {})
    base = int(wall_start)
    assert [i.time for i in m.intervals] == [base, base + 1, base + 2, base + 3, base + 4]
    assert [i.duration_s for i in m.intervals] == [first_s, 1.0, 1.0, 1.0, 0.5]
    assert [i.elapsed_s for i in m.intervals] == pytest.approx(
        [0.0, first_s, first_s + 1, first_s + 2, first_s + 3]
    )
    assert sum(i.duration_s for i in m.intervals) == pytest.approx(first_s + 3.5)


def test_samples_land_in_the_slice_of_their_completion() -> None:
    start = 5 * S
    rec = Recorder(start_ns=start, wall_start_s=1000.25)
    # offsets from the start; wall = 1000.25 + offset
    done = {
        0.0: 1000,
        0.7499: 1000,
        0.75: 1001,  # exactly on the boundary: the next slice
        1.2: 1001,
        1.7499: 1001,
        1.75: 1002,
        4.0: 1004,
        4.6: 1004,
    }
    for offset in done:
        rec.record(mk(start + round(offset * S), latency_ns=1000))
    m = rec.finish(start + round(4.7 * S), 1004.95, {})
    by_time = {i.time: i.requests for i in m.intervals}
    expected: dict[int, int] = {}
    for second in done.values():
        expected[second] = expected.get(second, 0) + 1
    assert by_time == {1000: 2, 1001: 3, 1002: 1, 1003: 0, 1004: 2}
    assert by_time == {t: expected.get(t, 0) for t in range(1000, 1005)}
    assert [i.latency.get_total_count() for i in m.intervals] == [2, 3, 1, 0, 2]


def test_roll_closes_empty_seconds() -> None:
    rec = Recorder(start_ns=0, wall_start_s=1000.0)
    rec.roll(S // 2)
    assert rec.intervals == []
    rec.roll(5 * S + S // 2)
    assert [i.time for i in rec.intervals] == [1000, 1001, 1002, 1003, 1004]
    for interval in rec.intervals:
        assert (interval.requests, interval.errors, interval.dropped) == (0, 0, 0)
        assert interval.latency.get_total_count() == 0
        assert interval.duration_s == 1.0
    assert rec.next_boundary_ns == 6 * S


def test_roll_is_idempotent_and_never_goes_back() -> None:
    rec = Recorder(start_ns=0, wall_start_s=1000.0)
    rec.roll(3 * S)
    rec.roll(3 * S)
    rec.roll(2 * S)
    assert [i.time for i in rec.intervals] == [1000, 1001, 1002]


def test_a_sample_after_a_silence_closes_the_empty_seconds_first() -> None:
    rec = Recorder(start_ns=0, wall_start_s=1000.0)
    rec.record(mk(S // 2))
    rec.record(mk(3 * S + 1))
    assert [(i.time, i.requests) for i in rec.intervals] == [(1000, 1), (1001, 0), (1002, 0)]


def test_dropped_arrivals_are_counted_per_slice() -> None:
    rec = Recorder(start_ns=0, wall_start_s=1000.5)
    rec.record_dropped(3)
    rec.record_dropped()
    rec.roll(S)  # into 1001
    rec.roll(2 * S)  # into 1002
    rec.record_dropped(7)
    rec.record(mk(2 * S + 1))
    m = rec.finish(3 * S, 1003.5, {})
    assert [(i.time, i.dropped) for i in m.intervals] == [
        (1000, 4),
        (1001, 0),
        (1002, 7),
        (1003, 0),
    ]
    assert m.dropped == rec.dropped == 11
    assert rec.requests == 1  # dropped arrivals are not requests


@pytest.mark.parametrize(
    ("end_offset_s", "durations"),
    [
        (2.3, [1.0, 1.0, 0.3]),
        (2.0, [1.0, 1.0]),  # ends on a boundary: no empty slice of length 0
        (0.4, [0.4]),
        (1.0, [1.0]),
        (0.0, []),
    ],
)
def test_finish_closes_the_last_partial_slice(end_offset_s: float, durations: list[float]) -> None:
    start = 42 * S
    rec = Recorder(start_ns=start, wall_start_s=1000.0)
    if end_offset_s:
        rec.record(mk(start + round(end_offset_s * S) - 1))
    m = rec.finish(start + round(end_offset_s * S), 1000.0 + end_offset_s, {"g": 1})
    assert [i.duration_s for i in m.intervals] == durations
    assert sum(i.requests for i in m.intervals) == (1 if end_offset_s else 0)
    assert (m.start_ns, m.end_ns) == (start, start + round(end_offset_s * S))
    assert (m.wall_start_s, m.wall_end_s) == (1000.0, 1000.0 + end_offset_s)
    assert m.generator == {"g": 1}


def test_gauges_are_read_at_each_slice_end() -> None:
    seen: list[int] = []

    def gauges(now_ns: int) -> tuple[float | None, int]:
        seen.append(now_ns)
        return float(now_ns // S * 10), len(seen)

    rec = Recorder(start_ns=0, wall_start_s=1000.5, gauges=gauges)
    m = rec.finish(2 * S, 1002.5, {})
    assert seen == [S // 2, S + S // 2, 2 * S]
    assert [(i.target_rate, i.in_flight) for i in m.intervals] == [(0.0, 1), (10.0, 2), (20.0, 3)]


def test_without_gauges_target_rate_is_unknown() -> None:
    m = Recorder(start_ns=0, wall_start_s=0.0).finish(S, 1.0, {})
    assert [(i.target_rate, i.in_flight) for i in m.intervals] == [(None, 0)]


FLUSH_AT = recorder_module._FLUSH_AT


@pytest.mark.parametrize("distinct", sorted({FLUSH_AT, FLUSH_AT + 1, 3 * FLUSH_AT + 7, 20_001}))
def test_many_distinct_values_are_flushed_without_losing_counts(distinct: int) -> None:
    """Past _FLUSH_AT distinct values in a slice the accumulators are poured into histograms
    mid-slice (and again at the slice end); nothing may be lost or counted twice."""
    rng = random.Random(distinct)
    values_us = list(range(1, distinct + 1)) + [rng.randint(1, distinct) for _ in range(1000)]
    rng.shuffle(values_us)
    rec = Recorder(start_ns=0, wall_start_s=1000.0)
    expected_latency, expected_service = hdr.new_histogram(), hdr.new_histogram()
    for i, value in enumerate(values_us):
        done = S // 2 + i
        rec.record(mk(done, latency_ns=value * 1000, service_ns=value * 500))
        expected_latency.record_value(value)
        expected_service.record_value(max(value // 2, 1))
    live = rec.flushed_names()["GET /"]
    assert live.latency.get_total_count() == len(values_us)
    m = rec.finish(S, 1001.0, {})
    stats = m.names["GET /"]
    assert stats.requests == len(values_us)
    assert counts_of(stats.latency) == counts_of(expected_latency)
    assert counts_of(stats.service) == counts_of(expected_service)
    assert counts_of(m.intervals[0].latency) == counts_of(expected_latency)
    assert stats.pending_latency == stats.pending_service == {}


def test_flushed_names_mid_run_then_more_samples() -> None:
    rec = Recorder(start_ns=0, wall_start_s=0.0)
    rec.record(mk(1, latency_ns=5 * MS))
    assert rec.flushed_names()["GET /"].latency.get_total_count() == 1
    rec.record(mk(2, latency_ns=5 * MS))
    m = rec.finish(S, 1.0, {})
    assert m.names["GET /"].latency.get_total_count() == 2
    assert m.intervals[0].latency.get_total_count() == 2


# ---- scenario runs used by the result and merge tests -------------------------------------------

NAMES = ("GET /", "GET /api", "POST /api")
OUTCOMES: list[tuple[int, str | None]] = [
    *[(200, None)] * 20,
    (500, "http_5xx"),
    (404, "http_4xx"),
    (0, "timeout"),
    (0, "connect"),
    (0, "reset"),
    (200, "check_failed"),
]


@dataclass(frozen=True)
class Event:
    """A request that completed (or ``dropped`` arrivals) at a wall-clock time."""

    wall: float
    name: str = "GET /"
    latency_ns: int = 10 * MS
    service_ns: int = 5 * MS
    status: int = 200
    error: str | None = None
    sent: int = 100
    received: int = 1000
    dropped: int = 0


def events(seed: int, start: float, end: float, n: int) -> list[Event]:
    """``n`` events in [start, end); times are whole ms plus 0.5 ms, never on a boundary."""
    rng = random.Random(seed)
    first, last = int(start * 1000) + 1, int(end * 1000) - 1
    out = []
    for _ in range(n):
        wall = rng.randint(first, last) / 1000 + 0.0005
        if rng.random() < 0.03:
            out.append(Event(wall, dropped=rng.randint(1, 5)))
            continue
        latency = int(rng.lognormvariate(16, 1.2))  # ~9 ms median, long tail
        status, error = rng.choice(OUTCOMES)
        out.append(
            Event(
                wall,
                rng.choice(NAMES),
                latency,
                rng.randint(1, latency),
                status,
                error,
                rng.randint(50, 500),
                rng.randint(0, 50_000),
            )
        )
    return out


def run(
    evs: Iterable[Event],
    wall_start: float,
    wall_end: float,
    start_ns: int,
    *,
    gauge: tuple[float | None, int] = (None, 0),
) -> Measurements:
    rec = Recorder(start_ns=start_ns, wall_start_s=wall_start, gauges=lambda _now: gauge)

    def to_ns(wall: float) -> int:
        return start_ns + round((wall - wall_start) * S)

    for e in sorted(evs, key=lambda e: e.wall):
        done = to_ns(e.wall)
        if e.dropped:
            rec.roll(done)
            rec.record_dropped(e.dropped)
        else:
            rec.record(
                Sample(
                    e.name,
                    done - e.latency_ns,
                    done - e.service_ns,
                    done,
                    e.status,
                    e.error,
                    e.sent,
                    e.received,
                )
            )
    return rec.finish(to_ns(wall_end), wall_end, {"pid": start_ns})


def comparable(value: Any) -> Any:
    """A summary with every encoded histogram replaced by its decoded bucket counts."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, str) and value.startswith("HISTF"):
        decoded = hdr.decode(value)
        return ("hdr", decoded.get_total_count(), counts_of(decoded))
    return value


def document_of(m: Measurements, **extra: Any) -> dict[str, Any]:
    metadata = {"host": f"gen-{m.start_ns}", "start_epoch_s": m.wall_start_s}
    metadata["end_epoch_s"] = m.wall_end_s
    return build_document(
        metadata=metadata,
        workloads=[{"type": "constant-rate", "name": f"w{m.start_ns}"}],
        measurements=m,
        thresholds=[],
        extra=extra or None,
    )


def via_json(document: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(document))
    return loaded


# Two generators that started within the same wall-clock second, a third a little later.
A_EVENTS = events(1, 1000.25, 1004.5, 1500)
B_EVENTS = events(2, 1000.6, 1004.8, 1200)
D_EVENTS = events(3, 1001.9, 1003.3, 600)


@pytest.fixture(scope="module")
def runs() -> dict[str, Measurements]:
    return {
        "a": run(A_EVENTS, 1000.25, 1004.5, 7 * S, gauge=(100.0, 3)),
        "b": run(B_EVENTS, 1000.6, 1004.8, 913 * S, gauge=(50.0, 2)),
        "d": run(D_EVENTS, 1001.9, 1003.3, 55 * S, gauge=(25.0, 1)),
        "ab": run(A_EVENTS + B_EVENTS, 1000.25, 1004.8, 3 * S, gauge=(150.0, 5)),
        "abd": run(A_EVENTS + B_EVENTS + D_EVENTS, 1000.25, 1004.8, 0, gauge=(175.0, 6)),
    }


@pytest.fixture(scope="module")
def docs(runs: dict[str, Measurements]) -> dict[str, dict[str, Any]]:
    """Each run's document as read back from JSON (copy before changing one)."""
    return {key: via_json(document_of(runs[key])) for key in "abd"}


@pytest.fixture(scope="module")
def merged_ab(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return merge_documents(
        [docs["a"], docs["b"]], {"host": "merger", "start_epoch_s": 0, "end_epoch_s": 0}
    )


# ---- summary and documents ----------------------------------------------------------------------


def test_summary_of_a_run(runs: dict[str, Measurements]) -> None:
    m = runs["a"]
    summary = summarize(totals_of(m))
    requests = [e for e in A_EVENTS if not e.dropped]
    errors = [e for e in requests if e.error]
    assert summary["requests"] == len(requests)
    assert summary["errors"] == len(errors)
    assert summary["error_rate"] == round(len(errors) / len(requests), 6)
    assert summary["dropped"] == sum(e.dropped for e in A_EVENTS)
    assert summary["throughput_rps"] == round(len(requests) / (1004.5 - 1000.25), 3)
    by_class = summary["errors_by_class"]
    assert list(by_class) == list(ERROR_CLASSES)  # every class, in report order
    for cls in ERROR_CLASSES:
        assert by_class[cls] == sum(1 for e in errors if e.error == cls)
    assert sorted(summary["by_name"]) == sorted({e.name for e in requests})
    for name, entry in summary["by_name"].items():
        mine = [e for e in requests if e.name == name]
        assert entry["requests"] == len(mine)
        assert entry["errors"] == sum(1 for e in mine if e.error)
        assert entry["bytes_sent"] == sum(e.sent for e in mine)
        assert entry["bytes_received"] == sum(e.received for e in mine)
    recorded = [e for e in requests if not (e.status == 0 and e.error != "timeout")]
    latency = hdr.decode(summary["histograms"]["all"]["latency"])
    assert latency.get_total_count() == len(recorded)
    assert summary["latency_ms"] == hdr.stats_ms(latency)
    assert summary["thresholds"] == []


def test_timeseries_entries(runs: dict[str, Measurements]) -> None:
    m = runs["a"]
    series = summarize(totals_of(m))["timeseries"]
    assert [e["time"] for e in series] == [1000, 1001, 1002, 1003, 1004]
    assert [e["duration_s"] for e in series] == [0.75, 1.0, 1.0, 1.0, 0.5]
    for entry, interval in zip(series, m.intervals, strict=True):
        assert entry["requests"] == interval.requests
        assert entry["achieved_rate"] == round(interval.requests / interval.duration_s, 3)
        assert entry["target_rate"] == 100.0
        assert entry["in_flight"] == 3
        histogram = hdr.decode(entry["histogram"])
        assert counts_of(histogram) == counts_of(interval.latency)
        assert (entry["p50_ms"], entry["p99_ms"]) == hdr.values_at_ms(histogram, (50.0, 99.0))
    assert sum(e["requests"] for e in series) == sum(1 for e in A_EVENTS if not e.dropped)


def test_empty_run_summary() -> None:
    m = Recorder(start_ns=0, wall_start_s=1000.0).finish(2 * S, 1002.0, {})
    summary = summarize(totals_of(m))
    assert (summary["requests"], summary["errors"], summary["error_rate"]) == (0, 0, 0.0)
    assert summary["throughput_rps"] == 0.0
    assert summary["latency_ms"] == dict.fromkeys(hdr.STAT_KEYS)
    assert [(e["requests"], e["p50_ms"], e["p99_ms"]) for e in summary["timeseries"]] == [
        (0, None, None),
        (0, None, None),
    ]


def test_totals_of() -> None:
    m = Recorder(start_ns=0, wall_start_s=1000.5).finish(S, 1001.5, {})
    assert totals_of(m) == Totals(1000.5, 1001.5, m.names, m.intervals, 0)


def test_build_document(runs: dict[str, Measurements]) -> None:
    m = runs["b"]
    thresholds = [{"expression": "p99<1s", "passed": True}]
    document = build_document(
        metadata={"start_epoch_s": 1000.6, "end_epoch_s": 1004.8},
        workloads=[{"type": "users"}],
        measurements=m,
        thresholds=thresholds,
        extra={"scenario": {"name": "s"}},
    )
    assert document["format"] == FORMAT
    assert document["format_version"] == FORMAT_VERSION
    assert document["workloads"] == [{"type": "users"}]
    assert document["generator"] == {"pid": 913 * S}
    assert document["scenario"] == {"name": "s"}
    assert document["summary"]["thresholds"] == thresholds
    requests = [e for e in B_EVENTS if not e.dropped]
    assert document["transfer"] == {
        "bytes_sent": sum(e.sent for e in requests),
        "bytes_received": sum(e.received for e in requests),
    }
    assert list(document)[-1] == "summary"
    check_document(document, "x")
    assert via_json(document) == document  # plain JSON all the way down


def test_load_document_round_trip(tmp_path: Path, docs: dict[str, dict[str, Any]]) -> None:
    document = docs["a"]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert load_document(path) == document
    assert load_document(str(path)) == document


def _valid_document() -> dict[str, Any]:
    return via_json(document_of(Recorder(start_ns=0, wall_start_s=0.0).finish(S, 1.0, {})))


BAD_FILES: list[tuple[str, Any, str]] = [
    # (id, file content (str written as is, else JSON-encoded), message pattern)
    ("truncated", "TRUNCATE", r"not valid JSON \(line \d+, column \d+: .*\); truncated file\?"),
    ("empty-file", "", r"empty file"),
    ("not-json", "hello", r"not valid JSON"),
    ("json-list", [1, 2], r'not a perfeng run result \(no "format": "perfeng-run"\)'),
    ("json-string", '"perfeng-run"', r"not a perfeng run result"),
    ("other-format", {"format": "k6-summary", "format_version": 1}, r"not a perfeng run result"),
    ("no-format", {"summary": {}}, r"not a perfeng run result"),
    ("no-version", {"format": FORMAT, "summary": {"histograms": {}}}, r"format_version missing"),
    (
        "string-version",
        {"format": FORMAT, "format_version": "1", "summary": {"histograms": {}}},
        r"format_version missing or not an integer",
    ),
    (
        "newer-version",
        {"format": FORMAT, "format_version": FORMAT_VERSION + 1, "summary": {"histograms": {}}},
        rf"format_version {FORMAT_VERSION + 1} is newer than this perfeng reads "
        rf"\({FORMAT_VERSION}\); upgrade perfeng",
    ),
    ("no-summary", {"format": FORMAT, "format_version": 1}, r"summary section missing"),
    (
        "summary-without-histograms",
        {"format": FORMAT, "format_version": 1, "summary": {"requests": 1}},
        r"summary section missing or incomplete",
    ),
]


@pytest.mark.parametrize(
    ("content", "pattern"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_load_document_refuses(tmp_path: Path, content: Any, pattern: str) -> None:
    path = tmp_path / "result.json"
    if content == "TRUNCATE":
        text = json.dumps(_valid_document(), indent=1)
        content = text[: len(text) // 2]
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    with pytest.raises(DocumentError, match=pattern) as info:
        load_document(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message


def test_load_document_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(DocumentError, match=r"no such file$") as info:
        load_document(path)
    assert str(info.value) == f"{path}: no such file"


def test_load_document_directory(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"cannot read") as info:
        load_document(tmp_path)
    assert "\n" not in str(info.value)


def test_load_document_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DocumentError, match=r"cannot read") as info:
        load_document(path)
    assert "\n" not in str(info.value)


def test_check_document_names_where(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"^baseline\.json: not a perfeng run result"):
        check_document(None, "baseline.json")
    check_document(_valid_document(), "ok")
    invalid = _valid_document()
    invalid["format_version"] = 0  # version 1 is the first
    with pytest.raises(DocumentError, match="format_version 0 is not a valid version"):
        check_document(invalid, "ok")


# ---- merging ------------------------------------------------------------------------------------

SUMMARY_TOTALS = (
    "requests",
    "errors",
    "error_rate",
    "dropped",
    "throughput_rps",
    "latency_ms",
    "service_time_ms",
    "by_name",
    "errors_by_class",
    "histograms",
)


def _t(runs: dict[str, Measurements], key: str) -> Totals:
    return totals_of(runs[key])


TOTALS: dict[str, Callable[[dict[str, Measurements]], Totals]] = {
    "a": lambda r: _t(r, "a"),
    "b": lambda r: _t(r, "b"),
    "ab": lambda r: _t(r, "ab"),
    "abd": lambda r: _t(r, "abd"),
    "[a]": lambda r: merge_totals([_t(r, "a")]),
    "a+b": lambda r: merge_totals([_t(r, "a"), _t(r, "b")]),
    "b+a": lambda r: merge_totals([_t(r, "b"), _t(r, "a")]),
    "a+b+d": lambda r: merge_totals([_t(r, "a"), _t(r, "b"), _t(r, "d")]),
    "(a+b)+d": lambda r: merge_totals([merge_totals([_t(r, "a"), _t(r, "b")]), _t(r, "d")]),
    "a+(b+d)": lambda r: merge_totals([_t(r, "a"), merge_totals([_t(r, "b"), _t(r, "d")])]),
}


@pytest.fixture(scope="module")
def summary(runs: dict[str, Measurements]) -> Callable[[str], dict[str, Any]]:
    """The comparable summary of a run or a merge (computed once: summaries are not cheap)."""
    cache: dict[str, dict[str, Any]] = {}

    def get(key: str) -> dict[str, Any]:
        if key not in cache:
            cache[key] = comparable(summarize(TOTALS[key](runs)))
        return cache[key]

    return get


def test_merge_gives_the_counts_and_histograms_of_one_recorder(
    summary: Callable[[str], dict[str, Any]],
) -> None:
    merged, single = summary("a+b"), summary("ab")
    for key in SUMMARY_TOTALS:
        assert merged[key] == single[key], key


def test_merge_gives_the_timeseries_of_one_recorder(
    summary: Callable[[str], dict[str, Any]],
) -> None:
    merged, single = summary("a+b"), summary("ab")
    assert [e["time"] for e in merged["timeseries"]] == [1000, 1001, 1002, 1003, 1004]
    for mine, theirs in zip(merged["timeseries"], single["timeseries"], strict=True):
        assert mine == theirs, mine["time"]


def test_merge_keeps_the_span_of_all_runs(runs: dict[str, Measurements]) -> None:
    merged = merge_totals([totals_of(runs["b"]), totals_of(runs["a"])])
    assert (merged.start_s, merged.end_s) == (1000.25, 1004.8)
    assert merged.dropped == runs["a"].dropped + runs["b"].dropped


def _fingerprint(totals: Totals) -> Any:
    names = {
        name: (
            s.requests,
            s.errors,
            dict(s.errors_by_class),
            s.bytes_sent,
            s.bytes_received,
            counts_of(s.latency),
            counts_of(s.service),
        )
        for name, s in totals.names.items()
    }
    intervals = [
        (i.time, i.elapsed_s, i.duration_s, i.requests, i.errors, i.dropped, counts_of(i.latency))
        for i in totals.intervals
    ]
    return totals.start_s, totals.end_s, totals.dropped, names, intervals


def test_merge_does_not_change_its_inputs(runs: dict[str, Measurements]) -> None:
    a, b = totals_of(runs["a"]), totals_of(runs["b"])
    before = _fingerprint(a), _fingerprint(b)
    merge_totals([a, b])
    merge_totals([merge_totals([a, b]), a])
    assert (_fingerprint(a), _fingerprint(b)) == before


def test_merge_is_commutative(summary: Callable[[str], dict[str, Any]]) -> None:
    assert summary("a+b") == summary("b+a")


def test_merge_is_associative(summary: Callable[[str], dict[str, Any]]) -> None:
    assert summary("(a+b)+d") == summary("a+b+d")
    assert summary("a+(b+d)") == summary("a+b+d")


def test_merge_of_three_gives_the_totals_of_one_recorder(
    summary: Callable[[str], dict[str, Any]],
) -> None:
    flat, single = summary("a+b+d"), summary("abd")
    for key in SUMMARY_TOTALS:
        assert flat[key] == single[key], key


def test_merge_of_one_is_identity(summary: Callable[[str], dict[str, Any]]) -> None:
    assert summary("[a]") == summary("a")


def test_merge_documents(
    docs: dict[str, dict[str, Any]],
    merged_ab: dict[str, Any],
    summary: Callable[[str], dict[str, Any]],
) -> None:
    merged = merged_ab
    sources = [docs["a"], docs["b"]]
    check_document(merged, "merged")
    assert merged["format"] == FORMAT
    assert merged["format_version"] == FORMAT_VERSION
    meta = merged["metadata"]
    assert meta["host"] == "merger"
    assert (meta["start_epoch_s"], meta["end_epoch_s"]) == (1000.25, 1004.8)
    assert meta["merged_from"] == [d["metadata"] for d in sources]
    assert merged["workloads"] == sources[0]["workloads"] + sources[1]["workloads"]
    assert merged["generator"] == {"merged": [d["generator"] for d in sources]}
    for key in ("bytes_sent", "bytes_received"):
        assert merged["transfer"][key] == sum(d["transfer"][key] for d in sources)
    single = summary("ab")
    for key in SUMMARY_TOTALS:
        assert comparable(merged["summary"][key]) == single[key], key
    assert merged["summary"]["thresholds"] == []
    assert via_json(merged) == merged


def test_merge_documents_timeseries(
    merged_ab: dict[str, Any], summary: Callable[[str], dict[str, Any]]
) -> None:
    assert comparable(merged_ab["summary"]["timeseries"]) == summary("ab")["timeseries"]


def test_merged_documents_merge_again(
    docs: dict[str, dict[str, Any]], merged_ab: dict[str, Any]
) -> None:
    a, b, d = (docs[k] for k in "abd")
    nested = merge_documents([merged_ab, d], {})
    flat = merge_documents([a, b, d], {})
    for key in SUMMARY_TOTALS:
        assert comparable(nested["summary"][key]) == comparable(flat["summary"][key]), key


def test_merge_documents_does_not_change_its_inputs(docs: dict[str, dict[str, Any]]) -> None:
    a, b = via_json(docs["a"]), via_json(docs["b"])  # private copies
    merge_documents([a, b], {"host": "x"})
    assert (a, b) == (docs["a"], docs["b"])


def test_merge_documents_refuses_a_damaged_document(docs: dict[str, dict[str, Any]]) -> None:
    damaged = via_json(docs["a"])
    del damaged["summary"]["by_name"]["GET /"]["requests"]
    with pytest.raises(DocumentError, match="incomplete or damaged"):
        merge_documents([damaged, docs["b"]], {})


# ---- histogram helpers --------------------------------------------------------------------------

PERCENTILES = (0.0, 0.1, 1.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0)


def _dataset(kind: str, seed: int) -> list[int]:
    rng = random.Random(seed)
    if kind == "uniform":
        return [rng.randint(1, 100_000) for _ in range(3000)]
    if kind == "lognormal":
        return [max(1, int(rng.lognormvariate(8, 1.5))) for _ in range(3000)]
    if kind == "outliers":
        return [rng.randint(500, 900) for _ in range(2000)] + [3_000_000_000, 60_000_000]
    if kind == "single":
        return [4242] * 17
    if kind == "two":
        return [1, 3_599_999_999]
    return [rng.choice((100, 200, 50_000)) for _ in range(999)]  # "few"


DATASETS = [("uniform", 1), ("uniform", 2), ("lognormal", 3), ("outliers", 4)]
DATASETS += [("single", 0), ("two", 0), ("few", 5)]


@pytest.fixture(scope="module", params=DATASETS, ids=[f"{k}-{s}" for k, s in DATASETS])
def histogram(request: pytest.FixtureRequest) -> Any:
    h = hdr.new_histogram()
    for value in _dataset(*request.param):
        h.record_value(value)
    return h


def test_stats_ms_agree_with_hdrhistogram(histogram: Any) -> None:
    stats = hdr.stats_ms(histogram)
    assert list(stats) == list(hdr.STAT_KEYS)
    assert stats["min"] == histogram.get_min_value() / 1000
    assert stats["max"] == histogram.get_max_value() / 1000
    assert stats["mean"] == round(histogram.get_mean_value() / 1000, 4)
    for key, percentile in hdr.PERCENTILES:
        assert stats[key] == histogram.get_value_at_percentile(percentile) / 1000, key


def test_values_at_ms_agree_with_hdrhistogram(histogram: Any) -> None:
    got = hdr.values_at_ms(histogram, PERCENTILES)
    expected = tuple(histogram.get_value_at_percentile(p) / 1000 for p in PERCENTILES)
    assert got == expected
    assert hdr.value_at_ms(histogram, 99.0) == histogram.get_value_at_percentile(99.0) / 1000


def test_values_above_100_percent_are_the_maximum(histogram: Any) -> None:
    assert (
        hdr.values_at_ms(histogram, (100.0, 150.0))
        == (histogram.get_value_at_percentile(100.0) / 1000,) * 2
    )


def test_encode_decode_round_trip(histogram: Any) -> None:
    text = hdr.encode(histogram)
    assert isinstance(text, str)
    assert text.startswith("HISTF")  # HdrHistogram's compressed V2 base64 form
    decoded = hdr.decode(text)
    assert decoded.get_total_count() == histogram.get_total_count()
    assert counts_of(decoded) == counts_of(histogram)
    assert decoded.get_min_value() == histogram.get_min_value()
    assert decoded.get_max_value() == histogram.get_max_value()
    assert hdr.stats_ms(decoded) == hdr.stats_ms(histogram)
    assert hdr.encode(decoded) == text


def test_empty_histogram() -> None:
    empty = hdr.new_histogram()
    assert hdr.stats_ms(empty) == dict.fromkeys(hdr.STAT_KEYS)
    assert hdr.values_at_ms(empty, (50.0, 99.0)) == (None, None)
    assert hdr.value_at_ms(empty, 50.0) is None
    assert hdr.decode(hdr.encode(empty)).get_total_count() == 0


@pytest.mark.parametrize("text", ["", "HISTFAAAA", "not base64 !!", "SGVsbG8gd29ybGQ="])
def test_decode_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not an HdrHistogram encoding"):
        hdr.decode(text)


def test_record_counts_clamps_into_the_range() -> None:
    h = hdr.new_histogram()
    hdr.record_counts(h, {0: 2, -5: 1, 10: 3, 10**12: 4})
    assert h.get_total_count() == 10
    assert h.get_min_value() == hdr.LOWEST_US
    assert h.values_are_equivalent(h.get_max_value(), hdr.HIGHEST_US)
    assert h.get_count_at_value(10) == 3


@pytest.mark.parametrize("seed", range(6))
def test_record_counts_agrees_with_record_value(seed: int) -> None:
    """record_counts computes HdrHistogram's bucket index itself; it must match the library."""
    rng = random.Random(seed)
    values = [rng.randint(1, 2000) for _ in range(300)]
    values += [int(rng.lognormvariate(10, 3)) for _ in range(300)]
    values += [hdr.LOWEST_US, hdr.HIGHEST_US, 2047, 2048, 4095, 4096, 2**31, 2**31 + 1]
    counts: dict[int, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + rng.randint(1, 3)
    fast, slow = hdr.new_histogram(), hdr.new_histogram()
    hdr.record_counts(fast, counts)
    for value, count in counts.items():
        slow.record_value(min(max(value, hdr.LOWEST_US), hdr.HIGHEST_US), count)
    assert counts_of(fast) == counts_of(slow)
    assert fast.get_total_count() == slow.get_total_count()
    assert (fast.get_min_value(), fast.get_max_value()) == (
        slow.get_min_value(),
        slow.get_max_value(),
    )
    assert hdr.stats_ms(fast) == hdr.stats_ms(slow)


@pytest.mark.parametrize(
    "counts",
    [{0: 3}, {-7: 1, 0: 2}, {0: 1, 5000: 1}, {10**13: 2}, {0: 1, 10**13: 1}, {1: 1}],
    ids=["zero", "negative-and-zero", "zero-and-more", "too-high", "both-ends", "one"],
)
def test_record_counts_clamps_like_record_value(counts: dict[int, int]) -> None:
    fast, slow = hdr.new_histogram(), hdr.new_histogram()
    hdr.record_counts(fast, counts)
    for value, count in counts.items():
        slow.record_value(min(max(value, hdr.LOWEST_US), hdr.HIGHEST_US), count)
    assert counts_of(fast) == counts_of(slow)
    assert (fast.get_min_value(), fast.get_max_value()) == (
        slow.get_min_value(),
        slow.get_max_value(),
    )
    stats = hdr.stats_ms(fast)
    assert stats == hdr.stats_ms(slow)
    assert stats["min"] is not None
    assert stats["max"] is not None
    assert stats["min"] <= stats["max"]


def test_merged_adds_counts() -> None:
    parts = []
    expected = hdr.new_histogram()
    for seed in range(3):
        h = hdr.new_histogram()
        for value in _dataset("lognormal", seed)[:500]:
            h.record_value(value)
            expected.record_value(value)
        parts.append(h)
    total = hdr.merged(parts)
    assert counts_of(total) == counts_of(expected)
    assert hdr.stats_ms(total) == hdr.stats_ms(expected)
    assert hdr.merged([]).get_total_count() == 0


def test_stats_of_merged_parts_equal_stats_of_all_values() -> None:
    copies = [hdr.new_histogram(), hdr.new_histogram()]
    for i, value in enumerate(_dataset("uniform", 9)):
        copies[i % 2].record_value(value)
    whole = hdr.new_histogram()
    for value in _dataset("uniform", 9):
        whole.record_value(value)
    assert hdr.stats_ms(hdr.merged(copies)) == hdr.stats_ms(whole)
