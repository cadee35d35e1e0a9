"""Serving the demo application with uvicorn on 127.0.0.1, reporting the bound port."""

from __future__ import annotations

import errno
import http.client
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from perfeng.errors import UsageError

HOST = "127.0.0.1"


def bind(port: int, host: str = HOST) -> socket.socket:
    """The listening socket (port 0: any free port); a clear error when the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {host} is already in use; pick another with "
                "--port, or --port 0 for any free one"
            ) from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(4096)
    return sock


def serve(sock: socket.socket, state: Any = None) -> None:
    """Run until interrupted (uvicorn handles SIGINT and SIGTERM)."""
    import uvicorn

    from perfeng.demo.app import make_app

    config = uvicorn.Config(
        make_app(state),
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class DemoProcess:
    """The demo service in a child process, for ``perfeng demo`` and tests."""

    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_process(port: int = 0, timeout: float = 20.0) -> DemoProcess:
    """Start ``perfeng demo serve`` and wait for the line announcing its port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfeng", "demo", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("perfeng demo service on"):
        proc.kill()
        _, err = proc.communicate(timeout=timeout)
        raise UsageError(f"the demo service did not start: {err.strip() or line.strip()}")
    service = DemoProcess(proc, int(line.split(":")[2].split()[0].strip("/")))
    _wait_until_answering(service, timeout)
    return service


def _wait_until_answering(service: DemoProcess, timeout: float) -> None:
    """The port is bound before uvicorn accepts on it; wait for a first answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, service.port, timeout=1)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.05)
    service.stop()
    raise UsageError("the demo service did not answer in time")
