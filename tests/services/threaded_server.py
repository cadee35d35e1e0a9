"""The six test endpoints on the standard library's ``ThreadingHTTPServer``: one process, a
new thread per connection, no framework and no third-party server.

Run from the repository root (binds 127.0.0.1 only; SIGTERM or SIGINT shut it down)::

    python -m tests.services.threaded_server --port PORT
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: many requests per connection
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

    def do_GET(self) -> None:
        handler = ROUTES.get(self.path.split("?", 1)[0])
        status, body = (404, b"not found\n") if handler is None else handler()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # no line per request on stderr


class Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections do not hold up shutdown
    request_queue_size = 128  # listen backlog: the default of 5 drops bursts of connects


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = Server(("127.0.0.1", args.port), Handler)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serving = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    serving.start()
    stop.wait()
    server.shutdown()  # serve_forever returns; then the listening socket is closed
    server.server_close()


if __name__ == "__main__":
    main()
