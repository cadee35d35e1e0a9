"""One iteration of a request scenario: pick a request, send it, check it, record a sample."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from perfeng.engine.http.client import Client, Connection, Pool, RequestFailed
from perfeng.engine.http.parser import ResponseReader
from perfeng.engine.http.request import encode_request, join_url, split_url
from perfeng.model.recorder import Recorder
from perfeng.model.sample import ErrorClass, Sample
from perfeng.scenario.data import RowPicker
from perfeng.scenario.model import Check, RequestSpec, Scenario, render

_4XX, _5XX = ErrorClass.HTTP_4XX.value, ErrorClass.HTTP_5XX.value
_CHECK = ErrorClass.CHECK_FAILED.value
_PROTOCOL = ErrorClass.PROTOCOL.value
_TIMEOUT = ErrorClass.TIMEOUT.value


class Stopping(Protocol):
    stopping: bool


class Retiring(Protocol):
    retired: bool


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass
class Prepared:
    """A request turned into what the hot path needs: its pool and, if static, its bytes."""

    spec: RequestSpec
    pool: Pool
    raw: bytes | None  # None when it holds ${variables} and is rendered per iteration
    head: bool
    want_body: bool
    status_check: Check | None
    other_checks: tuple[Check, ...]
    name: str
    plain: bool  # no checks and no redirects to follow: only the status decides


def _encode(
    spec: RequestSpec,
    base_url: str,
    keep_alive: bool,
    row: dict[str, str] | None,
) -> tuple[bytes, str]:
    url, headers, body = spec.url, spec.headers, spec.body
    if row is not None:
        url = render(url, row)
        headers = tuple((k, render(v, row)) for k, v in headers)
        body = None if body is None else render(body, row)
    origin, target = split_url(join_url(base_url, url))
    raw = encode_request(
        spec.method,
        origin,
        target,
        headers,
        None if body is None else body.encode(),
        keep_alive=keep_alive,
    )
    return raw, str(origin)


class _Pump:
    """One closed-model user's requests without a task switch each: called by the connection
    when a response is whole, it records the sample and writes the next request at once.
    The waiter of the first send stays set, so the sweeper's timeouts and a lost connection
    still end in the user's coroutine, which records them and reconnects."""

    __slots__ = (
        "body",
        "ctx",
        "head",
        "name",
        "now_ns",
        "raw",
        "record",
        "record_setup",
        "sent",
        "user",
    )

    def __init__(
        self, iterations: RequestIterations, ctx: Stopping, user: Retiring, request: Prepared
    ) -> None:
        assert request.raw is not None
        self.ctx, self.user = ctx, user
        self.sent = 0  # when the request in flight was sent
        self.now_ns, self.record = iterations.now_ns, iterations.recorder.record_fields
        self.record_setup = iterations.recorder.record_setup
        self.name, self.raw = request.name, request.raw
        self.head, self.body = request.head, request.want_body

    def __call__(self, conn: Connection) -> bool:
        waiter, reader = conn.waiter, conn.reader
        if (
            self.ctx.stopping
            or self.user.retired
            or waiter is None
            or waiter.done()
            or conn.closed
            or not reader.keep_alive
            or reader.trailing
        ):
            return False  # the user's coroutine takes this response
        now = self.now_ns()  # this response's end, and the next request's start
        status, sent = reader.status, self.sent
        error = None if status < 400 else (_5XX if status >= 500 else _4XX)
        received = conn.bytes_in - conn.start_bytes
        raw = self.raw
        if conn.setup is not None:
            self.record_setup(self.name, conn.setup)
            conn.setup = None
        written, first = conn.sent_ns, conn.first_ns or now  # 0: whole in its first read
        self.record(self.name, sent, sent, now, status, error, len(raw), received, written, first)
        reader.begin(self.head, False, self.body)
        conn.sent_ns = self.sent = now
        conn.start_bytes = conn.bytes_in
        conn.first_ns = 0
        conn.last_seen_bytes = -1
        conn.transport.write(raw)  # type: ignore[union-attr]
        return True


