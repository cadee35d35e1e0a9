"""Loopback test targets: small raw-asyncio HTTP/1.1 servers to aim load at.

perfeng's own engine tests and users' tests need targets whose behaviour is known exactly,
so these servers are written on ``asyncio.Protocol`` with ``httptools`` and no framework:
nothing between the socket and the behaviour under test. Kinds:

``fast``
    ``200 ok\\n`` for every path, plus special paths: ``/status/NNN``, ``/echo``, ``/json``,
    ``/chunked``, ``/close``, ``/redirect``, ``/headers``, ``/delay?ms=N``, ``/big?bytes=N``.
``delay``
    the ``fast`` behaviour, every answer held ``delay_ms`` (``loop.call_later``); records its
    own receive-to-send hold time per request so tests can check the generator's accuracy.
``stall``
    ``delay`` plus ``freeze(seconds)``: no reads and no answers until the freeze ends
    (wrk2's SIGSTOP experiment without signals); ``stall_at``/``stall_for`` automate it.
``broken``
    ``/reset``, ``/hang``, ``/garbage``, ``/huge``, ``/slow-body``, ``/eof`` misbehave on
    purpose; other paths act as ``fast``. ``closed_port()`` gives a port that refuses.
``tls``
    ``fast`` over TLS; ``make_self_signed_cert()`` makes a certificate for it.

Every server binds 127.0.0.1 on an ephemeral port unless told otherwise. Run one in a thread
with ``serve_in_thread`` or in its own process (so it does not share the generator's GIL)
with ``start_in_process``; ``python -m perfeng.testing.servers KIND`` is the same thing from
a shell and prints ``listening PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
from array import array
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import IO, Final, TypeVar, cast
from urllib.parse import parse_qsl

import httptools

from perfeng.clock import MonotonicClock

__all__ = [
    "HOST",
    "KINDS",
    "BrokenServer",
    "DelayServer",
    "FastServer",
    "LoopbackServer",
    "Reply",
    "Request",
    "ServerProcess",
    "StallServer",
    "closed_port",
    "encode_response",
    "main",
    "make_self_signed_cert",
    "make_server",
    "percentile",
    "serve_in_thread",
    "start_in_process",
    "tls_context",
]

HOST: Final = "127.0.0.1"
KINDS: Final = ("fast", "delay", "stall", "broken", "tls")
CHUNK: Final = 64 * 1024
HUGE_BYTES: Final = 1 << 30
SLOW_BODY_BYTES: Final = 100
SLOW_BODY_INTERVAL_S: Final = 0.2
JSON_BODY: Final = b'{"ok": true, "token": "abc123", "items": [{"id": 7}]}'
GARBAGE: Final = b"NOT HTTP AT ALL\r\n\r\n"

_FILL: Final = b"x" * CHUNK  # one shared block: streamed bodies never build N bytes in memory
_BODYLESS: Final = frozenset({204, 304})
_now_ns = MonotonicClock().now_ns


# --------------------------------------------------------------------------- wire format


@dataclass(slots=True)
class Request:
    """One parsed request. Header names are lowercased; repeated headers are joined by ", "."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``, if present."""
        return next((v for k, v in parse_qsl(self.query) if k == name), None)


