"""Sans-IO HTTP/1.1 response reader on top of httptools (llhttp).

It takes bytes and says when a response is complete; sockets live elsewhere. One reader serves
a whole keep-alive connection. Framing (Content-Length, chunked, 204/304 without body) is
llhttp's; what llhttp cannot know is handled here: a response to HEAD has no body whatever its
headers say, and a body delimited by the connection closing ends at EOF.
"""

from __future__ import annotations

import re

import httptools

NEED_DATA = 0
COMPLETE = 1
_CONNECTION_CLOSE = re.compile(rb"\r\nconnection\s*:[^\r]*\bclose\b")
_CONNECTION_KEEP_ALIVE = re.compile(rb"\r\nconnection\s*:[^\r]*\bkeep-alive\b")
# A head is framed (so EOF before its end is truncation) by Content-Length, or by a
# Transfer-Encoding whose last coding is chunked; otherwise the body ends at EOF (RFC 9112 6.3).
_FRAMING = re.compile(
    rb"\r\n(content-length\s*:|transfer-encoding\s*:[^\r]*\bchunked\s*\r)", re.IGNORECASE
)


class ProtocolError(Exception):
    """The peer's bytes are not a valid HTTP/1.1 response."""


class IncompleteResponse(Exception):
    """The connection ended before the response did."""


_HEAD_SOON = 65536  # past this many bytes, look whether the head is complete
_HEAD_KEEP = 1 << 20  # never keep more than this to find a head


