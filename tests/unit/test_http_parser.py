"""The sans-IO HTTP/1.1 response reader and the request encoder.

Every valid response is parsed three ways (DESIGN.md, "Sans-IO cores"): whole, one byte at a
time (NEED_DATA until the last byte, then COMPLETE), and with trailing data after it (COMPLETE
and ``trailing``), in the same ``feed`` call and in a later one.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass

import pytest

from perfeng.engine.http.parser import (
    COMPLETE,
    NEED_DATA,
    IncompleteResponse,
    ProtocolError,
    ResponseReader,
)
from perfeng.engine.http.request import USER_AGENT, Origin, encode_request, join_url, split_url
from perfeng.errors import UsageError

Headers = tuple[tuple[bytes, bytes], ...]


def _fields(block: bytes) -> Headers:
    """The ``name: value`` fields of a header (or trailer) block, start line excluded."""
    lines = block.split(b"\r\n")[1:]
    pairs = (line.split(b":", 1) for line in lines if line)
    return tuple((name, value.strip()) for name, value in pairs)


@dataclass(frozen=True)
class Case:
    """One response; ``data`` is its exact bytes, nothing before or after."""

    id: str
    data: bytes
    status: int
    body: bytes = b""
    keep_alive: bool = True
    head: bool = False  # the response to a HEAD request
    trailers: Headers = ()

    @property
    def headers(self) -> Headers:
        """Those of the final response: an interim 1xx head is not the answer's."""
        blocks = self.data.split(b"\r\n\r\n")
        head = blocks[1] if self.id.startswith("interim") else blocks[0]
        return _fields(head) + self.trailers


def _chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


BINARY = bytes(range(256)) + b"\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"

