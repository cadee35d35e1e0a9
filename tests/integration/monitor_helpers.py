"""What the monitoring tests share: a target that fails on demand, a webhook receiver, and a
`perfeng monitor` process whose stderr lines can be awaited."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from perfeng.testing.servers import FastServer, Reply, Request, encode_response, serve_in_thread


class Switchable(FastServer):
    """``/svc`` answers 200, or 500 while ``failing``; ``delay_s`` holds each answer."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False
        self.delay_s = 0.0
        self.routes["/svc"] = self._svc

    def _svc(self, req: Request) -> Reply:
        status = 500 if self.failing else 200
        return Reply(encode_response(status, b"svc\n"), after_s=self.delay_s)


@contextlib.contextmanager
def switchable() -> Iterator[Switchable]:
    with serve_in_thread(Switchable()) as server:
        yield server


class Hooks:
    """A webhook receiver on loopback: the JSON bodies it was sent, in order."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.status = status
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if hooks.status == 200:
                    hooks.bodies.put(json.loads(body))
                self.send_response(hooks.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout_s: float) -> dict[str, Any]:
        return self.bodies.get(timeout=timeout_s)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MonitorProcess:
    """``perfeng monitor ...`` in a child process; stderr read line by line on a thread."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "perfeng", "monitor", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout_s: float) -> str:
        """The first line (seen or to come) containing ``text``."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if text in line:
                    return line
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0 or (self.process.poll() is not None and self._new.empty()):
                raise AssertionError(f"no line with {text!r} in:\n" + "\n".join(self.lines))
            with contextlib.suppress(queue.Empty):
                self._new.get(timeout=min(left, 0.5))

    def metrics_url(self) -> str:
        return self.wait_for("metrics on ", 30).split("metrics on ")[1].strip()

    def stop(self, timeout_s: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout_s)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def scrape(url: str) -> dict[str, float]:
    """``name{labels}`` -> value from a Prometheus text page."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values
