"""A lean HTTP/1.1 client made for load generation.

One ``Connection`` (an asyncio Protocol) carries one request at a time and parses with the
sans-IO ``ResponseReader``. ``Pool`` keeps idle keep-alive connections per origin. Timeouts are
enforced by one sweeper task instead of a timer per request: arming and cancelling a timer for
every request would cost more than the rest of the request path. The sweeper's resolution is
``SWEEP_S``, far below any sensible timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from perfeng.engine.http.parser import COMPLETE, IncompleteResponse, ProtocolError, ResponseReader
from perfeng.engine.http.request import Origin
from perfeng.model.sample import ErrorClass

SWEEP_S = 0.02


class RequestFailed(Exception):
    """A request ended without a usable response; ``error`` is an ErrorClass value."""

    def __init__(self, error: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.error = error.value


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; ``request`` sends bytes and waits for the whole response."""

    def __init__(self, reader: ResponseReader, now_ns: Callable[[], int]) -> None:
        self.reader = reader
        self.now_ns = now_ns
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Connection] | None = None
        self.closed = False
        self.bytes_in = 0
        self.sent_ns = 0  # when the request in flight was sent
        self.idle_since_ns = 0  # when bytes last arrived (or the request was sent)
        self.last_seen_bytes = -1  # the sweeper's view of bytes_in
        self.start_bytes = 0  # bytes_in when the request in flight was sent
        self.first_ns = 0  # when its answer's first byte arrived; 0 before (see data_received)
        # How this connection was opened (dns, connect, tls in ns; -1 for a step that did not
        # happen), until the first request on it has taken them for its phases.
        self.setup: tuple[int, int, int] | None = None
        # Called with the connection when a response is whole; True when it took the response
        # (and sent the next request on this connection): the waiter stays for the next one.
        self.pump: Callable[[Connection], bool] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        start = self.bytes_in == self.start_bytes  # the first bytes of this request's answer
        self.bytes_in += len(data)
        try:
            done = self.reader.feed(data)
        except ProtocolError as exc:
            self.fail(ErrorClass.PROTOCOL, str(exc))
            return
        if done == COMPLETE:
            pump = self.pump
            # An answer whole in its first read: the pump's own clock reading is its first
            # byte's time too (first_ns stays 0), one clock read less per request.
            if pump is not None and pump(self):
                return
            if start:
                self.first_ns = self.now_ns()
            waiter = self.waiter
            if waiter is not None:
                self.waiter = None
                if not waiter.done():
                    waiter.set_result(self)
        elif start:
            self.first_ns = self.now_ns()  # the end of this request's wait (its TTFB)

    def eof_received(self) -> bool | None:
        self._ended(None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)

    def _ended(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        if exc is None:
            try:
                self.reader.feed_eof()
            except IncompleteResponse as inc:
                waiter.set_exception(RequestFailed(ErrorClass.RESET, str(inc)))
                return
            waiter.set_result(self)
            return
        waiter.set_exception(_classify_transport_error(exc))

    def fail(self, error: ErrorClass, message: str) -> None:
        """End the request in flight with an error and drop the connection."""
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(RequestFailed(error, message))
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def _classify_transport_error(exc: BaseException) -> RequestFailed:
    if isinstance(exc, ssl.SSLError):
        return RequestFailed(ErrorClass.TLS, f"TLS error: {exc}")
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return RequestFailed(ErrorClass.RESET, "connection reset by peer")
    return RequestFailed(ErrorClass.RESET, f"connection lost: {exc}")


class Pool:
    """Idle keep-alive connections to one origin."""

    def __init__(self, client: Client, origin: Origin) -> None:
        self.client = client
        self.origin = origin
        self.idle: list[Connection] = []
        self._address: tuple[Any, ...] | None = None
        self._family = socket.AF_INET
        self._resolving: asyncio.Future[None] | None = None

    async def connect(self, *, want_headers: bool, want_body: bool) -> Connection:
        client = self.client
        now_ns = client.now_ns
        dns = -1
        if self._address is None:
            # One lookup for everyone: the first burst of arrivals waits on the same future
            # rather than each asking the resolver (and failing alike if it fails).
            began = now_ns()
            if self._resolving is None or (self._resolving.done() and self._address is None):
                self._resolving = asyncio.ensure_future(self._resolve())
            await asyncio.shield(self._resolving)
            if not _is_ip(self.origin.host):  # a literal address is not looked up
                dns = now_ns() - began
        assert self._address is not None
        reader = ResponseReader(
            want_headers=want_headers, want_body=want_body, max_body=client.max_body
        )
        began = now_ns()
        try:
            if self.origin.tls:
                conn, connected = await asyncio.wait_for(
                    self._open_tls(reader), client.connect_timeout_s
                )
            else:
                conn = await asyncio.wait_for(self._open(reader), client.connect_timeout_s)
                connected = now_ns()
        except TimeoutError:
            raise RequestFailed(ErrorClass.TIMEOUT, f"connect timeout to {self.origin}") from None
        except ssl.SSLError as exc:
            raise RequestFailed(
                ErrorClass.TLS, f"TLS handshake with {self.origin}: {exc}"
            ) from None
        except OSError as exc:
            raise RequestFailed(
                ErrorClass.CONNECT, f"cannot connect to {self.origin}: {exc.strerror or exc}"
            ) from None
        tls = now_ns() - connected if self.origin.tls else -1
        conn.setup = (dns, connected - began, tls)
        client.connections_opened += 1
        client.connections.add(conn)
        return conn

    async def _open(self, reader: ResponseReader) -> Connection:
        assert self._address is not None
        _, conn = await self.client.loop.create_connection(
            lambda: Connection(reader, self.client.now_ns),
            self._address[0],
            self._address[1],
            family=self._family,
        )
        return conn

    async def _open_tls(self, reader: ResponseReader) -> tuple[Connection, int]:
        """TCP first, then the handshake on that socket: connect and TLS timed apart (the
        connection and the moment TCP was up)."""
        assert self._address is not None
        client = self.client
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await client.loop.sock_connect(sock, self._address)
            connected = client.now_ns()
            _, conn = await client.loop.create_connection(
                lambda: Connection(reader, client.now_ns),
                sock=sock,
                ssl=client.ssl_context,
                server_hostname=self.origin.host,
            )
        except BaseException:
            sock.close()
            raise
        return conn, connected

    async def _resolve(self) -> None:
        loop = self.client.loop
        try:
            infos = await loop.getaddrinfo(
                self.origin.host, self.origin.port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise RequestFailed(
                ErrorClass.DNS, f"cannot resolve {self.origin.host}: {exc.strerror}"
            ) from None
        family, _, _, _, address = infos[0]
        self._family, self._address = family, address


class Client:
    """Pools per origin, the timeout sweeper, and the request call the engine uses."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        now_ns: Callable[[], int],
        *,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        total_timeout_s: float = 10.0,
        insecure: bool = False,
        max_body: int = 16 * 1024 * 1024,
    ) -> None:
        self.loop = loop
        self.now_ns = now_ns
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_ns = int(read_timeout_s * 1e9)
        self.total_timeout_ns = int(total_timeout_s * 1e9)
        self.max_body = max_body
        self.ssl_context = _ssl_context(insecure)
        self.pools: dict[Origin, Pool] = {}
        self.connections: set[Connection] = set()  # every open one, for the sweeper
        self.connections_opened = 0
        self._sweeper: asyncio.Task[None] | None = None

    def pool(self, origin: Origin) -> Pool:
        pool = self.pools.get(origin)
        if pool is None:
            pool = self.pools[origin] = Pool(self, origin)
        return pool

    def start(self) -> None:
        self._sweeper = self.loop.create_task(self._sweep())

    def send(
        self,
        pool: Pool,
        data: bytes,
        head: bool = False,
        want_headers: bool = False,
        want_body: bool = False,
        pump: Callable[[Connection], bool] | None = None,
    ) -> Awaitable[Connection]:
        """Send ``data`` on an idle connection (or a new one); await the result for the
        connection with the whole response read. The caller releases it. A plain future
        rather than a coroutine, when a connection is idle: one frame less per request.
        A ``pump`` sees each whole response first (see ``Connection.pump``)."""
        idle = pool.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:  # _send_on, inlined: this runs once per request
                conn.pump = pump
                conn.reader.begin(head, want_headers, want_body)
                waiter: asyncio.Future[Connection] = self.loop.create_future()
                conn.waiter = waiter
                conn.sent_ns = self.now_ns()
                conn.start_bytes = conn.bytes_in
                conn.first_ns = 0
                conn.last_seen_bytes = -1
                conn.transport.write(data)  # type: ignore[union-attr]
                return waiter
        return self._connect_and_send(pool, data, head, want_headers, want_body, pump)

    async def request(
        self,
        pool: Pool,
        data: bytes,
        head: bool = False,
        want_headers: bool = False,
        want_body: bool = False,
    ) -> Connection:
        return await self.send(pool, data, head, want_headers, want_body)

    def _send_on(
        self,
        conn: Connection,
        data: bytes,
        head: bool,
        want_headers: bool,
        want_body: bool,
        pump: Callable[[Connection], bool] | None = None,
    ) -> asyncio.Future[Connection]:
        conn.pump = pump
        conn.reader.begin(head, want_headers, want_body)
        waiter: asyncio.Future[Connection] = self.loop.create_future()
        conn.waiter = waiter
        conn.sent_ns = self.now_ns()
        conn.start_bytes = conn.bytes_in
        conn.first_ns = 0
        conn.last_seen_bytes = -1  # the sweeper starts the read timeout when it first looks
        conn.transport.write(data)  # type: ignore[union-attr]
        return waiter

    async def _connect_and_send(
        self,
        pool: Pool,
        data: bytes,
        head: bool,
        want_headers: bool,
        want_body: bool,
        pump: Callable[[Connection], bool] | None = None,
    ) -> Connection:
        conn = await pool.connect(want_headers=want_headers, want_body=want_body)
        if conn.closed:  # reset between the handshake and this write (an accept-and-RST)
            raise RequestFailed(ErrorClass.RESET, "connection reset by peer")
        return await self._send_on(conn, data, head, want_headers, want_body, pump)

    async def warm(self, pool: Pool, count: int) -> None:
        """Open ``count`` idle connections before the load starts, so the first second does
        not open one per arrival while the pool is empty (failures surface later, per
        request, where they are counted)."""
        opened = await asyncio.gather(
            *(pool.connect(want_headers=False, want_body=False) for _ in range(count)),
            return_exceptions=True,
        )
        pool.idle.extend(c for c in opened if isinstance(c, Connection))

    def release(self, pool: Pool, conn: Connection) -> None:
        reader = conn.reader  # reusable: open, keep-alive, and nothing more arrived
        if not conn.closed and reader.keep_alive and not reader.trailing:
            pool.idle.append(conn)
        else:
            conn.close()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            self.expire(self.now_ns())

    def expire(self, now: int) -> None:
        """Fail requests past their total deadline or silent for longer than the read timeout."""
        connections = self.connections
        for conn in list(connections):
            if conn.closed:
                connections.discard(conn)
            elif conn.waiter is None or conn.waiter.done():
                continue
            elif now - conn.sent_ns >= self.total_timeout_ns:
                conn.fail(ErrorClass.TIMEOUT, "total timeout")
            elif conn.bytes_in != conn.last_seen_bytes:
                conn.last_seen_bytes, conn.idle_since_ns = conn.bytes_in, now
            elif now - conn.idle_since_ns >= self.read_timeout_ns:
                conn.fail(ErrorClass.TIMEOUT, "read timeout")

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for conn in list(self.connections):
            conn.close()
        for pool in self.pools.values():
            for conn in pool.idle:
                conn.close()
            pool.idle.clear()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _ssl_context(insecure: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
