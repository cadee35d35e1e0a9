"""The fault proxy against a real loopback server: every fault as a client sees it, the control
API over real HTTP, and ``perfeng proxy`` as a process."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from perfeng.proxy.control import ControlServer
from perfeng.proxy.embedded import ProxyThread
from perfeng.proxy.server import FaultProxy
from perfeng.proxy.spec import parse_fault
from perfeng.testing.servers import FastServer, serve_in_thread

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FastServer]:
    with serve_in_thread(FastServer()) as server:
        yield server


@pytest.fixture
def proxy(upstream: FastServer) -> Iterator[ProxyThread]:
    with ProxyThread(FaultProxy(("127.0.0.1", upstream.port), seed=1)) as running:
        yield running


def _get(address: tuple[str, int], path: str = "/", timeout: float = 5.0) -> tuple[bytes, int]:
    """One HTTP/1.0 request on a fresh connection: (everything until EOF, the number of reads)."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks), len(chunks)


def _timed(address: tuple[str, int], path: str = "/") -> float:
    began = time.perf_counter()
    body, _ = _get(address, path)
    assert body.endswith(b"ok\n") or b"200 OK" in body
    return time.perf_counter() - began


def test_no_fault_forwards_the_bytes(proxy: ProxyThread, upstream: FastServer) -> None:
    direct, _ = _get(("127.0.0.1", upstream.port), "/big?bytes=100000")
    through, _ = _get(proxy.address, "/big?bytes=100000")
    assert through == direct and len(through) > 100_000


def test_latency_is_added(proxy: ProxyThread) -> None:
    proxy.add("slow", parse_fault("latency=150ms"))
    assert 0.14 <= _timed(proxy.address) < 2.0
    proxy.remove("slow")
    assert _timed(proxy.address) < 0.14


def test_latency_upstream_only(proxy: ProxyThread) -> None:
    proxy.add("slow", parse_fault("latency=150ms/up"))
    assert 0.14 <= _timed(proxy.address) < 2.0


def test_reset_is_a_tcp_rst(proxy: ProxyThread) -> None:
    proxy.add("rst", parse_fault("reset"))
    with pytest.raises(ConnectionResetError):
        _get(proxy.address)
    assert proxy.call(lambda: proxy.proxy.stats.resets) >= 1


def test_reset_share_touches_about_that_share(proxy: ProxyThread) -> None:
    proxy.add("rst", parse_fault("reset@50%"))
    outcomes = []
    for _ in range(40):
        try:
            _get(proxy.address)
            outcomes.append(True)
        except ConnectionResetError:
            outcomes.append(False)
    assert 8 <= outcomes.count(False) <= 32  # binomial(40, 0.5): outside is < 1e-4


def test_down_refuses_then_recovers(proxy: ProxyThread) -> None:
    proxy.add("down", parse_fault("down"))
    with pytest.raises((ConnectionResetError, ConnectionRefusedError, BrokenPipeError)):
        body, _ = _get(proxy.address)
        assert body  # an accept-and-RST may also read as an empty answer
    assert proxy.call(lambda: proxy.proxy.stats.refused) >= 1
    proxy.remove("down")
    assert _timed(proxy.address) < 2.0


def test_down_resets_open_keepalive_connections(proxy: ProxyThread) -> None:
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).endswith(b"ok\n")
        proxy.add("down", parse_fault("down"))
        with pytest.raises(ConnectionResetError):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536) == b"x"  # an RST arrives instead


def test_slicer_delivers_the_same_bytes_in_more_reads(
    proxy: ProxyThread, upstream: FastServer
) -> None:
    direct, direct_reads = _get(("127.0.0.1", upstream.port), "/big?bytes=4000")
    proxy.add("slices", parse_fault("slicer=500B,delay=5ms"))
    sliced, reads = _get(proxy.address, "/big?bytes=4000")
    assert sliced == direct
    assert reads >= 6 > direct_reads


def test_bandwidth_caps_throughput(proxy: ProxyThread) -> None:
    proxy.add("thin", parse_fault("bandwidth=200KB/s"))
    began = time.perf_counter()
    body, _ = _get(proxy.address, "/big?bytes=100000")
    elapsed = time.perf_counter() - began
    assert len(body) > 100_000
    assert 0.4 <= elapsed < 3.0  # 100 kB at 200 kB/s: 0.5 s


