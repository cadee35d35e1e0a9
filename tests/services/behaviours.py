"""What the six test endpoints do, written once for the three services: the CPU work, the
lock, the bounded pool, the concurrency limit and the memory kept. The synchronous servers
(``wsgi_app``, ``threaded_server``) serve ``respond`` as it is; ``asgi_app`` serves it too
but for the three endpoints an event loop does its own way.

The function names below are the ones a profile of a service shows (``checksum_orders``,
``update_inventory``, ``query_database``, ``reserve_slot``): the tests look for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Response = tuple[int, bytes]  # status, body

SHED_LIMIT = 8  # /shed: concurrent requests served well
NOT_FOUND: Response = (404, b"not found\n")


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
inventory_lock = threading.Lock()
connections = threading.BoundedSemaphore(4)
slots_lock = threading.Lock()
slots_in_flight = 0
leaked: list[bytes] = []


def update_inventory() -> None:
    with inventory_lock:
        time.sleep(0.005)  # the slow write, done while every other writer waits


def query_database() -> None:
    with connections:
        time.sleep(0.010)  # the query, holding one of the 4 connections


def reserve_slot() -> bool:
    """Take one of the 8 slots for 20 ms; False at once when all are taken."""
    global slots_in_flight
    with slots_lock:
        if slots_in_flight >= SHED_LIMIT:
            return False
        slots_in_flight += 1
    try:
        time.sleep(0.020)
        return True
    finally:
        with slots_lock:
            slots_in_flight -= 1


def shed_answer(admitted: bool) -> Response:
    """/shed's answer: served, or refused at once (load shedding)."""
    return (200, b"shed\n") if admitted else (503, b"overloaded\n")


def fast() -> Response:
    # No work at all: the floor of the server's own overhead.
    return 200, b"fast\n"


def cpu() -> Response:
    # ~5 ms of pure-Python CPU under the GIL (in asgi_app, holding the event loop): one
    # core's worth, ~200/s however many threads.
    return 200, f"cpu {checksum_orders(CPU_LOOPS)}\n".encode()


def serial() -> Response:
    # One global lock held 5 ms while sleeping: ~200/s at most, with the CPU idle.
    update_inventory()
    return 200, b"serial\n"


def pool() -> Response:
    # 4 "database connections" held 10 ms each: ~400/s, then requests queue for a connection.
    query_database()
    return 200, b"pool\n"


def shed() -> Response:
    # 8 slots of 20 ms and no queue: past 8 in flight it answers 503 at once.
    return shed_answer(reserve_slot())


def leak() -> Response:
    # Keeps 1 KiB per request forever: memory grows with traffic.
    leaked.append(bytes(1024))
    return 200, b"leak\n"


ROUTES: dict[str, Callable[[], Response]] = {
    "/fast": fast,
    "/cpu": cpu,
    "/serial": serial,
    "/pool": pool,
    "/shed": shed,
    "/leak": leak,
}


def respond(path: str) -> Response:
    """The answer to a GET of ``path`` (no query string): its endpoint's, else 404."""
    handler = ROUTES.get(path)
    return NOT_FOUND if handler is None else handler()
