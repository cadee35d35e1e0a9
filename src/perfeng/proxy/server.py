"""The fault-injecting TCP proxy on asyncio: a thin wrapper around ``core.Decider``.

With no fault in force, a chunk read on one side is written to the other at once (no copy,
no timer): that path is what the 0.2 ms p50 overhead bar in docs/performance.md measures. With
faults, every chunk goes through the decider and a per-direction queue drained by one timer,
so delayed pieces keep their order (asyncio's timer heap does not order equal deadlines).

Run it embedded on the running loop (``await proxy.start()``), in a thread of its own
(``ProxyThread``), or as ``perfeng proxy`` (docs/faults.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import random as random_module
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from perfeng.proxy.core import Decider, Forward, Hold
from perfeng.proxy.spec import FaultSpec

HOST = "127.0.0.1"
_HIGH_WATER = 1 << 20  # queued bytes in one direction before the source stops being read


@dataclass
class Stats:
    connections: int = 0  # accepted since the start
    active: int = 0
    refused: int = 0  # by 'down'
    resets: int = 0
    bytes_up: int = 0  # client -> upstream
    bytes_down: int = 0
    upstream_errors: int = 0  # upstream refused or failed to connect

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FaultEvent:
    """A fault put in force or lifted, at a wall-clock and a loop-clock time."""

    name: str
    spec: FaultSpec
    action: str  # "add" or "remove"
    wall_s: float
    loop_s: float


def reset_transport(transport: asyncio.BaseTransport) -> None:
    """Close with SO_LINGER 0, so the peer sees a TCP RST rather than a FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


