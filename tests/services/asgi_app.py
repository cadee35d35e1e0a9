"""The six test endpoints as a plain ASGI application (no framework), in the style of an
asyncio service under uvicorn: one process, one event loop. Its /serial shows the classic
asyncio mistake, a blocking call inside an async handler, which stalls every request.

Run from the repository root::

    python -m uvicorn tests.services.asgi_app:app --host 127.0.0.1 --port PORT --no-access-log
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

SHED_LIMIT = 8  # /shed: concurrent requests served well


def checksum_orders(n: int) -> int:
    """Pure-Python CPU work: a rolling checksum over ``n`` order numbers."""
    total = 0
    for order in range(n):
        total = (total * 31 + order) % 1_000_003
    return total


def _calibrate(target_s: float = 0.005) -> int:
    """Loop count that burns ``target_s`` of CPU in ``checksum_orders`` on this machine."""
    n, spent = 10_000, 0.0
    while spent < 0.002:
        start = time.process_time()
        checksum_orders(n)
        spent = time.process_time() - start
        if spent < 0.002:
            n *= 2
    return max(int(n * target_s / spent), 1)


CPU_LOOPS = _calibrate()
connections = asyncio.Semaphore(4)  # binds to the running loop on first use (3.10+)
slots_in_flight = 0
leaked: list[bytes] = []


def update_inventory() -> None:
    time.sleep(0.005)  # BLOCKING inside the event loop: nothing else runs for 5 ms


async def query_database() -> None:
    async with connections:
        await asyncio.sleep(0.010)  # the query, holding one of the 4 connections


async def reserve_slot() -> bool:
    """Take one of the 8 slots for 20 ms; False at once when all are taken."""
    global slots_in_flight
    if slots_in_flight >= SHED_LIMIT:
        return False
    slots_in_flight += 1  # one loop, no await in between: no lock needed
    try:
        await asyncio.sleep(0.020)
        return True
    finally:
        slots_in_flight -= 1


async def fast() -> tuple[int, bytes]:
    # No work at all: the floor of the server's own overhead.
    return 200, b"fast\n"


async def cpu() -> tuple[int, bytes]:
    # ~5 ms of pure-Python CPU holding the event loop: one core's worth, ~200/s.
    return 200, f"cpu {checksum_orders(CPU_LOOPS)}\n".encode()


async def serial() -> tuple[int, bytes]:
    # A synchronous 5 ms sleep in an async handler: the whole loop waits, ~200/s, CPU idle.
    update_inventory()
    return 200, b"serial\n"


async def pool() -> tuple[int, bytes]:
    # 4 "database connections" held 10 ms each: ~400/s, then requests queue for a connection.
    await query_database()
    return 200, b"pool\n"


async def shed() -> tuple[int, bytes]:
    # 8 slots of 20 ms and no queue: past 8 in flight it answers 503 at once (load shedding).
    return (200, b"shed\n") if await reserve_slot() else (503, b"overloaded\n")


async def leak() -> tuple[int, bytes]:
    # Keeps 1 KiB per request forever: memory grows with traffic.
    leaked.append(bytes(1024))
    return 200, b"leak\n"


ROUTES: dict[str, Callable[[], Awaitable[tuple[int, bytes]]]] = {
    "/fast": fast,
    "/cpu": cpu,
    "/serial": serial,
    "/pool": pool,
    "/shed": shed,
    "/leak": leak,
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    handler = ROUTES.get(scope["path"])
    status, body = (404, b"not found\n") if handler is None else await handler()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