class RequestIterations:
    """Callable as ``await iterations(intended_ns)``; records exactly one sample per call."""

    def __init__(
        self,
        scenario: Scenario,
        client: Client,
        recorder: Recorder,
        now_ns: Callable[[], int],
        rng: random.Random,
    ) -> None:
        self.scenario = scenario
        self.client = client
        self.recorder = recorder
        self.now_ns = now_ns
        self.rng = rng
        self.follow = scenario.client.follow_redirects
        self.rows = RowPicker(scenario.data, rng) if scenario.data is not None else None
        self.prepared = [self._prepare(spec) for spec in scenario.requests]
        weights = [spec.weight for spec in scenario.requests]
        self.cumulative = list(itertools.accumulate(weights))
        self.single = len(self.prepared) == 1

    def _prepare(self, spec: RequestSpec) -> Prepared:
        keep_alive = self.scenario.client.keep_alive
        origin, _ = split_url(join_url(self.scenario.base_url, spec.url.split("${")[0] or "/"))
        raw = None if spec.templated else _encode(spec, self.scenario.base_url, keep_alive, None)[0]
        status = [c for c in spec.checks if c.kind == "status"]
        return Prepared(
            spec=spec,
            pool=self.client.pool(origin),
            raw=raw,
            head=spec.method == "HEAD",
            want_body=spec.needs_body,
            status_check=status[0] if status else None,
            other_checks=tuple(c for c in spec.checks if c.kind != "status"),
            name=spec.name,
            plain=not spec.checks,
        )

    def pick(self) -> Prepared:
        if len(self.prepared) == 1:
            return self.prepared[0]
        point = self.rng.random() * self.cumulative[-1]
        return self.prepared[bisect.bisect_right(self.cumulative, point)]

    async def __call__(self, intended_ns: int) -> None:
        """One request; written for speed, since it runs once per request."""
        request = self.prepared[0] if self.single else self.pick()
        raw = request.raw
        if raw is None:
            raw = self._render(request)
        client = self.client
        sent = self.now_ns()
        try:
            conn = await client.send(
                request.pool, raw, request.head, self.follow, request.want_body
            )
        except RequestFailed as exc:
            self._record_error(request, intended_ns, sent, exc.error, len(raw), 0)
            return
        except asyncio.CancelledError:
            # Cut off at the hard stop: a timeout whose latency is at least this long.
            self._record_error(request, intended_ns, sent, _TIMEOUT, len(raw), 0)
            raise
        reader = conn.reader
        received = conn.bytes_in - conn.start_bytes
        written, first = self._written(request, conn, sent), conn.first_ns
        client.release(request.pool, conn)
        if self.follow and reader.status in _REDIRECTS:
            first = 0  # the phases of one hop are not the whole request's
            try:
                reader, received = await self._follow(request, reader, received)
            except RequestFailed as exc:
                self._record_error(request, intended_ns, sent, exc.error, len(raw), received)
                return
        self._account(request, reader, received, intended_ns, sent, len(raw), written, first)

    async def run_user(self, ctx: Stopping, user: Retiring) -> None:
        """A whole closed-model user without think time, for requests that follow no
        redirects: the loop of ``__call__`` without a coroutine per request (the engine's
        headline cost is this loop's). A single plain static request goes further: a
        ``_Pump`` sends each next request from the connection's callback, and this loop only
        wakes for what the pump leaves (errors, a closing connection, the stop)."""
        now_ns, client = self.now_ns, self.client
        send, release, account = client.send, client.release, self._account
        only = self.prepared[0]
        pump = _Pump(self, ctx, user, only) if self.single and only.plain and only.raw else None
        while not ctx.stopping and not user.retired:
            request = only if self.single else self.pick()
            raw = request.raw
            if raw is None:
                raw = self._render(request)
            sent = now_ns()
            if pump is not None:
                pump.sent = sent
            try:
                conn = await send(request.pool, raw, request.head, False, request.want_body, pump)
            except RequestFailed as exc:
                sent = sent if pump is None else pump.sent
                self._record_error(request, sent, sent, exc.error, len(raw), 0)
                continue
            except asyncio.CancelledError:
                sent = sent if pump is None else pump.sent
                self._record_error(request, sent, sent, _TIMEOUT, len(raw), 0)
                raise
            if pump is not None:
                sent = pump.sent
            reader = conn.reader
            received = conn.bytes_in - conn.start_bytes
            written = sent if conn.setup is None else self._written(request, conn, sent)
            first = conn.first_ns
            release(request.pool, conn)
            account(request, reader, received, sent, sent, len(raw), written, first)

    def _account(
        self,
        request: Prepared,
        reader: ResponseReader,
        received: int,
        intended: int,
        sent: int,
        size: int,
        written: int,
        first: int,
    ) -> None:
        """Judge a whole response and record its sample."""
        status = reader.status
        if request.plain:
            error = None if status < 400 else (_5XX if status >= 500 else _4XX)
        else:
            body = reader.body if request.want_body else b""
            error = self._judge(request, status, body, reader.body_too_large)
        done = self.now_ns()
        self.recorder.record_fields(
            request.name, intended, sent, done, status, error, size, received, written, first
        )

    def _written(self, request: Prepared, conn: Connection, sent: int) -> int:
        """When the request was written: at ``sent`` on a reused connection (the recorder
        then takes its phases along with the latency), later on one it opened, whose set-up
        is recorded here."""
        if conn.setup is None:
            return sent
        self.recorder.record_setup(request.name, conn.setup)
        conn.setup = None
        return conn.sent_ns

    def _render(self, request: Prepared) -> bytes:
        assert self.rows is not None
        client = self.scenario.client
        return _encode(request.spec, self.scenario.base_url, client.keep_alive, self.rows.next())[0]

    def _record_error(
        self,
        request: Prepared,
        intended: int,
        sent: int,
        error: str,
        sent_bytes: int,
        received: int,
    ) -> None:
        self.recorder.record(
            Sample(request.name, intended, sent, self.now_ns(), 0, error, sent_bytes, received)
        )

    async def _follow(
        self, request: Prepared, reader: ResponseReader, received: int
    ) -> tuple[ResponseReader, int]:
        """Follow Location headers (303, and 301/302 after POST, turn into GET). Every
        connection is released as soon as its head and body have been read."""
        method = request.spec.method
        for _ in range(self.scenario.client.max_redirects):
            if reader.status not in _REDIRECTS:
                return reader, received
            location = next((v for k, v in reader.headers if k.lower() == b"location"), None)
            if not location:
                raise RequestFailed(ErrorClass.PROTOCOL, f"{reader.status} without Location")
            if reader.status == 303 or (reader.status in (301, 302) and method == "POST"):
                method = "GET"
            url = join_url(str(request.pool.origin), location.decode("latin-1"))
            origin, target = split_url(url)
            pool = self.client.pool(origin)
            raw = encode_request(method, origin, target)
            conn = await self.client.request(pool, raw, method == "HEAD", True, request.want_body)
            received += conn.bytes_in - conn.start_bytes
            self.client.release(pool, conn)
            reader = conn.reader
        raise RequestFailed(ErrorClass.PROTOCOL, "too many redirects")

    @staticmethod
    def _judge(request: Prepared, status: int, body: bytes, too_large: bool) -> str | None:
        if too_large:
            return _PROTOCOL
        check = request.status_check
        if check is not None:
            if check.failure(status, body) is not None:
                return _CHECK
        elif status >= 400:
            return _5XX if status >= 500 else _4XX
        for check in request.other_checks:
            if check.failure(status, body) is not None:
                return _CHECK
        return None