# Responses that end on their own last byte (framed by length, chunking, status or method).
FRAMED: list[Case] = [
    Case("content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, b"hello"),
    Case("content-length-0", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200),
    Case(
        "content-length-binary",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(BINARY)
        + BINARY,
        200,
        BINARY,
    ),
    Case(
        "lowercase-headers",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\nx-b:  spaced  value\r\n\r\nok",
        200,
        b"ok",
    ),
    Case(
        "not-found",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
        404,
        b"not found",
    ),
    Case(
        "no-reason-phrase-no-space",
        b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
        200,
        b"ok",
    ),
    Case(
        "server-error-no-reason",
        b"HTTP/1.1 503 \r\nContent-Length: 4\r\nRetry-After: 1\r\n\r\nbusy",
        503,
        b"busy",
    ),
    Case(
        "chunked",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(b"hello", b" world"),
        200,
        b"hello world",
    ),
    Case(
        "chunked-empty",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        200,
    ),
    Case(
        "chunked-uppercase-hex-size",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
        200,
        b"abcdefghijklmnopqrstuvwxyz",
    ),
    Case(
        "chunked-extensions",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;name=value\r\nhello\r\n1;a;b="q"\r\n!\r\n0;last\r\n\r\n',
        200,
        b"hello!",
    ),
    Case(
        "chunked-trailers",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
        b"4\r\nbody\r\n0\r\nX-Checksum: abc123\r\nX-Other: 1\r\n\r\n",
        200,
        b"body",
        trailers=((b"X-Checksum", b"abc123"), (b"X-Other", b"1")),
    ),
    Case(
        "chunked-binary-body",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(BINARY, BINARY),
        200,
        BINARY * 2,
    ),
    Case("204", b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", 204),
    Case("304", b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n', 304),
    Case(
        "304-with-content-length",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        304,
    ),
    Case(
        "head-content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
        200,
        head=True,
    ),
    Case(
        "head-chunked",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        200,
        head=True,
    ),
    Case(
        "head-404",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n",
        404,
        head=True,
    ),
    # A response to HEAD never has a body, so the absence of framing headers does not make
    # the connection close-delimited: it stays reusable (RFC 9112 6.3, rule 1).
    Case("head-no-framing", b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n", 200, head=True),
    Case(
        "connection-close",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye",
        200,
        b"bye",
        keep_alive=False,
    ),
    Case(
        "connection-close-chunked",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        + _chunked(b"bye"),
        200,
        b"bye",
        keep_alive=False,
    ),
    Case(
        "http10-content-length",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        200,
        b"hi",
        keep_alive=False,
    ),
    Case(
        "http10-keep-alive",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
        200,
        b"hi",
    ),
    Case(
        "head-connection-close",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\n",
        200,
        keep_alive=False,
        head=True,
    ),
    # Interim 1xx responses precede the final one; a client must skip them (RFC 9110 15.2).
    Case(
        "interim-103-then-200",
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        200,
        b"hi",
    ),
    Case(
        "interim-100-then-200",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        200,
        b"hi",
    ),
]
FRAMED_IDS = [c.id for c in FRAMED]

# Responses whose body ends when the connection closes (keep_alive is then False).
CLOSE_DELIMITED: list[Case] = [
    Case("http11", b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nhello world", 200, b"hello world", False),
    Case("http11-empty-body", b"HTTP/1.1 200 OK\r\n\r\n", 200, b"", False),
    Case("http10", b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nold style", 200, b"old style", False),
    Case("http11-500", b"HTTP/1.1 500 Oops\r\n\r\n" + BINARY, 500, BINARY, False),
    # A transfer coding other than chunked as the last one: the body runs to the close
    # (RFC 9112 6.3, rule 4), so EOF completes it rather than truncating it.
    Case(
        "transfer-encoding-not-chunked",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzipped",
        200,
        b"zipped",
        False,
    ),
]
CLOSE_DELIMITED += [
    Case(
        "interim-100-then-close-delimited",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nbody",
        200,
        b"body",
        False,
    ),
    # the reason phrase may be empty, and llhttp also takes a status line without its last SP
    Case("no-reason-phrase", b"HTTP/1.1 200\r\nX-A: 1\r\n\r\nbody", 200, b"body", False),
    Case("http10-404-no-reason-phrase", b"HTTP/1.0 404\r\n\r\nmissing", 404, b"missing", False),
    Case(
        "interim-no-reason-phrase-then-close-delimited",
        b"HTTP/1.1 100\r\n\r\nHTTP/1.1 201\r\nX-A: 1\r\n\r\nmade",
        201,
        b"made",
        False,
    ),
    # a large head (big cookies, CSP): the end of the head must still be found at EOF
    Case(
        "large-head",
        b"HTTP/1.1 200 OK\r\nSet-Cookie: " + b"c" * 70_000 + b"\r\n\r\nbody",
        200,
        b"body",
        False,
    ),
]
CLOSE_IDS = [c.id for c in CLOSE_DELIMITED]

MODES = list(itertools.product([False, True], repeat=2))  # (want_headers, want_body)
MODE_IDS = [f"headers={h}-body={b}" for h, b in MODES]
EDGE_MODES = [(False, False), (True, True)]  # keep nothing (the load path) and keep all
EDGE_MODE_IDS = ["keep-nothing", "keep-all"]

# Bytes that arrive after a complete response: the connection can no longer be trusted.
# TRAILING (the start of another response) is what every case is tried with; the other kinds
# are tried on a few representative cases.
TRAILING = b"HTTP/1.1 200 OK\r\n"
TRAILERS = [
    b"X",
    b"junk that is not HTTP at all\r\n\r\n",
    b"HTTP/1.1 ",
    b"HTTP/1.1 503 Unavailable\r\nConnection: close\r\nX-Extra: 1\r\n"
    b"Content-Length: 5\r\n\r\nextra",
]
TRAILER_IDS = ["one-byte", "junk", "partial-response", "whole-response"]
REPRESENTATIVE = [
    c
    for c in FRAMED
    if c.id
    in (
        "content-length",
        "chunked-trailers",
        "204",
        "head-content-length",
        "head-no-framing",
        "connection-close",
        "interim-103-then-200",
    )
]


def _reader(case: Case, *, want_headers: bool = True, want_body: bool = True) -> ResponseReader:
    reader = ResponseReader(want_headers=want_headers, want_body=want_body)
    reader.begin(head=case.head)
    return reader


def _check(reader: ResponseReader, case: Case, *, want_headers: bool, want_body: bool) -> None:
    assert reader.complete
    assert reader.headers_done
    assert reader.status == case.status
    assert reader.keep_alive is case.keep_alive
    assert reader.body == (case.body if want_body else b"")
    assert reader.body_size == (len(case.body) if want_body else 0)
    assert not reader.body_too_large
    assert tuple(reader.headers) == (case.headers if want_headers else ())


def _feed_bytewise(reader: ResponseReader, data: bytes) -> list[int]:
    return [reader.feed(data[i : i + 1]) for i in range(len(data))]


# ---- framed responses: whole, byte by byte, with trailing data --------------------------------


@pytest.mark.parametrize(("want_headers", "want_body"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize("case", FRAMED, ids=FRAMED_IDS)
def test_framed_whole(case: Case, want_headers: bool, want_body: bool) -> None:
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    assert reader.feed(case.data) == COMPLETE
    _check(reader, case, want_headers=want_headers, want_body=want_body)
    assert not reader.trailing
    reader.feed_eof()  # the peer closing after a complete response changes nothing
    _check(reader, case, want_headers=want_headers, want_body=want_body)


@pytest.mark.parametrize(("want_headers", "want_body"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize("case", FRAMED, ids=FRAMED_IDS)
def test_framed_byte_by_byte(case: Case, want_headers: bool, want_body: bool) -> None:
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    results = _feed_bytewise(reader, case.data)
    assert results == [NEED_DATA] * (len(case.data) - 1) + [COMPLETE]
    _check(reader, case, want_headers=want_headers, want_body=want_body)
    assert not reader.trailing


@pytest.mark.parametrize(("want_headers", "want_body"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize("case", FRAMED, ids=FRAMED_IDS)
def test_framed_trailing_in_same_feed(case: Case, want_headers: bool, want_body: bool) -> None:
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    assert reader.feed(case.data + TRAILING) == COMPLETE
    _check(reader, case, want_headers=want_headers, want_body=want_body)
    assert reader.trailing


@pytest.mark.parametrize(("want_headers", "want_body"), EDGE_MODES, ids=EDGE_MODE_IDS)
@pytest.mark.parametrize("case", FRAMED, ids=FRAMED_IDS)
def test_framed_trailing_in_later_feed(case: Case, want_headers: bool, want_body: bool) -> None:
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    assert reader.feed(case.data) == COMPLETE
    assert not reader.trailing
    assert reader.feed(TRAILING) == COMPLETE
    _check(reader, case, want_headers=want_headers, want_body=want_body)
    assert reader.trailing


@pytest.mark.parametrize(("want_headers", "want_body"), EDGE_MODES, ids=EDGE_MODE_IDS)
@pytest.mark.parametrize("case", FRAMED, ids=FRAMED_IDS)
def test_framed_trailing_byte_by_byte(case: Case, want_headers: bool, want_body: bool) -> None:
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    data = case.data + TRAILING
    results = _feed_bytewise(reader, data)
    n = len(case.data)
    assert results == [NEED_DATA] * (n - 1) + [COMPLETE] * (len(data) - n + 1)
    _check(reader, case, want_headers=want_headers, want_body=want_body)
    assert reader.trailing


@pytest.mark.parametrize(("want_headers", "want_body"), EDGE_MODES, ids=EDGE_MODE_IDS)
@pytest.mark.parametrize("later", [False, True], ids=["same-feed", "later-feed"])
@pytest.mark.parametrize("trailer", TRAILERS, ids=TRAILER_IDS)
@pytest.mark.parametrize("case", REPRESENTATIVE, ids=lambda c: c.id)
def test_trailing_data_of_any_kind(
    case: Case, trailer: bytes, later: bool, want_headers: bool, want_body: bool
) -> None:
    """Whatever follows a complete response, the response stands and the connection is marked
    unusable; nothing of what follows leaks into the response's status, headers or body."""
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    if later:
        assert reader.feed(case.data) == COMPLETE
        assert reader.feed(trailer) == COMPLETE
    else:
        assert reader.feed(case.data + trailer) == COMPLETE
    _check(reader, case, want_headers=want_headers, want_body=want_body)
    assert reader.trailing


@pytest.mark.parametrize("case", [c for c in FRAMED if c.head], ids=lambda c: c.id)
def test_head_ends_at_headers_whatever_they_announce(case: Case) -> None:
    reader = _reader(case)
    end = case.data.index(b"\r\n\r\n") + 4
    assert end == len(case.data)  # nothing after the blank line
    assert reader.feed(case.data[: end - 1]) == NEED_DATA
    assert reader.feed(case.data[end - 1 :]) == COMPLETE
    assert reader.body == b""


# ---- close-delimited bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(("want_headers", "want_body"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize("case", CLOSE_DELIMITED, ids=CLOSE_IDS)
def test_close_delimited_whole(case: Case, want_headers: bool, want_body: bool) -> None:
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    assert reader.feed(case.data) == NEED_DATA
    assert not reader.complete
    reader.feed_eof()
    _check(reader, case, want_headers=want_headers, want_body=want_body)


@pytest.mark.parametrize(("want_headers", "want_body"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize(
    "case", [c for c in CLOSE_DELIMITED if c.id != "large-head"], ids=lambda c: c.id
)
def test_close_delimited_byte_by_byte(case: Case, want_headers: bool, want_body: bool) -> None:
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    assert _feed_bytewise(reader, case.data) == [NEED_DATA] * len(case.data)
    reader.feed_eof()
    _check(reader, case, want_headers=want_headers, want_body=want_body)


@pytest.mark.parametrize(("want_headers", "want_body"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize("size", [100, 1000, 4096])
def test_close_delimited_large_head_in_pieces(
    size: int, want_headers: bool, want_body: bool
) -> None:
    """The large head is not fed byte by byte: past 64 KiB the reader rescans everything it
    kept on every feed, so one-byte pieces cost seconds here (quadratic)."""
    case = next(c for c in CLOSE_DELIMITED if c.id == "large-head")
    reader = _reader(case, want_headers=want_headers, want_body=want_body)
    for i in range(0, len(case.data), size):
        assert reader.feed(case.data[i : i + size]) == NEED_DATA
    reader.feed_eof()
    _check(reader, case, want_headers=want_headers, want_body=want_body)


@pytest.mark.parametrize("case", CLOSE_DELIMITED, ids=CLOSE_IDS)
def test_close_delimited_body_arrives_after_headers_in_many_pieces(case: Case) -> None:
    reader = _reader(case)
    head_end = len(case.data) - len(case.body)  # the end of the (final) head
    assert reader.feed(case.data[:head_end]) == NEED_DATA
    assert reader.headers_done
    for i in range(head_end, len(case.data), 7):
        assert reader.feed(case.data[i : i + 7]) == NEED_DATA
    reader.feed_eof()
    _check(reader, case, want_headers=True, want_body=True)


# ---- several responses on one keep-alive connection ---------------------------------------------

# (head-no-framing and the interim cases have their own tests above; kept out of the sequences
# so that each failure points at one cause)
SEQUENCE = [
    c
    for c in FRAMED
    if c.keep_alive and not c.id.startswith("interim") and c.id != "head-no-framing"
]


def test_keep_alive_sequence_whole() -> None:
    reader = ResponseReader(want_headers=True, want_body=True)
    for case in SEQUENCE + SEQUENCE[::-1]:
        reader.begin(head=case.head)
        assert reader.feed(case.data) == COMPLETE, case.id
        _check(reader, case, want_headers=True, want_body=True)
        assert not reader.trailing, case.id


def test_keep_alive_sequence_byte_by_byte() -> None:
    reader = ResponseReader(want_headers=True, want_body=True)
    for case in SEQUENCE + SEQUENCE[::-1]:
        reader.begin(head=case.head)
        results = _feed_bytewise(reader, case.data)
        assert results == [NEED_DATA] * (len(case.data) - 1) + [COMPLETE], case.id
        _check(reader, case, want_headers=True, want_body=True)


def test_keep_alive_sequence_ending_with_close_delimited() -> None:
    reader = ResponseReader(want_body=True)
    for case in SEQUENCE:
        reader.begin(head=case.head)
        assert reader.feed(case.data) == COMPLETE
    last = CLOSE_DELIMITED[0]
    reader.begin()
    assert reader.feed(last.data) == NEED_DATA
    reader.feed_eof()
    _check(reader, last, want_headers=False, want_body=True)


AFTER_HEAD = [
    c
    for c in SEQUENCE
    if c.id
    in (
        "content-length",
        "content-length-0",
        "chunked-trailers",
        "204",
        "304-with-content-length",
        "head-content-length",
        "head-chunked",
    )
]


@pytest.mark.parametrize("first", [c for c in FRAMED if c.head], ids=lambda c: c.id)
@pytest.mark.parametrize("second", AFTER_HEAD, ids=lambda c: c.id)
def test_response_after_head_parses(first: Case, second: Case) -> None:
    """After a HEAD response llhttp still expects the announced body; the reader must not."""
    reader = ResponseReader(want_headers=True, want_body=True)
    reader.begin(head=True)
    assert reader.feed(first.data) == COMPLETE
    reader.begin(head=second.head)
    assert reader.feed(second.data) == COMPLETE
    _check(reader, second, want_headers=True, want_body=True)
    assert not reader.trailing


def test_begin_resets_every_per_response_field() -> None:
    reader = ResponseReader(want_headers=True, want_body=True, max_body=2)
    reader.feed(b"HTTP/1.1 500 X\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
    reader.feed(b"!")
    assert reader.body_too_large
    assert not reader.keep_alive
    assert reader.trailing
    reader.begin()
    assert (reader.status, reader.headers, reader.body, reader.body_size) == (0, [], b"", 0)
    assert not (reader.body_too_large or reader.headers_done or reader.complete)
    assert not reader.trailing
    assert reader.keep_alive
    assert not reader.head


@pytest.mark.parametrize(
    "modes",
    [
        [(False, False), (True, True), (False, False)],
        [(True, False), (False, True), (True, True), (False, False)],
        [(False, True), (False, True), (True, False)],
    ],
)
def test_begin_switches_what_is_kept_between_responses(modes: list[tuple[bool, bool]]) -> None:
    case = next(c for c in FRAMED if c.id == "chunked-trailers")
    reader = ResponseReader()
    for want_headers, want_body in modes:
        reader.begin(want_headers=want_headers, want_body=want_body)
        assert reader.feed(case.data) == COMPLETE
        _check(reader, case, want_headers=want_headers, want_body=want_body)


def test_begin_keeps_previous_modes_when_not_given() -> None:
    case = FRAMED[0]
    reader = ResponseReader(want_headers=True, want_body=False)
    for _ in range(3):
        reader.begin()
        assert reader.feed(case.data) == COMPLETE
        _check(reader, case, want_headers=True, want_body=False)


# ---- max_body -----------------------------------------------------------------------------------

BIG = bytes(range(256)) * 4  # 1024 bytes

LARGE: list[Case] = [
    Case("content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n" + BIG, 200, BIG),
    Case(
        "chunked",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(BIG[:300], BIG[300:]),
        200,
        BIG,
    ),
]


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize("max_body", [0, 1, 100, 300, 1023])
@pytest.mark.parametrize("case", LARGE, ids=lambda c: c.id)
def test_body_over_max_body(case: Case, max_body: int, bytewise: bool) -> None:
    reader = ResponseReader(want_body=True, max_body=max_body)
    if bytewise:
        assert _feed_bytewise(reader, case.data)[-1] == COMPLETE
    else:
        assert reader.feed(case.data) == COMPLETE
    assert reader.complete
    assert reader.body_too_large
    assert reader.body_size == len(case.body)
    assert len(reader.body) <= max_body
    assert case.body.startswith(reader.body)  # what is kept is a prefix, never a mix


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "byte-by-byte"])
def test_close_delimited_body_over_max_body(bytewise: bool) -> None:
    data = b"HTTP/1.1 200 OK\r\n\r\n" + BIG
    reader = ResponseReader(want_body=True, max_body=10)
    if bytewise:
        _feed_bytewise(reader, data)
    else:
        reader.feed(data)
    reader.feed_eof()
    assert reader.complete
    assert reader.body_too_large
    assert reader.body_size == len(BIG)
    assert len(reader.body) <= 10


@pytest.mark.parametrize("case", LARGE, ids=lambda c: c.id)
def test_body_of_exactly_max_body_is_kept(case: Case) -> None:
    reader = ResponseReader(want_body=True, max_body=len(case.body))
    assert reader.feed(case.data) == COMPLETE
    assert not reader.body_too_large
    assert reader.body == case.body


def test_max_body_is_not_checked_when_the_body_is_not_kept() -> None:
    reader = ResponseReader(want_body=False, max_body=1)
    assert reader.feed(LARGE[0].data) == COMPLETE
    assert not reader.body_too_large
    assert reader.body == b""


def test_body_too_large_is_per_response() -> None:
    reader = ResponseReader(want_body=True, max_body=5)
    assert reader.feed(LARGE[0].data) == COMPLETE
    assert reader.body_too_large
    reader.begin()
    assert reader.feed(FRAMED[0].data) == COMPLETE
    assert not reader.body_too_large
    assert reader.body == b"hello"


# ---- invalid and truncated input ----------------------------------------------------------------

GARBAGE: list[tuple[str, bytes]] = [
    ("not-http", b"garbage\r\n\r\n"),
    ("request-not-response", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("bad-version", b"HTTP/9 200 OK\r\n\r\n"),
    ("bad-status", b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
    ("status-too-long", b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
    ("bad-content-length", b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"),
    ("negative-content-length", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
    (
        "conflicting-content-lengths",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
    ),
    (
        "content-length-and-chunked",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    ("bad-chunk-size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nab\r\n"),
    (
        "chunk-longer-than-its-size",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
    ),
    ("space-before-colon", b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"),
    ("nul-in-header-name", b"HTTP/1.1 200 OK\r\nX-\x00: 1\r\nContent-Length: 0\r\n\r\n"),
    ("binary-noise", bytes(range(255, -1, -1))),
    (
        "upgrade",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ),
]


@pytest.mark.parametrize(("name", "data"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_garbage_raises_protocol_error_whole(name: str, data: bytes) -> None:
    reader = ResponseReader(want_headers=True, want_body=True)
    with pytest.raises(ProtocolError, match=r"^invalid HTTP response: \S|protocol upgrade"):
        reader.feed(data)


@pytest.mark.parametrize(("name", "data"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_garbage_raises_protocol_error_byte_by_byte(name: str, data: bytes) -> None:
    reader = ResponseReader(want_headers=True, want_body=True)
    with pytest.raises(ProtocolError):
        for i in range(len(data)):
            assert reader.feed(data[i : i + 1]) == NEED_DATA


TRUNCATED: list[tuple[str, bytes, bool, str]] = [
    # (id, bytes received before EOF, head, where the response was cut)
    ("nothing", b"", False, "headers"),
    ("partial-status-line", b"HTT", False, "headers"),
    ("status-line-only", b"HTTP/1.1 200 OK\r\n", False, "headers"),
    ("no-blank-line", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", False, "headers"),
    ("head-no-blank-line", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", True, "headers"),
    ("cr-of-blank-line", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r", False, "headers"),
    ("content-length-no-body", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", False, "body"),
    ("content-length-short", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel", False, "body"),
    (
        "content-length-one-short",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell",
        False,
        "body",
    ),
    (
        "lowercase-content-length-short",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhe",
        False,
        "body",
    ),
    (
        "http10-content-length-short",
        b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhe",
        False,
        "body",
    ),
    (
        "chunked-no-chunk",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        False,
        "body",
    ),
    (
        "chunked-mid-chunk",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        False,
        "body",
    ),
    (
        "chunked-no-last-chunk",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        False,
        "body",
    ),
    (
        "chunked-no-final-crlf",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
        False,
        "body",
    ),
    (
        "chunked-mid-trailers",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
        False,
        "body",
    ),
]


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize(
    ("name", "data", "head", "where"), TRUNCATED, ids=[t[0] for t in TRUNCATED]
)
def test_eof_before_the_end_is_incomplete(
    name: str, data: bytes, head: bool, where: str, bytewise: bool
) -> None:
    reader = ResponseReader(want_headers=True, want_body=True)
    reader.begin(head=head)
    if bytewise:
        assert _feed_bytewise(reader, data) == [NEED_DATA] * len(data)
    else:
        assert reader.feed(data) == NEED_DATA
    with pytest.raises(IncompleteResponse, match=where):
        reader.feed_eof()
    assert not reader.complete


def test_eof_before_headers_of_second_response_is_incomplete() -> None:
    reader = ResponseReader()
    assert reader.feed(FRAMED[0].data) == COMPLETE
    reader.begin()
    with pytest.raises(IncompleteResponse, match="headers"):
        reader.feed_eof()


def test_framing_header_in_the_body_does_not_count() -> None:
    """Only the head decides framing: 'Content-Length:' inside a close-delimited body is data."""
    body = b"line\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
    reader = ResponseReader(want_body=True)
    reader.feed(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n" + body)
    reader.feed_eof()
    assert reader.complete
    assert reader.body == body


# ---- request.py: URLs ---------------------------------------------------------------------------

SPLIT: list[tuple[str, Origin, str]] = [
    ("http://h", Origin("http", "h", 80), "/"),
    ("http://h/", Origin("http", "h", 80), "/"),
    ("https://h", Origin("https", "h", 443), "/"),
    ("http://h:8080/a?b", Origin("http", "h", 8080), "/a?b"),
    ("http://h:80/x", Origin("http", "h", 80), "/x"),
    ("https://h:443/x", Origin("https", "h", 443), "/x"),
    ("http://h:443/x", Origin("http", "h", 443), "/x"),
    ("https://h:80/x", Origin("https", "h", 80), "/x"),
    ("http://h:/x", Origin("http", "h", 80), "/x"),
    ("http://example.com/a/b/c.html", Origin("http", "example.com", 80), "/a/b/c.html"),
    ("http://h?x=1", Origin("http", "h", 80), "/?x=1"),
    ("http://h/p?x=1&y=2", Origin("http", "h", 80), "/p?x=1&y=2"),
    ("http://h/p?", Origin("http", "h", 80), "/p"),
    ("http://h/p#frag", Origin("http", "h", 80), "/p"),
    ("http://h/p?q=1#frag", Origin("http", "h", 80), "/p?q=1"),
    ("http://h/%20x?q=a%20b", Origin("http", "h", 80), "/%20x?q=a%20b"),
    ("http://h/;params?q", Origin("http", "h", 80), "/;params?q"),
    ("HTTP://Example.COM/Path", Origin("http", "example.com", 80), "/Path"),
    ("http://127.0.0.1:9/", Origin("http", "127.0.0.1", 9), "/"),
    ("http://[::1]/", Origin("http", "::1", 80), "/"),
    ("http://[::1]:8080/p", Origin("http", "::1", 8080), "/p"),
    ("https://[2001:db8::1]:8443/a?b=c", Origin("https", "2001:db8::1", 8443), "/a?b=c"),
    ("http://user:pw@h:81/", Origin("http", "h", 81), "/"),
    ("http://h:65535/", Origin("http", "h", 65535), "/"),
]


@pytest.mark.parametrize(("url", "origin", "target"), SPLIT, ids=[s[0] for s in SPLIT])
def test_split_url(url: str, origin: Origin, target: str) -> None:
    assert split_url(url) == (origin, target)


BAD_URLS: list[tuple[str, str]] = [
    ("", "only http"),
    ("h", "only http"),
    ("h:80", "only http"),
    ("//h/", "only http"),
    ("/path", "only http"),
    ("ftp://h/", "only http"),
    ("ws://h/", "only http"),
    ("file:///etc/passwd", "only http"),
    ("http://", "no host"),
    ("http:///p", "no host"),
    ("https://:443/", "no host"),
    ("http://h:abc/", "invalid URL"),
    ("http://h:65536/", "invalid URL"),
    ("http://h:-1/", "invalid URL"),
    ("http://[::1/", "invalid URL"),
    ("http://h:0/", "port"),  # nothing listens on port 0: connecting could never work
]


@pytest.mark.parametrize(("url", "message"), BAD_URLS, ids=[b[0] or "empty" for b in BAD_URLS])
def test_split_url_rejects(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        split_url(url)
    text = str(info.value)
    assert repr(url) in text
    assert "\n" not in text


@pytest.mark.parametrize(
    "url",
    [
        "http://h/a b",
        "http://h/p?q=a b",
        "http://h/\x7f",
        "http://h/a\tb",
        "http://h/caf\u00e9",  # é: latin-1, would go out as the raw byte 0xE9
        "http://h/?q=\u00fc",
        "http://h/\u20ac",  # €: not latin-1 at all
        "http://h/\u65e5\u672c",
    ],
    ids=["space", "space-in-query", "del", "tab", "e-acute", "u-umlaut-query", "euro", "cjk"],
)
def test_split_url_never_yields_a_target_that_breaks_the_request_line(url: str) -> None:
    """A request-target is printable ASCII (RFC 9112 3.2): a space would split the request line,
    other bytes are not allowed. The URL is either refused or its target percent-encoded, and
    encoding the request never fails."""
    with contextlib.suppress(UsageError):
        origin, target = split_url(url)
        assert all(0x21 <= ord(ch) <= 0x7E for ch in target), target
        line = encode_request("GET", origin, target).split(b"\r\n", 1)[0]
        assert len(line.split(b" ")) == 3


@pytest.mark.parametrize(
    "url",
    ["http://b\u00fccher.example/", "http://\u4f8b\u3048.jp/", "https://xn--bcher-kva.example/"],
    ids=["latin-1-host", "cjk-host", "punycode-host"],
)
def test_international_host_names_give_an_ascii_host_header(url: str) -> None:
    """Host names go on the wire in their ASCII (IDNA, "xn--") form, never as raw bytes; a
    name that cannot be written so is refused as a usage error."""
    with contextlib.suppress(UsageError):
        origin, target = split_url(url)
        data = encode_request("GET", origin, target)
        (host,) = [line for line in data.split(b"\r\n") if line.startswith(b"Host: ")]
        assert host.isascii(), host
        assert host.startswith(b"Host: xn--"), host


@pytest.mark.parametrize(
    ("origin", "host_header", "text"),
    [
        (Origin("http", "h", 80), "h", "http://h"),
        (Origin("http", "h", 8080), "h:8080", "http://h:8080"),
        (Origin("https", "h", 443), "h", "https://h"),
        (Origin("https", "h", 80), "h:80", "https://h:80"),
        (Origin("http", "h", 443), "h:443", "http://h:443"),
        (Origin("http", "::1", 80), "[::1]", "http://[::1]"),
        (Origin("https", "::1", 8443), "[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_origin_host_header_and_str(origin: Origin, host_header: str, text: str) -> None:
    assert origin.host_header == host_header
    assert str(origin) == text
    assert origin.tls is (origin.scheme == "https")


@pytest.mark.parametrize(
    ("base", "url", "joined"),
    [
        ("http://h", "/a", "http://h/a"),
        ("http://h/", "/a", "http://h/a"),
        ("http://h//", "/a", "http://h/a"),
        ("http://h", "a", "http://h/a"),
        ("http://h/", "a?x=1", "http://h/a?x=1"),
        ("http://h/base", "/x", "http://h/base/x"),
        ("http://h/base/", "x", "http://h/base/x"),
        ("http://h", "", "http://h/"),
        ("http://h", "http://other/p", "http://other/p"),
        ("http://h", "https://other:8443/p", "https://other:8443/p"),
        ("http://h", "HTTPS://Other/p", "HTTPS://Other/p"),  # schemes are case-insensitive
    ],
)
def test_join_url(base: str, url: str, joined: str) -> None:
    assert join_url(base, url) == joined


# ---- request.py: encoding -----------------------------------------------------------------------


def _parse_request(data: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, "no end of head"
    lines = head.decode("latin-1").split("\r\n")
    pairs = [line.split(": ", 1) for line in lines[1:]]
    return lines[0], [(name, value) for name, value in pairs], body


def _named(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for n, v in headers if n.lower() == name.lower()]


H80 = Origin("http", "h", 80)

EncodeCase = tuple[str, dict[str, object], str, dict[str, list[str]], bytes]


def _no_body(method: str, content_length: list[str]) -> EncodeCase:
    return (
        f"{method.lower()}-no-body",
        {"method": method, "origin": H80, "target": "/p"},
        f"{method} /p HTTP/1.1",
        {"Content-Length": content_length},
        b"",
    )


ENCODE: list[EncodeCase] = [
    # (id, encode_request kwargs beyond origin, request line, expected header values, body)
    (
        "get-default-port",
        {"method": "GET", "origin": H80, "target": "/x"},
        "GET /x HTTP/1.1",
        {"Host": ["h"], "User-Agent": [USER_AGENT], "Content-Length": [], "Connection": []},
        b"",
    ),
    (
        "get-other-port",
        {"method": "GET", "origin": Origin("http", "h", 8080), "target": "/"},
        "GET / HTTP/1.1",
        {"Host": ["h:8080"]},
        b"",
    ),
    (
        "https-default-port",
        {"method": "GET", "origin": Origin("https", "h", 443), "target": "/"},
        "GET / HTTP/1.1",
        {"Host": ["h"]},
        b"",
    ),
    (
        "https-port-80",
        {"method": "GET", "origin": Origin("https", "h", 80), "target": "/"},
        "GET / HTTP/1.1",
        {"Host": ["h:80"]},
        b"",
    ),
    (
        "ipv6",
        {"method": "GET", "origin": Origin("http", "::1", 8080), "target": "/"},
        "GET / HTTP/1.1",
        {"Host": ["[::1]:8080"]},
        b"",
    ),
    (
        "post-body",
        {"method": "POST", "origin": H80, "target": "/p", "body": b'{"a": 1}'},
        "POST /p HTTP/1.1",
        {"Content-Length": ["8"]},
        b'{"a": 1}',
    ),
    (
        "binary-body",
        {"method": "PUT", "origin": H80, "target": "/p", "body": bytes(range(256))},
        "PUT /p HTTP/1.1",
        {"Content-Length": ["256"]},
        bytes(range(256)),
    ),
    # a body is expected by these methods: an empty one is announced
    *(_no_body(method, ["0"]) for method in ("POST", "PUT", "PATCH")),
    *(_no_body(method, []) for method in ("GET", "HEAD", "DELETE", "OPTIONS")),
    (
        "empty-body-given",
        {"method": "POST", "origin": H80, "target": "/p", "body": b""},
        "POST /p HTTP/1.1",
        {"Content-Length": ["0"]},
        b"",
    ),
    (
        "given-headers-not-duplicated",
        {
            "method": "POST",
            "origin": H80,
            "target": "/p",
            "headers": (
                ("host", "virtual.example"),
                ("USER-AGENT", "custom/1"),
                ("Content-Length", "3"),
                ("Connection", "keep-alive"),
            ),
            "body": b"abc",
            "keep_alive": False,
        },
        "POST /p HTTP/1.1",
        {
            "Host": ["virtual.example"],
            "User-Agent": ["custom/1"],
            "Content-Length": ["3"],
            "Connection": ["keep-alive"],
        },
        b"abc",
    ),
    (
        "given-content-length-on-post-without-body",
        {"method": "POST", "origin": H80, "target": "/", "headers": (("content-length", "0"),)},
        "POST / HTTP/1.1",
        {"Content-Length": ["0"]},
        b"",
    ),
    (
        "other-headers-kept-in-order",
        {
            "method": "GET",
            "origin": H80,
            "target": "/",
            "headers": (("Accept", "a/b"), ("X-Multi", "1"), ("X-Multi", "2")),
        },
        "GET / HTTP/1.1",
        {"Accept": ["a/b"], "X-Multi": ["1", "2"], "Host": ["h"]},
        b"",
    ),
    (
        "connection-close",
        {"method": "GET", "origin": H80, "target": "/", "keep_alive": False},
        "GET / HTTP/1.1",
        {"Connection": ["close"]},
        b"",
    ),
    (
        "keep-alive-by-default",
        {"method": "GET", "origin": H80, "target": "/"},
        "GET / HTTP/1.1",
        {"Connection": []},
        b"",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "request_line", "expected", "body"),
    [e[1:] for e in ENCODE],
    ids=[e[0] for e in ENCODE],
)
def test_encode_request(
    kwargs: dict[str, object], request_line: str, expected: dict[str, list[str]], body: bytes
) -> None:
    data = encode_request(**kwargs)  # type: ignore[arg-type]
    line, headers, rest = _parse_request(data)
    assert line == request_line
    assert rest == body
    for name, values in expected.items():
        assert _named(headers, name) == values, name
    for name in ("Host", "User-Agent", "Content-Length", "Connection"):
        assert len(_named(headers, name)) <= 1, name


def test_encode_request_is_parsed_by_a_real_http_parser() -> None:
    import httptools

    seen: dict[str, object] = {"headers": [], "body": b""}

    class Sink:
        def on_header(self, name: bytes, value: bytes) -> None:
            seen["headers"].append((name, value))  # type: ignore[attr-defined]

        def on_body(self, body: bytes) -> None:
            seen["body"] = seen["body"] + body  # type: ignore[operator]

        def on_message_complete(self) -> None:
            seen["complete"] = True

    data = encode_request(
        "POST", Origin("http", "::1", 8080), "/a?b=c", (("X-A", "1"),), b"payload"
    )
    parser = httptools.HttpRequestParser(Sink())
    parser.feed_data(data)
    assert seen["complete"] is True
    assert parser.get_method() == b"POST"
    assert seen["body"] == b"payload"
    assert (b"Host", b"[::1]:8080") in seen["headers"]  # type: ignore[operator]
    assert (b"Content-Length", b"7") in seen["headers"]  # type: ignore[operator]
