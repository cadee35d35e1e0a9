"""A plain ASGI application whose endpoints each model one behaviour a performance engineer
meets. No framework: each behaviour is a few lines, and what it models is said beside it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from perfeng.demo.page import PAGE_ROUTES

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[["Demo"], Awaitable[tuple[int, bytes]]]

POOL_SIZE = 4  # /pool: "database connections"
FLAKY_LIMIT = 8  # /flaky: concurrent requests it serves well
FLAKY_HOLD_S = 0.020  # /flaky: time each request holds one of those places
LEDGER_WORKERS = 8  # /lock: worker threads, as a framework runs its synchronous views


def _calibrate(target_s: float = 0.005) -> int:
    """Loop count that burns ``target_s`` of CPU in pure Python on this machine."""
    n, spent = 10_000, 0.0
    while spent < 0.002:
        start = time.process_time()
        _burn(n)
        spent = time.process_time() - start
        if spent < 0.002:
            n *= 2
    return max(int(n * target_s / spent), 1)


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


class Demo:
    """State shared by the endpoints of one service."""

    def __init__(self) -> None:
        self.cpu_loops = _calibrate()
        self.ledger_lock = threading.Lock()
        self.workers = ThreadPoolExecutor(LEDGER_WORKERS, thread_name_prefix="ledger")
        self.pool = asyncio.Semaphore(POOL_SIZE)
        self.flaky_in_flight = 0
        self.leaked: list[bytes] = []
        self.requests = 0
        self.in_flight = 0  # requests inside the application now (/stats counts itself)

    async def fast(self) -> tuple[int, bytes]:
        # About 1 ms: a cheap lookup.
        await asyncio.sleep(0.001)
        return 200, b"fast\n"

    async def io(self) -> tuple[int, bytes]:
        # 20 ms waiting on I/O: latency without CPU, so it scales with concurrency.
        await asyncio.sleep(0.020)
        return 200, b"io\n"

    async def cpu(self) -> tuple[int, bytes]:
        # ~5 ms of pure-Python CPU work holding the event loop: saturates one core at ~200/s.
        _burn(self.cpu_loops)
        return 200, b"cpu\n"

    async def lock_(self) -> tuple[int, bytes]:
        # A synchronous handler on a worker thread writes to a shared ledger under one global
        # lock for 5 ms: throughput plateaus near 1/5 ms = 200/s while the CPU stays almost
        # idle (the work inside is waiting, not computing) and the threads queue on the lock.
        await asyncio.get_running_loop().run_in_executor(self.workers, self.write_ledger)
        return 200, b"lock\n"

    def write_ledger(self) -> None:
        with self.ledger_lock:
            time.sleep(0.005)  # the slow write, done while every other writer waits

    async def pool_(self) -> tuple[int, bytes]:
        # A bounded pool of 4 "database connections", each held ~10 ms: past 400/s requests
        # queue for a connection and latency grows with the queue (Little's law).
        async with self.pool:
            await asyncio.sleep(0.010)
        return 200, b"pool\n"

    async def flaky(self) -> tuple[int, bytes]:
        # Fine up to 8 concurrent requests of 20 ms each (400/s); beyond that it sheds load
        # with 503s, as a server with a fixed number of worker slots and no queue does.
        self.flaky_in_flight += 1
        try:
            if self.flaky_in_flight > FLAKY_LIMIT:
                return 503, b"overloaded\n"
            await asyncio.sleep(FLAKY_HOLD_S)
            return 200, b"flaky\n"
        finally:
            self.flaky_in_flight -= 1

    async def leak(self) -> tuple[int, bytes]:
        # Keeps 1 KiB per request forever: memory grows with traffic.
        self.leaked.append(bytes(1024))
        return 200, b"leak\n"

    async def stats(self) -> tuple[int, bytes]:
        body = {
            "requests": self.requests,
            "in_flight": self.in_flight,
            "leaked_bytes": 1024 * len(self.leaked),
            "cpu_loops": self.cpu_loops,
        }
        return 200, json.dumps(body).encode()

    async def index(self) -> tuple[int, bytes]:
        paths = sorted([*ROUTES, "/page"])
        return 200, ("perfeng demo service: " + " ".join(paths) + "\n").encode()


ROUTES: dict[str, Handler] = {
    "/": Demo.index,
    "/fast": Demo.fast,
    "/io": Demo.io,
    "/cpu": Demo.cpu,
    "/lock": Demo.lock_,
    "/pool": Demo.pool_,
    "/flaky": Demo.flaky,
    "/leak": Demo.leak,
    "/stats": Demo.stats,
}


def make_app(state: Demo | None = None) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    demo = state

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal demo
        if scope["type"] == "lifespan":
            demo = demo or Demo()  # calibrate /cpu before the first request, not during it
            await _lifespan(receive, send)
            return
        if demo is None:
            demo = Demo()
        demo.requests += 1
        page = PAGE_ROUTES.get(scope["path"])
        if page is not None:
            await _send(send, 200, page[0], await page[1]())
            return
        handler = ROUTES.get(scope["path"])
        demo.in_flight += 1
        try:
            status, body = (404, b"not found\n") if handler is None else await handler(demo)
        finally:
            demo.in_flight -= 1
        kind = b"application/json" if scope["path"] == "/stats" else b"text/plain"
        await _send(send, status, kind, body)

    return app


async def _send(send: Send, status: int, kind: bytes, body: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]}
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
