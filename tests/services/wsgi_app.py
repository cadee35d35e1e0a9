"""The six test endpoints as a plain WSGI application (no framework), in the style of a
Flask/Django app served by gunicorn's threaded worker: one process, a pool of threads.

Run from the repository root::

    python -m gunicorn --bind 127.0.0.1:PORT --workers 1 --threads 16 \
        --worker-class gthread tests.services.wsgi_app:app

16 threads, not 8: gthread hands at most ``--threads`` requests to the app at once and
queues the rest itself, so with 8 threads /shed (limit 8) would never see a ninth request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

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


def fast() -> tuple[int, bytes]:
    # No work at all: the floor of the server's own overhead.
    return 200, b"fast\n"


def cpu() -> tuple[int, bytes]:
    # ~5 ms of pure-Python CPU under the GIL: one core's worth, ~200/s however many threads.
    return 200, f"cpu {checksum_orders(CPU_LOOPS)}\n".encode()


def serial() -> tuple[int, bytes]:
    # One global lock held 5 ms while sleeping: ~200/s at most, with the CPU idle.
    update_inventory()
    return 200, b"serial\n"


def pool() -> tuple[int, bytes]:
    # 4 "database connections" held 10 ms each: ~400/s, then requests queue for a connection.
    query_database()
    return 200, b"pool\n"


def shed() -> tuple[int, bytes]:
    # 8 slots of 20 ms and no queue: past 8 in flight it answers 503 at once (load shedding).
    return (200, b"shed\n") if reserve_slot() else (503, b"overloaded\n")


def leak() -> tuple[int, bytes]:
    # Keeps 1 KiB per request forever: memory grows with traffic.
    leaked.append(bytes(1024))
    return 200, b"leak\n"


ROUTES: dict[str, Callable[[], tuple[int, bytes]]] = {
    "/fast": fast,
    "/cpu": cpu,
    "/serial": serial,
    "/pool": pool,
    "/shed": shed,
    "/leak": leak,
}
REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    handler = ROUTES.get(environ.get("PATH_INFO", ""))
    status, body = (404, b"not found\n") if handler is None else handler()
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    start_response(f"{status} {REASONS[status]}", headers)
    return [body]
