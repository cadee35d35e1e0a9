"""The six test endpoints on the standard library's ``ThreadingHTTPServer``: one process, a
new thread per connection, no framework and no third-party server. What each endpoint does
is in ``behaviours``; this file is the request handler, the server and its main.

Run from the repository root (binds 127.0.0.1 only; SIGTERM or SIGINT shut it down)::

    python -m tests.services.threaded_server --port PORT
"""

from __future__ import annotations

import argparse
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from tests.services.behaviours import respond


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: many requests per connection
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

    def do_GET(self) -> None:
        status, body = respond(self.path.split("?", 1)[0])
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