def test_timeout_holds_then_closes(proxy: ProxyThread) -> None:
    proxy.add("hold", parse_fault("timeout=300ms"))
    began = time.perf_counter()
    body, _ = _get(proxy.address)
    assert body == b""
    assert 0.25 <= time.perf_counter() - began < 3.0


def test_timeout_without_a_value_holds_silent(proxy: ProxyThread) -> None:
    proxy.add("hold", parse_fault("timeout"))
    with pytest.raises(TimeoutError):
        _get(proxy.address, timeout=0.5)


def test_slow_close_holds_the_close(proxy: ProxyThread) -> None:
    proxy.add("linger", parse_fault("slow-close=300ms"))
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        began = time.perf_counter()
        while sock.recv(65536):
            pass
        held = time.perf_counter() - began
    assert b"close-delimited" in first
    assert 0.25 <= held < 3.0


# ---- the control API ------------------------------------------------------------------------


def _api(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_control_api(proxy: ProxyThread) -> None:
    async def start() -> ControlServer:
        return await ControlServer(proxy.proxy, ("127.0.0.1", 0)).start()

    import asyncio

    control = asyncio.run_coroutine_threadsafe(start(), proxy.loop).result(5)
    base = "http://{}:{}".format(*control.address)
    assert _api(base, "GET", "/faults") == (200, {"faults": []})
    status, added = _api(base, "POST", "/faults", {"name": "slow", "fault": "latency=150ms"})
    assert status == 201 and added["latency_ms"] == 150.0
    assert 0.14 <= _timed(proxy.address) < 2.0
    status, _ = _api(base, "POST", "/faults", {"kind": "reset", "share": 0.5})
    assert status == 201
    assert [f["name"] for f in _api(base, "GET", "/faults")[1]["faults"]] == ["slow", "reset"]
    assert _api(base, "POST", "/faults", {"name": "slow", "fault": "down"})[0] == 409
    status, error = _api(base, "POST", "/faults", {"fault": "latency=1ms@"})
    assert status == 400 and "column 13" in error["error"]
    assert _api(base, "POST", "/faults", {"kind": "latency", "bogus": 1})[0] == 400
    assert _api(base, "DELETE", "/faults/reset") == (204, None)
    assert _api(base, "DELETE", "/faults/reset")[0] == 404
    status, stats = _api(base, "GET", "/stats")
    assert status == 200 and stats["connections"] >= 1 and stats["bytes_down"] > 0
    assert _api(base, "GET", "/nowhere")[0] == 404


def test_perfeng_proxy_process(upstream: FastServer) -> None:
    argv = [sys.executable, "-m", "perfeng", "proxy", "--upstream", f"127.0.0.1:{upstream.port}"]
    argv += ["--control", "127.0.0.1:0", "--fault", "latency=150ms"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        listen = process.stdout.readline().split()[2]
        control = process.stdout.readline().split()[1]
        host, port = listen.split(":")
        assert 0.14 <= _timed((host, int(port))) < 2.0
        _status, listed = _api(control.removesuffix("/faults"), "GET", "/faults")
        assert [f["name"] for f in listed["faults"]] == ["latency"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_perfeng_proxy_bad_fault_is_one_line() -> None:
    argv = [sys.executable, "-m", "perfeng", "proxy", "--upstream", "127.0.0.1:9"]
    done = subprocess.run([*argv, "--fault", "latncy=1ms"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "column 1" in done.stderr


def _answer_after_eof(listener: socket.socket) -> None:
    """Read until the client's FIN, then answer: a service that needs the half-close."""
    conn, _ = listener.accept()
    with conn:
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        time.sleep(0.05)
        conn.sendall(b"got %d bytes" % len(received))


@pytest.mark.parametrize("fault", [None, "latency=50ms/up"])
def test_a_half_close_reaches_the_service(fault: str | None) -> None:
    import threading

    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = threading.Thread(target=_answer_after_eof, args=(listener,), daemon=True)
        server.start()
        upstream = ("127.0.0.1", listener.getsockname()[1])
        with ProxyThread(FaultProxy(upstream)) as running:
            if fault:
                running.add("slow", parse_fault(fault))
            with socket.create_connection(running.address, timeout=5) as sock:
                sock.sendall(b"x" * 1000)
                sock.shutdown(socket.SHUT_WR)
                answer = sock.recv(65536)
        server.join(5)
    assert answer == b"got 1000 bytes"
