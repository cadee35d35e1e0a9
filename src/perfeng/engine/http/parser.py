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
_FRAMING = re.compile(rb"\r\n(content-length|transfer-encoding)\s*:", re.IGNORECASE)


class ProtocolError(Exception):
    """The peer's bytes are not a valid HTTP/1.1 response."""


class IncompleteResponse(Exception):
    """The connection ended before the response did."""


class ResponseReader:
    """Reads the responses of one connection, one at a time.

    ``want_headers`` and ``want_body`` keep what checks and scripted flows need; the plain load
    path keeps neither, so llhttp never calls back into Python for each header or body chunk.
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
        self._parser = self._new_parser()
        self._fresh = True
        self.begin()

    def _new_parser(self) -> httptools.HttpResponseParser:
        self._fresh = True
        self._mode = (self.want_headers, self.want_body)
        return httptools.HttpResponseParser(_Callbacks(self))

    def begin(
        self, *, head: bool = False, want_headers: bool | None = None, want_body: bool | None = None
    ) -> None:
        """Expect a new response (to a HEAD request when ``head``)."""
        mode = (
            self.want_headers if want_headers is None else want_headers,
            self.want_body if want_body is None else want_body,
        )
        if not self._fresh or mode != self._mode:
            # After a response to HEAD llhttp still waits for the body its headers announced;
            # and llhttp fixes the set of callbacks when a parser is made.
            self.want_headers, self.want_body = mode
            self._parser = self._new_parser()
        self.head = head
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body_parts: list[bytes] = []
        self.body_size = 0
        self.body_too_large = False
        self.headers_done = False
        self.complete = False
        self.keep_alive = True
        self.trailing = False  # bytes arrived after the response: the connection is unusable
        self._head_bytes: list[bytes] = []

    def feed(self, data: bytes) -> int:
        """Feed received bytes; ``COMPLETE`` once the whole response is in."""
        if self.complete:
            self.trailing = True
            return COMPLETE
        if not self.headers_done:
            self._head_bytes.append(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise ProtocolError("unexpected protocol upgrade") from None
        except httptools.HttpParserError as exc:
            raise ProtocolError(_describe(exc)) from None
        return COMPLETE if self.complete else NEED_DATA

    def feed_eof(self) -> None:
        """The peer closed. Completes a close-delimited body, else ``IncompleteResponse``."""
        if self.complete:
            return
        if self.headers_done and not self._framed():
            self._finish(keep_alive=False)
            return
        where = "body" if self.headers_done else "headers"
        raise IncompleteResponse(f"connection closed in the middle of the response {where}")

    @property
    def body(self) -> bytes:
        return b"".join(self.body_parts)

    def _framed(self) -> bool:
        """True when the head announced a length or chunking (so EOF means truncation)."""
        head = b"".join(self._head_bytes)
        end = head.find(b"\r\n\r\n")
        return _FRAMING.search(head, 0, end + 2 if end >= 0 else len(head)) is not None

    def _finish(self, *, keep_alive: bool) -> None:
        self.complete = True
        self.keep_alive = keep_alive
        self._head_bytes = []

    # -- llhttp callbacks (through _Callbacks) --

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.status = self._parser.get_status_code()
        if self.head:
            self._fresh = False
            self._finish(keep_alive=self._parser.should_keep_alive())

    def on_message_complete(self) -> None:
        if self.complete:  # the end of a HEAD response's phantom body, or a second message
            self.trailing = True
            return
        self._fresh = True
        self._finish(keep_alive=self._parser.should_keep_alive())

    def on_message_begin(self) -> None:
        if self.complete:
            self.trailing = True


class _Callbacks:
    """The object llhttp calls. Only the callbacks that are needed exist, because httptools
    skips the ones an object lacks and each call into Python costs."""

    def __init__(self, reader: ResponseReader) -> None:
        self.on_headers_complete = reader.on_headers_complete
        self.on_message_complete = reader.on_message_complete
        self.on_message_begin = reader.on_message_begin
        if reader.want_headers:
            self.on_header = lambda name, value: reader.headers.append((name, value))
        if reader.want_body:
            self.on_body = lambda chunk: _keep_body(reader, chunk)


def _keep_body(reader: ResponseReader, chunk: bytes) -> None:
    reader.body_size += len(chunk)
    if reader.body_size > reader.max_body:
        reader.body_too_large = True
        return
    reader.body_parts.append(chunk)


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"invalid HTTP response: {text}"