Stream = Callable[["Connection"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Reply:
    """What a route answers: bytes to write, then optionally a stream, then maybe close.

    ``after_s`` holds the answer back that long (``loop.call_later``, never blocking).
    """

    data: bytes = b""
    stream: Stream | None = None
    close: bool = False
    after_s: float = 0.0


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _head(status: int, fields: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}", *(f"{k}: {v}" for k, v in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def encode_response(
    status: int,
    body: bytes = b"",
    *,
    content_type: str = "text/plain",
    headers: Iterable[tuple[str, str]] = (),
    close: bool = False,
    head_only: bool = False,
) -> bytes:
    """A complete HTTP/1.1 response with Content-Length (none for 204/304, which have no body)."""
    fields: list[tuple[str, str]] = []
    if status not in _BODYLESS:
        fields.append(("Content-Length", str(len(body))))
        if body:
            fields.append(("Content-Type", content_type))
    fields.extend(headers)
    if close:
        fields.append(("Connection", "close"))
    head = _head(status, fields)
    return head if head_only or status in _BODYLESS else head + body


def _respond(
    req: Request,
    status: int = 200,
    body: bytes = b"",
    *,
    content_type: str = "text/plain",
    headers: Iterable[tuple[str, str]] = (),
    after_s: float = 0.0,
) -> Reply:
    close = not req.keep_alive
    data = encode_response(
        status,
        body,
        content_type=content_type,
        headers=headers,
        close=close,
        head_only=req.method == "HEAD",
    )
    return Reply(data, close=close, after_s=after_s)


# Prebuilt: the plain answer is what benchmarks hammer, so it costs no formatting per request.
_OK: Final = Reply(encode_response(200, b"ok\n"))
_OK_CLOSE: Final = Reply(encode_response(200, b"ok\n", close=True), close=True)


# --------------------------------------------------------------------------- connection


class _Slot:
    """A request's place in the connection's answer order (HTTP/1.1 pipelining)."""

    __slots__ = ("received_ns", "reply")

    def __init__(self, received_ns: int) -> None:
        self.received_ns = received_ns
        self.reply: Reply | None = None


class Connection(asyncio.Protocol):
    """One client connection: parses requests with httptools, answers them in order.

    Routes may answer late (``after_s``) or stream; later pipelined answers wait their turn.
    """

    def __init__(self, server: LoopbackServer) -> None:
        self._server = server
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._slots: deque[_Slot] = deque()
        self._stream_task: asyncio.Task[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self._closing = False  # no more requests are read once we decided to close
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a cast, not isinstance: uvloop's transports do not subclass asyncio.Transport
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Nagle plus delayed ACKs would add ~40 ms to small answers and ruin accuracy tests.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._server._connection_made(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._slots.clear()
        if self._stream_task is not None:
            self._stream_task.cancel()  # the client went away: stop streaming at once
        self._server._connection_lost(self)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._queue_reply(Reply(encode_response(400, b"bad request\n", close=True), close=True))
            self._closing = True

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url  # llhttp may deliver the URL in pieces across reads

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._closing:
            return
        path, _, query = self._url.decode("latin-1").partition("?")
        req = Request(
            method=self._parser.get_method().decode("latin-1"),
            path=path,
            query=query,
            headers=self._headers,
            body=b"".join(self._body),
            keep_alive=bool(self._parser.should_keep_alive()),
        )
        slot = _Slot(_now_ns())
        self._slots.append(slot)
        self._closing = not req.keep_alive
        self._server._handle(self, slot, req)

    # -- used by servers and streams
    @property
    def closed(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def fulfil(self, slot: _Slot, reply: Reply) -> None:
        """Give ``slot`` its answer; it is written as soon as every earlier answer is."""
        slot.reply = reply
        self._flush()

    def buffered_bytes(self) -> int:
        transport = self._transport
        return 0 if transport is None else transport.get_write_buffer_size()

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    async def drain(self) -> None:
        """Wait while the transport is above its high-water mark (bounded memory), else yield."""
        if not self._write_paused:
            await asyncio.sleep(0)  # let other connections run between chunks
            return
        self._drain_waiter = asyncio.get_running_loop().create_future()
        await self._drain_waiter

    def pause_reading(self) -> None:
        """Stop reading requests (a frozen server); the kernel buffers what clients send."""
        if not self.closed and not self._read_paused:
            assert self._transport is not None
            self._transport.pause_reading()
            self._read_paused = True

    def resume_reading(self) -> None:
        if not self.closed and self._read_paused:
            assert self._transport is not None
            self._transport.resume_reading()
        self._read_paused = False

    def close(self) -> None:
        """Close after the buffered bytes are sent."""
        self._closing = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Drop the connection without flushing."""
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    def reset(self) -> None:
        """Abort with SO_LINGER 0 so the peer sees a TCP RST, not an orderly FIN."""
        if self._transport is not None:
            sock = self._transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.abort()

    # -- ordered answering
    def _queue_reply(self, reply: Reply) -> None:
        slot = _Slot(_now_ns())
        self._slots.append(slot)
        self.fulfil(slot, reply)

    def _flush(self) -> None:
        while self._slots and self._stream_task is None and not self.closed:
            slot = self._slots[0]
            reply = slot.reply
            if reply is None:
                return
            self._slots.popleft()
            self._send(slot, reply)

    def _send(self, slot: _Slot, reply: Reply) -> None:
        self.write(reply.data)
        self._server._on_sent(slot)
        if reply.stream is not None:
            loop = asyncio.get_running_loop()
            self._stream_task = loop.create_task(self._run_stream(reply, reply.stream))
        elif reply.close:
            self.close()

    async def _run_stream(self, reply: Reply, stream: Stream) -> None:
        await stream(self)
        self._stream_task = None
        if reply.close:
            self.close()
        else:
            self._flush()


# --------------------------------------------------------------------------- servers


class LoopbackServer:
    """Lifecycle and connection bookkeeping; subclasses decide the answers in ``route``."""

    kind = "fast"

    def __init__(
        self, *, host: str = HOST, port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.requests = 0  # written only on the loop thread; an int read is safe elsewhere
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conns: set[Connection] = set()
        self.extra_delay_s = 0.0  # added to every answer's after_s (DelayServer sets it)

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the server is not running")
        return self._loop

    async def start(self) -> None:
        """Listen on the running loop; ``port`` is the bound port afterwards."""
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            lambda: Connection(self), self.host, self.port, ssl=self._ssl, backlog=4096
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        """Stop listening and drop every client connection (hung or streaming ones too)."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.abort()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        await asyncio.sleep(0)  # let connection_lost callbacks cancel their streams

    def route(self, req: Request) -> Reply | None:
        """The answer to ``req``; ``None`` means never answer."""
        return _OK if req.keep_alive else _OK_CLOSE

    def buffered_bytes(self) -> int:
        """Bytes waiting in the client transports' write buffers (tests of bounded memory)."""
        return sum(conn.buffered_bytes() for conn in list(self._conns))

    # -- hooks used by Connection and subclasses
    def _handle(self, conn: Connection, slot: _Slot, req: Request) -> None:
        self.requests += 1
        reply = self.route(req)
        if reply is None:
            return
        delay_s = reply.after_s + self.extra_delay_s
        if delay_s > 0:
            self.loop.call_later(delay_s, self._deliver, conn, slot, reply)
        else:
            self._deliver(conn, slot, reply)

    def _deliver(self, conn: Connection, slot: _Slot, reply: Reply) -> None:
        conn.fulfil(slot, reply)

    def _on_sent(self, slot: _Slot) -> None:
        pass

    def _connection_made(self, conn: Connection) -> None:
        self._conns.add(conn)

    def _connection_lost(self, conn: Connection) -> None:
        self._conns.discard(conn)


Route = Callable[[Request], "Reply | None"]


class FastServer(LoopbackServer):
    """``200 ok\\n`` for any path, plus the special paths listed in the module docstring."""

    kind = "fast"

    def __init__(
        self, *, host: str = HOST, port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(host=host, port=port, ssl_context=ssl_context)
        self.routes: dict[str, Route] = {
            "/echo": _echo,
            "/json": lambda req: _respond(req, body=JSON_BODY, content_type="application/json"),
            "/chunked": _chunked,
            "/close": _close_delimited,
            "/redirect": lambda req: _respond(req, 302, headers=[("Location", "/json")]),
            "/headers": _headers,
            "/delay": _delay,
            "/big": _big,
        }

    def route(self, req: Request) -> Reply | None:
        handler = self.routes.get(req.path)
        if handler is not None:
            return handler(req)
        if req.path.startswith("/status/"):
            return _status(req)
        if req.method == "HEAD":
            return _respond(req, body=b"ok\n")
        return super().route(req)


def _echo(req: Request) -> Reply:
    given = req.headers.get("content-type", "")
    content_type = "application/json" if "json" in given else given or "application/octet-stream"
    return _respond(req, body=req.body, content_type=content_type)


def _chunked(req: Request) -> Reply:
    chunks = (b"one\n", b"two\n", b"three\n")
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    fields = [("Transfer-Encoding", "chunked"), ("Content-Type", "text/plain")]
    if not req.keep_alive:
        fields.append(("Connection", "close"))
    head = _head(200, fields)
    return Reply(head if req.method == "HEAD" else head + body, close=not req.keep_alive)


def _close_delimited(req: Request) -> Reply:
    head = _head(200, [("Content-Type", "text/plain"), ("Connection", "close")])
    return Reply(head + b"close-delimited body\n", close=True)


def _headers(req: Request) -> Reply:
    body = json.dumps(req.headers, sort_keys=True).encode()
    return _respond(req, body=body, content_type="application/json")


def _number(req: Request, name: str, default: float) -> float | None:
    raw = req.param(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _delay(req: Request) -> Reply:
    ms = _number(req, "ms", 0.0)
    if ms is None:
        return _respond(req, 400, b"ms must be a number >= 0\n")
    return _respond(req, body=b"ok\n", after_s=ms / 1000)


def _big(req: Request) -> Reply:
    size = _number(req, "bytes", 1 << 20)
    if size is None or size != int(size):
        return _respond(req, 400, b"bytes must be an integer >= 0\n")
    n = int(size)
    if n <= CHUNK:
        return _respond(req, body=_FILL[:n], content_type="application/octet-stream")
    fields = [("Content-Length", str(n)), ("Content-Type", "application/octet-stream")]
    close = not req.keep_alive
    if close:
        fields.append(("Connection", "close"))
    stream = None if req.method == "HEAD" else _stream_bytes(n)
    return Reply(_head(200, fields), stream=stream, close=close)


def _status(req: Request) -> Reply:
    code = req.path.removeprefix("/status/")
    if not (code.isdigit() and 200 <= int(code) <= 599):
        return _respond(req, 400, b"status must be 200..599\n")
    status = int(code)
    return _respond(req, status, f"{status} {_reason(status)}\n".encode())


def _stream_bytes(total: int) -> Stream:
    async def stream(conn: Connection) -> None:
        left = total
        while left > 0 and not conn.closed:
            n = min(left, CHUNK)
            conn.write(_FILL if n == CHUNK else _FILL[:n])
            left -= n
            await conn.drain()

    return stream


class _HoldTimes:
    """The last ``capacity`` hold times in ms, in a ring of C doubles (8 bytes each)."""

    def __init__(self, capacity: int) -> None:
        self._values = array("d")
        self._capacity = capacity
        self._next = 0
        self.count = 0  # every hold ever recorded, including overwritten ones

    def add(self, ms: float) -> None:
        if len(self._values) < self._capacity:
            self._values.append(ms)
        else:
            self._values[self._next] = ms
            self._next = (self._next + 1) % self._capacity
        self.count += 1

    def snapshot(self) -> list[float]:
        return self._values.tolist()  # one C-level copy: safe to call from another thread


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between ranks (numpy 'linear')."""
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class DelayServer(FastServer):
    """Every answer held ``delay_ms``; records receive-to-send hold times for accuracy checks."""

    kind = "delay"

    def __init__(
        self,
        *,
        delay_ms: float = 10.0,
        host: str = HOST,
        port: int = 0,
        hold_capacity: int = 1_000_000,
    ) -> None:
        super().__init__(host=host, port=port)
        self.delay_ms = delay_ms
        self.extra_delay_s = delay_ms / 1000
        self._holds = _HoldTimes(hold_capacity)

    @property
    def hold_count(self) -> int:
        return self._holds.count

    def hold_times_ms(self) -> list[float]:
        """The recorded hold times (receive to send, ms), at most ``hold_capacity`` of them."""
        return self._holds.snapshot()

    def hold_percentile_ms(self, q: float) -> float:
        """The q-th percentile (0..100) of the recorded hold times, in ms."""
        return percentile(self.hold_times_ms(), q)

    def _on_sent(self, slot: _Slot) -> None:
        self._holds.add((_now_ns() - slot.received_ns) / 1e6)


class StallServer(DelayServer):
    """``delay`` plus freezes: while frozen nothing is read and every answer is held.

    Held answers go out when the freeze ends, as a process resumed after SIGSTOP would send
    them; ``stall_at_s``/``stall_for_s`` freeze automatically after the first request.
    """

    kind = "stall"

    def __init__(
        self,
        *,
        delay_ms: float = 10.0,
        stall_at_s: float | None = None,
        stall_for_s: float | None = None,
        host: str = HOST,
        port: int = 0,
        hold_capacity: int = 1_000_000,
    ) -> None:
        super().__init__(delay_ms=delay_ms, host=host, port=port, hold_capacity=hold_capacity)
        if (stall_at_s is None) != (stall_for_s is None):
            raise ValueError("stall_at_s and stall_for_s go together")
        self._auto: tuple[float, float] | None = None
        if stall_at_s is not None and stall_for_s is not None:
            self._auto = (stall_at_s, stall_for_s)
        self._frozen_until_ns = 0
        self._held: list[tuple[Connection, _Slot, Reply]] = []
        self.freezes = 0

    @property
    def frozen(self) -> bool:
        return _now_ns() < self._frozen_until_ns

    def freeze(self, seconds: float) -> None:
        """Freeze for ``seconds`` from now. Safe to call from any thread.

        The deadline is set before returning, so answers due after this call are held even
        if the loop has not run yet; pausing reads happens on the loop thread.
        """
        loop = self.loop
        self._frozen_until_ns = max(self._frozen_until_ns, _now_ns() + int(seconds * 1e9))
        self.freezes += 1
        loop.call_soon_threadsafe(self._begin_freeze)

    def _begin_freeze(self) -> None:
        for conn in list(self._conns):
            conn.pause_reading()
        self._schedule_thaw()

    def _schedule_thaw(self) -> None:
        # +1 ms: loop timers may fire a little early against the perf counter deadline.
        remaining_s = (self._frozen_until_ns - _now_ns()) / 1e9
        self.loop.call_later(max(remaining_s, 0.0) + 0.001, self._thaw)

    def _thaw(self) -> None:
        if self.frozen:  # a later freeze() extended the deadline
            self._schedule_thaw()
            return
        for conn in list(self._conns):
            conn.resume_reading()
        held, self._held = self._held, []
        for conn, slot, reply in held:
            conn.fulfil(slot, reply)

    def _handle(self, conn: Connection, slot: _Slot, req: Request) -> None:
        if self._auto is not None and self.requests == 0:
            at_s, for_s = self._auto
            self.loop.call_later(at_s, self.freeze, for_s)
        super()._handle(conn, slot, req)

    def _deliver(self, conn: Connection, slot: _Slot, reply: Reply) -> None:
        if self.frozen:
            self._held.append((conn, slot, reply))
        else:
            conn.fulfil(slot, reply)

    def _connection_made(self, conn: Connection) -> None:
        super()._connection_made(conn)
        if self.frozen:
            conn.pause_reading()


class BrokenServer(FastServer):
    """Paths that misbehave on purpose, for the engine's error classification tests."""

    kind = "broken"

    def __init__(self, *, host: str = HOST, port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.routes.update(
            {
                "/reset": lambda req: Reply(stream=_reset),
                "/hang": lambda req: None,
                "/garbage": lambda req: Reply(GARBAGE, close=True),
                "/huge": _huge,
                "/slow-body": _slow_body,
                "/eof": lambda req: Reply(close=True),
            }
        )


async def _reset(conn: Connection) -> None:
    full = encode_response(200, b"ok\n", head_only=True)
    conn.write(full[: len(full) // 2])
    conn.reset()


def _huge(req: Request) -> Reply:
    head = _head(200, [("Content-Length", str(HUGE_BYTES)), ("Content-Type", "text/plain")])
    return Reply(head, stream=_stream_bytes(HUGE_BYTES), close=True)


def _slow_body(req: Request) -> Reply:
    head = _head(200, [("Content-Length", str(SLOW_BODY_BYTES)), ("Content-Type", "text/plain")])
    return Reply(head, stream=_drip, close=True)


async def _drip(conn: Connection) -> None:
    for _ in range(SLOW_BODY_BYTES):
        await asyncio.sleep(SLOW_BODY_INTERVAL_S)
        conn.write(b"x")


# --------------------------------------------------------------------------- helpers


def closed_port(host: str = HOST) -> int:
    """A port on ``host`` with nothing listening (bound once by us, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def make_self_signed_cert(directory: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` for localhost/127.0.0.1 with the ``openssl`` command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the openssl command is not installed")
    folder = Path(directory)
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [
        openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=localhost",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", str(key), "-out", str(cert),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return cert, key


def tls_context(
    certfile: str | os.PathLike[str], keyfile: str | os.PathLike[str]
) -> ssl.SSLContext:
    """A server-side TLS context for the given certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


def make_server(
    kind: str,
    *,
    host: str = HOST,
    port: int = 0,
    delay_ms: float = 10.0,
    stall_at: float | None = None,
    stall_for: float | None = None,
    certfile: str | os.PathLike[str] | None = None,
    keyfile: str | os.PathLike[str] | None = None,
) -> LoopbackServer:
    """A server of ``kind`` (one of ``KINDS``), not yet started."""
    if kind == "fast":
        return FastServer(host=host, port=port)
    if kind == "delay":
        return DelayServer(delay_ms=delay_ms, host=host, port=port)
    if kind == "stall":
        return StallServer(
            delay_ms=delay_ms, stall_at_s=stall_at, stall_for_s=stall_for, host=host, port=port
        )
    if kind == "broken":
        return BrokenServer(host=host, port=port)
    if kind == "tls":
        if certfile is None or keyfile is None:
            raise ValueError("the tls kind needs certfile and keyfile")
        return FastServer(host=host, port=port, ssl_context=tls_context(certfile, keyfile))
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def _loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop]:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop


# --------------------------------------------------------------------------- in a thread

S = TypeVar("S", bound=LoopbackServer)


class _ServerThread:
    """Runs one server on its own event loop in a daemon thread."""

    def __init__(self, server: LoopbackServer, use_uvloop: bool) -> None:
        self._server = server
        self._factory = _loop_factory(use_uvloop)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"perfeng-{server.kind}-server", daemon=True
        )

    def start(self, timeout: float) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the {self._server.kind} server did not start in {timeout} s")
        if self._error is not None:
            raise RuntimeError(f"the {self._server.kind} server failed to start") from self._error

    def stop(self, timeout: float) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the {self._server.kind} server did not stop in {timeout} s")

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=self._factory) as runner:
                runner.run(self._main())
        except BaseException as exc:  # reported by start(); nothing else can see this thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self._server.start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._server.aclose()


@contextlib.contextmanager
def serve_in_thread(
    server: S, *, use_uvloop: bool = True, start_timeout: float = 5.0, stop_timeout: float = 2.0
) -> Iterator[S]:
    """Run ``server`` in a background thread; yields it started (``.port``, ``.url`` set).

    On exit the listener and every client connection close and the thread is joined.
    """
    runner = _ServerThread(server, use_uvloop)
    try:
        runner.start(start_timeout)  # inside try: a slow start still gets its thread stopped
        yield server
    finally:
        runner.stop(stop_timeout)


# --------------------------------------------------------------------------- in a process

# -c instead of -m: no runpy warning once perfeng.testing re-exports this module.
_BOOT: Final = "from perfeng.testing.servers import main; raise SystemExit(main())"


class ServerProcess:
    """A server running in a child process (its own GIL); stop it with ``stop()`` or ``with``."""

    def __init__(
        self, kind: str, host: str, port: int, process: subprocess.Popen[bytes], log: IO[bytes]
    ) -> None:
        self.kind = kind
        self.host = host
        self.port = port
        self.process = process
        self._log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        scheme = "https" if self.kind == "tls" else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code (0 after a clean stop)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _cli_args(
    kind: str,
    host: str,
    port: int,
    delay_ms: float,
    stall: tuple[float | None, float | None],
    tls: tuple[str | os.PathLike[str] | None, str | os.PathLike[str] | None],
) -> list[str]:
    args = [kind, "--host", host, "--port", str(port), "--delay-ms", str(delay_ms)]
    if stall[0] is not None:
        args += ["--stall-at", str(stall[0])]
    if stall[1] is not None:
        args += ["--stall-for", str(stall[1])]
    if tls[0] is not None:
        args += ["--certfile", os.fspath(tls[0])]
    if tls[1] is not None:
        args += ["--keyfile", os.fspath(tls[1])]
    return args


def _child_env() -> dict[str, str]:
    # The child must import this very perfeng even when it is not installed (src checkout).
    src = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def _first_line(stream: IO[bytes], timeout: float) -> bytes | None:
    """The first line of ``stream`` or None after ``timeout`` (a thread: works on any OS)."""
    lines: queue.Queue[bytes] = queue.Queue(maxsize=1)
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return None


def start_in_process(
    kind: str,
    *,
    host: str = HOST,
    port: int = 0,
    delay_ms: float = 10.0,
    stall_at: float | None = None,
    stall_for: float | None = None,
    certfile: str | os.PathLike[str] | None = None,
    keyfile: str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
) -> ServerProcess:
    """Start ``python -m perfeng.testing.servers KIND ...`` and wait for ``listening PORT``."""
    args = _cli_args(kind, host, port, delay_ms, (stall_at, stall_for), (certfile, keyfile))
    # stderr goes to a file, kept for the error message if the child dies; the handle lives
    # as long as the ServerProcess, hence no with-block.
    log = tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-c", _BOOT, *args], stdout=subprocess.PIPE, stderr=log, env=_child_env()
    )
    assert process.stdout is not None
    line = _first_line(process.stdout, timeout)
    if line is None or not line.startswith(b"listening "):
        process.kill()
        process.wait()
        process.stdout.close()  # waits for the reader thread, which sees EOF once killed
        log.seek(0)
        detail = log.read().decode(errors="replace").strip()
        log.close()
        raise RuntimeError(f"the {kind} server process did not start: {detail or line!r}")
    return ServerProcess(kind, host, int(line.split()[1]), process, log)


# --------------------------------------------------------------------------- command line


def _arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m perfeng.testing.servers",
        description="Run a loopback test target until SIGTERM/SIGINT; prints 'listening PORT'.",
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=10.0)
    parser.add_argument("--stall-at", type=float, help="freeze S seconds after the first request")
    parser.add_argument("--stall-for", type=float, help="... for D seconds")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop")
    return parser


async def _serve_until_signal(server: LoopbackServer) -> None:
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still interrupts
            loop.add_signal_handler(signum, stop.set)
    print(f"listening {server.port}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m perfeng.testing.servers``."""
    parser = _arg_parser()
    args = parser.parse_args(argv)
    try:
        server = make_server(
            args.kind,
            host=args.host,
            port=args.port,
            delay_ms=args.delay_ms,
            stall_at=args.stall_at,
            stall_for=args.stall_for,
            certfile=args.certfile,
            keyfile=args.keyfile,
        )
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    with asyncio.Runner(loop_factory=_loop_factory(not args.no_uvloop)) as runner:
        runner.run(_serve_until_signal(server))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