class ResponseReader:
    """Reads the responses of one connection, one at a time.

    ``want_headers`` and ``want_body`` keep what checks and scripted flows need. The plain load
    path keeps neither, and then llhttp calls back into Python once per response (at its end)
    rather than for the head, each header and each body chunk: every callback costs.
    """

    def __init__(
        self,
        *,
        want_headers: bool = False,
        want_body: bool = False,
        max_body: int = 16 * 1024 * 1024,
    ) -> None:
        self.want_headers = want_headers
        self.want_body = want_body
        self.max_body = max_body
        self.head = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.body_parts: list[bytes] = []
        self.body_size = 0
        self.body_too_large = False
        self._head_bytes: list[bytes] = []
        self._head_size = 0
        self._parser = self._new_parser()
        self.begin()

    def _new_parser(self) -> httptools.HttpResponseParser:
        self._fresh = True
        self._mode = (self.head, self.want_headers, self.want_body)
        return httptools.HttpResponseParser(_Callbacks(self))

    def begin(
        self, head: bool = False, want_headers: bool | None = None, want_body: bool | None = None
    ) -> None:
        """Expect a new response (to a HEAD request when ``head``). Called once per request,
        so it resets only what the last response may have changed."""
        self.head = head
        if want_headers is not None:
            self.want_headers = want_headers
        if want_body is not None:
            self.want_body = want_body
        if not self._fresh or self._mode != (head, self.want_headers, self.want_body):
            # After a response to HEAD llhttp still waits for the body its headers announced;
            # and llhttp fixes the set of callbacks when a parser is made.
            self._parser = self._new_parser()
        self.status = 0
        self._headers_seen = False
        self.complete = False
        self.keep_alive = True
        self.trailing = False  # bytes arrived after the response: the connection is unusable
        self._head_bytes = []
        self._head_size = 0
        if self.headers:
            self.headers = []
        if self.body_size:
            self.body_parts = []
            self.body_size = 0
            self.body_too_large = False

    def feed(self, data: bytes) -> int:
        """Feed received bytes; ``COMPLETE`` once the whole response is in."""
        if self.complete:
            self.trailing = True
            return COMPLETE
        if self._head_size < _HEAD_KEEP:
            if self._head_size or len(data) >= _HEAD_SOON:
                self._keep_head(data)
            else:  # the common case, inlined: the first chunk of a small response
                self._head_bytes.append(data)
                self._head_size = len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise ProtocolError("unexpected protocol upgrade") from None
        except httptools.HttpParserError as exc:
            if self.complete:  # junk after a whole response: keep the response, drop the link
                self.trailing = True
                return COMPLETE
            raise ProtocolError(_describe(exc)) from None
        return COMPLETE if self.complete else NEED_DATA

    def _keep_head(self, data: bytes) -> None:
        """Keep the first bytes of the response, to read its head if the peer closes early;
        stop once the head is known to be in (past 64 KiB) so big bodies are not held."""
        before = self._head_size
        self._head_bytes.append(data)
        self._head_size += len(data)
        # Look for the end of the head once per 64 KiB, not per chunk (that would be quadratic).
        if self._head_size // _HEAD_SOON > before // _HEAD_SOON and (
            self._head() is not None or self._head_size >= _HEAD_KEEP
        ):
            self._head_size = _HEAD_KEEP

    def feed_eof(self) -> None:
        """The peer closed. Completes a close-delimited body, else ``IncompleteResponse``."""
        if self.complete:
            return
        head = self._head()
        if head is not None and not _FRAMING.search(head):
            self.status = self.status or _status_of(head)
            self._finish(keep_alive=False)
            return
        where = "body" if head is not None else "headers"
        raise IncompleteResponse(f"connection closed in the middle of the response {where}")

    @property
    def headers_done(self) -> bool:
        """Whether the whole head has arrived (worked out from the bytes when llhttp was not
        asked to call back at the end of the head)."""
        return self._headers_seen or self.complete or self._head() is not None

    @property
    def body(self) -> bytes:
        return b"".join(self.body_parts)

    def _head(self) -> bytes | None:
        """The head of the final response seen so far (after any 1xx ones), if complete."""
        data = b"".join(self._head_bytes)
        start = 0
        while True:
            end = data.find(b"\r\n\r\n", start)
            if end < 0:
                return None
            status = _status_of(data[start : end + 2])
            if not (100 <= status < 200 and status != 101):
                return data[start : end + 2]
            start = end + 4

    def _head_keep_alive(self) -> bool:
        head = (self._head() or b"").lower()
        if self._parser.get_http_version() == "1.0":
            return _CONNECTION_KEEP_ALIVE.search(head) is not None
        return _CONNECTION_CLOSE.search(head) is None

    def _finish(self, *, keep_alive: bool) -> None:
        self.complete = True
        self.keep_alive = keep_alive

    # -- llhttp callbacks (through _Callbacks) --

    def on_headers_complete(self) -> None:
        """Only installed for HEAD requests and when headers are kept."""
        if self.complete:  # a second message after the one we asked for
            self.trailing = True
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            return
        self._headers_seen = True
        self.status = status
        if self.head:
            # llhttp judges keep-alive as if a body followed; a HEAD answer has none, and any
            # byte after its head is one the connection should not have carried.
            self._fresh = False
            self._finish(keep_alive=self._head_keep_alive())
            data, head = b"".join(self._head_bytes), self._head() or b""
            self.trailing = len(data) > data.find(head) + len(head) + 2

    def on_message_complete(self) -> None:
        if self.complete:  # the end of a HEAD response's phantom body, or a second message
            self.trailing = True
            return
        self._fresh = True
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.
            if self.want_headers:
                self.headers = []
            return
        self._headers_seen = True
        self.status = status
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()

    def on_message_begin(self) -> None:
        if self.complete:  # the peer sent more than the one response we asked for
            self.trailing = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:  # not the head of a message that came after ours
            self.headers.append((name, value))

    def on_body(self, chunk: bytes) -> None:
        if self.complete:  # a HEAD answer's announced body, or a second message
            self.trailing = True
            return
        self.body_size += len(chunk)
        if self.body_size > self.max_body:
            self.body_too_large = True
            return
        self.body_parts.append(chunk)


class _Callbacks:
    """The object llhttp calls. Only the callbacks that are needed exist, because httptools
    skips the ones an object lacks and each call into Python costs."""

    def __init__(self, reader: ResponseReader) -> None:
        self.on_message_begin = reader.on_message_begin
        self.on_message_complete = reader.on_message_complete
        if reader.head or reader.want_headers:
            self.on_headers_complete = reader.on_headers_complete
        if reader.want_headers:
            self.on_header = reader.on_header
        if reader.want_body:
            self.on_body = reader.on_body


def _status_of(head: bytes) -> int:
    """The status code of a head's status line (``HTTP/1.1 200`` with or without a reason)."""
    line = head.split(b"\r\n", 1)[0]
    parts = line.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].strip().isdigit() else 0


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"invalid HTTP response: {text}"
