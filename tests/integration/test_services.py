"""The three test services (tests/services) in their own processes: each endpoint shows its
behaviour whatever the style (WSGI under gunicorn, ASGI under uvicorn, ThreadingHTTPServer).

Loopback only, bounded counts and timeouts; the bounds hold on a loaded 2-core machine.
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.services.launch import SERVICES, command

ROOT = Path(__file__).resolve().parents[2]  # the commands import tests.services.*
START_TIMEOUT_S = 30.0

pytestmark = pytest.mark.timeout(90)


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def server_pid(self) -> int:
        """The process that runs the application: gunicorn's worker, else the process itself."""
        if self.name != "wsgi":
            return self.process.pid
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (children := psutil.Process(self.process.pid).children()):
            assert time.monotonic() < deadline, "gunicorn started no worker"
            time.sleep(0.05)
        assert len(children) == 1
        pid: int = children[0].pid
        return pid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start(name: str, log: Path) -> Service:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(command(name, port), cwd=ROOT, stdout=out, stderr=out)
    service = Service(name, port, process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:  # ready when it answers, not merely when the port is bound (gunicorn's is early)
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if get(service, "/fast", timeout=2)[0] == 200:
                return service
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(service)
            pytest.fail(f"{name} did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")
        time.sleep(0.05)


def stop(service: Service) -> int:
    service.process.send_signal(signal.SIGTERM)
    try:
        return service.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait(timeout=15)
        raise


@pytest.fixture(scope="module", params=sorted(SERVICES))
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    name: str = request.param
    running = start(name, tmp_path_factory.mktemp(name) / "service.log")
    try:
        yield running
    finally:
        stop(running)


def get(service: Service, path: str, timeout: float = 10) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - started
    finally:
        conn.close()


def concurrently(service: Service, path: str, count: int) -> tuple[list[int], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda _: get(service, path), range(count)))
    return [status for status, _, _ in results], time.perf_counter() - started


@pytest.mark.parametrize(("path", "low_s", "high_s"), [("/fast", 0.0, 0.5), ("/cpu", 0.003, 0.5)])
def test_endpoint_latency(service: Service, path: str, low_s: float, high_s: float) -> None:
    status, body, seconds = get(service, path)
    assert status == 200
    assert body.startswith(path[1:].encode())
    assert low_s <= seconds <= high_s


def test_serial_runs_one_at_a_time(service: Service) -> None:
    statuses, seconds = concurrently(service, "/serial", 10)
    assert statuses == [200] * 10
    assert seconds >= 10 * 0.005 * 0.9  # one at a time through update_inventory


def test_pool_queues_beyond_its_size(service: Service) -> None:
    statuses, seconds = concurrently(service, "/pool", 12)
    assert statuses == [200] * 12
    assert seconds >= 3 * 0.010 * 0.9  # 12 requests through 4 connections: 3 rounds


def test_shed_refuses_past_its_limit(service: Service) -> None:
    count = 30
    barrier = threading.Barrier(count)

    def together(_: int) -> int:
        # Connect first, then send all at once, so the service really sees 30 at a time.
        conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        try:
            conn.connect()
            barrier.wait(timeout=10)
            conn.request("GET", "/shed")
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    with ThreadPoolExecutor(count) as pool:
        statuses = list(pool.map(together, range(count)))
    assert 503 in statuses
    assert 200 in statuses
    assert set(statuses) == {200, 503}
    assert get(service, "/shed")[0] == 200  # alone, it is fine


def test_leak_grows_the_server_memory(service: Service) -> None:
    server = psutil.Process(service.server_pid())
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)

    def leak(count: int) -> None:
        for _ in range(count):
            conn.request("GET", "/leak")
            response = conn.getresponse()
            response.read()
            assert response.status == 200

    try:
        leak(100)  # warm up: first allocations, connection open
        local_port = conn.sock.getsockname()[1]
        before = server.memory_info().rss
        leak(2000)
        after = server.memory_info().rss
        assert conn.sock.getsockname()[1] == local_port  # one keep-alive connection throughout
    finally:
        conn.close()
    assert after - before >= 1024 * 1024  # 2000 x 1 KiB kept, less allocator slack


def test_unknown_path_is_404(service: Service) -> None:
    assert get(service, "/nope")[0] == 404


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_sigterm_stops_it(name: str, tmp_path: Path) -> None:
    service = start(name, tmp_path / "service.log")
    returncode = stop(service)
    assert returncode in (0, -signal.SIGTERM), service.log.read_text()  # uvicorn re-raises it
    with socket.socket() as sock:  # nothing listens on the port any more
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", service.port))
