"""Where each request's time goes: the phases the client measures, the recorder keeps and the
result document, merge and reading back carry (DNS, connect, TLS, TTFB, receive)."""

from __future__ import annotations

import json
from typing import Any

from perfeng.engine.http.client import Connection
from perfeng.engine.http.parser import ResponseReader
from perfeng.model import histogram as hdr
from perfeng.model.merge import merge_documents
from perfeng.model.recorder import Recorder
from perfeng.model.result import build_document, load_document, totals_from_document
from perfeng.model.sample import Sample
from perfeng.testing import FakeClock, FakeTransport

US = 1000
MS = 1_000_000
START = 5 * 10**9
RESPONSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"


def sample(
    done: int, *, name: str = "GET /", written: int, first: int, sent: int | None = None
) -> Sample:
    sent = written if sent is None else sent
    return Sample(name, sent, sent, done, 200, None, 50, 100, written, first)


def document(recorder: Recorder, end_s: float = 1002.0) -> dict[str, Any]:
    measured = recorder.finish(START + 2 * 10**9, end_s, {})
    metadata = {"start_epoch_s": 1000.0, "end_epoch_s": end_s}
    built = build_document(metadata=metadata, workloads=[], measurements=measured, thresholds=[])
    loaded: dict[str, Any] = json.loads(json.dumps(built))
    return loaded


def test_ttfb_and_receive_come_from_the_first_byte() -> None:
    recorder = Recorder(START, 1000.0)
    for i in range(10):
        written = START + i * MS
        recorder.record(sample(written + 900 * US, written=written, first=written + 700 * US))
    summary = document(recorder)["summary"]
    assert list(summary["phases_ms"]) == ["ttfb", "receive"]  # no connection was opened
    assert summary["phases_ms"]["ttfb"]["p50"] == 0.7
    assert summary["phases_ms"]["receive"]["p50"] == 0.2
    assert summary["by_name"]["GET /"]["phases_ms"]["ttfb"]["max"] == 0.7


def test_setup_phases_only_where_they_happened() -> None:
    recorder = Recorder(START, 1000.0)
    recorder.record_setup("GET /", (-1, 300 * US, 2 * MS))  # an IP literal: no lookup
    recorder.record(sample(START + 5 * MS, written=START + 3 * MS, first=START + 4 * MS))
    recorder.record_setup("GET /b", (40 * US, 250 * US, -1))  # plain HTTP: no handshake
    recorder.record(sample(START + 6 * MS, name="GET /b", written=START, first=START + MS))
    summary = document(recorder)["summary"]
    assert list(summary["by_name"]["GET /"]["phases_ms"]) == ["connect", "tls", "ttfb", "receive"]
    assert list(summary["by_name"]["GET /b"]["phases_ms"]) == ["dns", "connect", "ttfb", "receive"]
    assert list(summary["phases_ms"]) == ["dns", "connect", "tls", "ttfb", "receive"]
    assert summary["phases_ms"]["tls"]["max"] == 2.0
    assert summary["phases_ms"]["connect"]["min"] == 0.25


def test_a_request_without_a_response_has_no_phases() -> None:
    recorder = Recorder(START, 1000.0)
    recorder.record(Sample("GET /", START, START, START + MS, 0, "connect", 50, 0))
    assert document(recorder)["summary"]["phases_ms"] == {}


def test_phases_survive_reading_back_and_merging(tmp_path: Any) -> None:
    parts = []
    for offset in (0, 1):
        recorder = Recorder(START, 1000.0)
        recorder.record_setup("GET /", (-1, (offset + 1) * MS, -1))
        written = START + offset * MS
        recorder.record(sample(written + 3 * MS, written=written, first=written + 2 * MS))
        path = tmp_path / f"{offset}.json"
        path.write_text(json.dumps(document(recorder)))
        parts.append(load_document(path))
    totals = totals_from_document(parts[0])
    assert hdr.stats_ms(totals.names["GET /"].phases["connect"])["max"] == 1.0
    merged = merge_documents(parts, {})["summary"]
    assert merged["phases_ms"]["connect"]["min"] == 1.0
    assert merged["phases_ms"]["connect"]["max"] == 2.0
    assert hdr.decode(merged["histograms"]["all"]["phases"]["ttfb"]).get_total_count() == 2


def test_a_document_from_before_phases_still_reads(tmp_path: Any) -> None:
    recorder = Recorder(START, 1000.0)
    recorder.record(sample(START + 2 * MS, written=START, first=START + MS))
    old = document(recorder)
    for entry in (
        old["summary"]["histograms"]["all"],
        *old["summary"]["histograms"]["by_name"].values(),
    ):
        del entry["phases"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert totals_from_document(load_document(path)).names["GET /"].phases == {}


def test_the_connection_stamps_the_first_byte_of_each_response() -> None:
    clock = FakeClock()
    conn = Connection(ResponseReader(want_headers=False, want_body=False), clock.now_ns)
    conn.connection_made(FakeTransport(conn))
    for request in range(2):
        conn.reader.begin(False, False, False)
        conn.start_bytes = conn.bytes_in
        clock.advance(0.002)
        first = clock.now_ns()
        conn.data_received(RESPONSE_HEAD)  # the head, then the body a moment later
        clock.advance(0.001)
        conn.data_received(b"body")
        assert conn.first_ns == first, request  # not moved by the body's bytes


def test_the_recorder_keeps_phase_memory_bounded() -> None:
    recorder = Recorder(START, 1000.0)
    for i in range(5000):  # many distinct waits within one second
        written = START + i * 100 * US
        recorder.record(sample(written + i * US + 5, written=written, first=written + i * US))
    stats = recorder.names["GET /"]
    assert len(stats.pending_waits) <= 513
    assert hdr.stats_ms(stats.phases["ttfb"])["max"] is not None  # flushed on the way


def test_an_answer_whole_in_its_first_read_is_all_wait() -> None:
    recorder = Recorder(START, 1000.0)
    for i in range(4):
        written = START + i * MS
        recorder.record(sample(written + 300 * US, written=written, first=written + 300 * US))
    recorder.record(sample(START + 5 * MS, written=START + 4 * MS, first=START + 4 * MS + 600 * US))
    phases = document(recorder)["summary"]["phases_ms"]
    assert phases["ttfb"]["min"] == 0.3 and phases["ttfb"]["max"] == 0.6
    assert phases["receive"]["p50"] <= 0.001 and phases["receive"]["max"] == 0.4  # 1 us floor
    assert phases["ttfb"]["p50"] == 0.3


def test_the_connection_leaves_a_whole_first_read_to_its_pump() -> None:
    clock = FakeClock()
    conn = Connection(ResponseReader(want_headers=False, want_body=False), clock.now_ns)
    conn.connection_made(FakeTransport(conn))
    conn.reader.begin(False, False, False)
    seen: list[int] = []
    conn.pump = lambda c: seen.append(c.first_ns) is not None  # declines: the waiter path
    conn.data_received(RESPONSE_HEAD + b"body")
    assert seen == [0]  # the pump would use its own clock reading
    assert conn.first_ns == clock.now_ns()  # declined: stamped for the waiting coroutine
