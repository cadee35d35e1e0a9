"""The six test endpoints as a plain ASGI application (no framework), in the style of an
asyncio service under uvicorn: one process, one event loop. Its /serial shows the classic
asyncio mistake, a blocking call inside an async handler, which stalls every request.

/fast, /cpu and /leak are ``behaviours``' own, run on the loop as they are; /serial, /pool
and /shed are written here the asyncio way (a blocking call, an ``asyncio.Semaphore``, a
counter that needs no lock on one loop).

Run from the repository root::

    python -m uvicorn tests.services.asgi_app:app --host 127.0.0.1 --port PORT --no-access-log
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.services.behaviours import SHED_LIMIT, Response, respond, shed_answer

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

connections = asyncio.Semaphore(4)  # binds to the running loop on first use (3.10+)
slots_in_flight = 0


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


async def serial() -> Response:
    # A synchronous 5 ms sleep in an async handler: the whole loop waits, ~200/s, CPU idle.
    update_inventory()
    return 200, b"serial\n"


async def pool() -> Response:
    # 4 "database connections" held 10 ms each: ~400/s, then requests queue for a connection.
    await query_database()
    return 200, b"pool\n"


async def shed() -> Response:
    # 8 slots of 20 ms and no queue: past 8 in flight it answers 503 at once.
    return shed_answer(await reserve_slot())


ASYNC_ROUTES: dict[str, Callable[[], Awaitable[Response]]] = {
    "/serial": serial,
    "/pool": pool,
    "/shed": shed,
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    handler = ASYNC_ROUTES.get(scope["path"])
    status, body = respond(scope["path"]) if handler is None else await handler()
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