class FaultProxy:
    """Listen on ``listen`` and forward every connection to ``upstream``, with faults."""

    def __init__(
        self,
        upstream: tuple[str, int],
        listen: tuple[str, int] = (HOST, 0),
        *,
        seed: int | None = None,
    ) -> None:
        self.upstream = upstream
        self.listen = listen
        self.decider = Decider(random_module.Random(seed).random)
        self.stats = Stats()
        self.events: list[FaultEvent] = []
        self.links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._next_id = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._address: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (kept after ``stop``, for the record)."""
        assert self._address is not None, "start() the proxy first"
        return self._address

    async def start(self) -> FaultProxy:
        self.loop = asyncio.get_running_loop()
        self._server = await self.loop.create_server(
            lambda: _ClientSide(self), self.listen[0], self.listen[1], backlog=1024
        )
        host, port = self._server.sockets[0].getsockname()[:2]
        self._address = str(host), int(port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for link in list(self.links):
                link.close_both()
            await self._server.wait_closed()
            self._server = None

    # -- the fault set (call on the proxy's loop)
    def add(self, name: str, spec: FaultSpec) -> None:
        self.decider.add(name, spec)
        self._record(name, spec, "add")
        for link in list(self.links):
            link.recheck()

    def remove(self, name: str) -> bool:
        entry = self.decider.faults.get(name)
        if entry is None:
            return False
        self.decider.remove(name)
        self._record(name, entry[1], "remove")
        for link in list(self.links):
            link.recheck()
        return True

    def faults(self) -> dict[str, FaultSpec]:
        return {name: spec for name, (_serial, spec) in self.decider.faults.items()}

    def _record(self, name: str, spec: FaultSpec, action: str) -> None:
        loop_s = self.loop.time() if self.loop is not None else 0.0
        self.events.append(FaultEvent(name, spec, action, time.time(), loop_s))

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id


class _ClientSide(asyncio.Protocol):
    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.link: _Link | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        proxy = self.proxy
        conn = proxy.new_id()
        proxy.decider.open(conn)
        verdict = proxy.decider.admit(conn) if proxy.decider.faults else "accept"
        if verdict != "accept":
            proxy.decider.close(conn)
            proxy.stats.refused += verdict == "refuse"
            proxy.stats.resets += verdict == "reset"
            reset_transport(transport)
            return
        proxy.stats.connections += 1
        proxy.stats.active += 1
        self.link = _Link(proxy, conn, transport)  # type: ignore[arg-type]
        proxy.links.add(self.link)
        self.link.connect_upstream()

    def data_received(self, data: bytes) -> None:
        assert self.link is not None
        self.link.forward("up", data)

    def eof_received(self) -> bool:
        if self.link is None:
            return False
        self.link.client_eof()  # a half-close: the request is whole, the answer may follow
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.link is not None:
            self.link.side_lost("client")

    def pause_writing(self) -> None:
        if self.link is not None and self.link.upstream is not None:
            self.link.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.link is not None and self.link.upstream is not None:
            self.link.upstream.resume_reading()


class _UpstreamSide(asyncio.Protocol):
    def __init__(self, link: _Link) -> None:
        self.link = link

    def data_received(self, data: bytes) -> None:
        self.link.forward("down", data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.side_lost("upstream")

    def pause_writing(self) -> None:
        self.link.client.pause_reading()

    def resume_writing(self) -> None:
        self.link.client.resume_reading()


@dataclass
class _Queue:
    pieces: deque[tuple[float, bytes]] = field(default_factory=deque)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, proxy: FaultProxy, conn: int, client: asyncio.Transport) -> None:
        self.proxy = proxy
        self.conn = conn
        self.client = client
        self.upstream: asyncio.Transport | None = None
        self.early: list[bytes] = []
        self.queues = {"up": _Queue(), "down": _Queue()}
        self.closing = False
        self.client_done = False  # the client half-closed: pass the FIN on once sent
        self.close_timer: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()

    def connect_upstream(self) -> None:
        self.client.pause_reading()
        self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        host, port = self.proxy.upstream
        try:
            transport, _ = await self.loop.create_connection(
                lambda: _UpstreamSide(self), host, port
            )
        except OSError:
            self.proxy.stats.upstream_errors += 1
            self.close_both()
            return
        if self.closing:
            transport.close()
            return
        self.upstream = transport
        for data in self.early:
            self.forward("up", data)
        self.early.clear()
        self.client.resume_reading()
        self._pass_eof()

    # -- bytes
    def forward(self, direction: str, data: bytes) -> None:
        stats = self.proxy.stats
        if direction == "up":
            stats.bytes_up += len(data)
            if self.upstream is None:
                self.early.append(data)
                return
        else:
            stats.bytes_down += len(data)
        queue = self.queues[direction]
        if not self.proxy.decider.faults and not queue.pieces:
            self._destination(direction).write(data)  # the lean path: no fault in force
            return
        self._decide(direction, data)

    def _decide(self, direction: str, data: bytes) -> None:
        decision = self.proxy.decider.decide(self.conn, direction, data, self.loop.time())
        if isinstance(decision, Forward):
            self._enqueue(direction, decision)
        elif isinstance(decision, Hold):
            self._hold_until(decision.close_at)
        else:
            self.reset()

    def _destination(self, direction: str) -> asyncio.Transport:
        if direction == "up":
            assert self.upstream is not None
            return self.upstream
        return self.client

    def _source(self, direction: str) -> asyncio.Transport | None:
        return self.client if direction == "up" else self.upstream

    def _enqueue(self, direction: str, decision: Forward) -> None:
        queue = self.queues[direction]
        for at, piece in decision.pieces:
            queue.pieces.append((at, piece))
            queue.size += len(piece)
        if queue.size > _HIGH_WATER and (source := self._source(direction)) is not None:
            source.pause_reading()
        self._drain(direction)

    def _drain(self, direction: str) -> None:
        queue = self.queues[direction]
        queue.timer = None
        now = self.loop.time()
        destination = self._destination(direction)
        while queue.pieces and queue.pieces[0][0] <= now:
            _at, piece = queue.pieces.popleft()
            queue.size -= len(piece)
            if not destination.is_closing():
                destination.write(piece)
        if queue.pieces:
            queue.timer = self.loop.call_at(queue.pieces[0][0], self._drain, direction)
        elif direction == "up":
            self._pass_eof()
        elif self.closing:
            self._finish_close()
        source = self._source(direction)
        if queue.size <= _HIGH_WATER // 2 and source is not None and not source.is_closing():
            source.resume_reading()

    def client_eof(self) -> None:
        self.client_done = True
        self._pass_eof()

    def _pass_eof(self) -> None:
        """The client's FIN reaches the service after the bytes before it."""
        upstream = self.upstream
        if not self.client_done or upstream is None or self.queues["up"].pieces:
            return
        if not upstream.is_closing() and upstream.can_write_eof():
            upstream.write_eof()

    def _hold_until(self, close_at: float | None) -> None:
        if close_at is not None and self.close_timer is None:
            self.close_timer = self.loop.call_at(close_at, self.close_both)

    def recheck(self) -> None:
        """A fault was added or removed: reset/down act on open connections at once."""
        if self.closing:
            return
        kinds = {spec.kind for spec in self.proxy.decider.active(self.conn)}
        if kinds & {"reset", "down"}:
            self.reset()
        elif "timeout" not in kinds and self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None

    # -- endings
    def reset(self) -> None:
        self.proxy.stats.resets += 1
        self.closing = True
        reset_transport(self.client)
        if self.upstream is not None:
            self.upstream.close()

    def side_lost(self, side: str) -> None:
        """One side closed: the other closes once its pending bytes are out (slow-close
        holds the close ``delay`` longer)."""
        if side == "client":
            self._forget()
            if self.upstream is not None:
                self.upstream.close()
            return
        if self.closing:
            return
        self.closing = True
        delay = self.proxy.decider.close_delay_s(self.conn) if self.proxy.decider.faults else 0
        if delay:
            self.loop.call_later(delay, self._finish_close)
        elif not self.queues["down"].pieces:
            self._finish_close()

    def _finish_close(self) -> None:
        if not self.queues["down"].pieces:
            self.client.close()

    def close_both(self) -> None:
        self.closing = True
        self.client.close()
        if self.upstream is not None:
            self.upstream.close()

    def _forget(self) -> None:
        if self in self.proxy.links:
            self.proxy.links.discard(self)
            self.proxy.stats.active -= 1
            self.proxy.decider.close(self.conn)
        for queue in self.queues.values():
            if queue.timer is not None:
                queue.timer.cancel()
        if self.close_timer is not None:
            self.close_timer.cancel()


def describe(proxy: FaultProxy) -> dict[str, Any]:
    return {
        "listen": join_address(proxy.address),
        "upstream": join_address(proxy.upstream),
        "faults": {name: spec.to_dict() for name, spec in proxy.faults().items()},
        "stats": proxy.stats.to_dict(),
    }


def join_address(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"
