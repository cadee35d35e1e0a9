"""Sanity checks of the loopback test targets in ``perfeng.testing.servers``.

Loopback only, stdlib clients only, every test bounded to a few seconds.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.testing.servers import (
    BrokenServer,
    DelayServer,
    FastServer,
    StallServer,
    closed_port,
    encode_response,
    make_self_signed_cert,
    make_server,
    percentile,
    serve_in_thread,
    start_in_process,
)

pytestmark = pytest.mark.timeout(30)


def _get(port: int, path: str, **kwargs: object) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(kwargs.pop("method", "GET"), path, **kwargs)  # type: ignore[arg-type]
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def _raw(port: int, request: bytes, timeout: float = 3.0) -> bytes:
    """Send ``request`` bytes, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _timed_get(port: int, path: str = "/") -> float:
    start = time.perf_counter()
    response, _ = _get(port, path)
    assert response.status == 200
    return time.perf_counter() - start


@pytest.fixture(params=[True, False], ids=["uvloop", "asyncio"])
def fast(request: pytest.FixtureRequest) -> Iterator[FastServer]:
    with serve_in_thread(FastServer(), use_uvloop=request.param) as server:
        yield server


# ----------------------------------------------------------------------------- fast


def test_fast_answers_ok_on_any_path_and_counts_requests(fast: FastServer) -> None:
    assert fast.url == f"http://127.0.0.1:{fast.port}"
    for path in ("/", "/anything/else?x=1"):
        response, body = _get(fast.port, path)
        assert (response.status, body) == (200, b"ok\n")
        assert response.getheader("Content-Length") == "3"
    assert fast.requests == 2


def test_fast_status_codes(fast: FastServer) -> None:
    response, body = _get(fast.port, "/status/503")
    assert (response.status, body) == (503, b"503 Service Unavailable\n")
    for code in (204, 304):
        response, body = _get(fast.port, f"/status/{code}")
        assert (response.status, body) == (code, b"")
        assert response.getheader("Content-Length") is None
    assert _get(fast.port, "/status/abc")[0].status == 400


def test_fast_echo_json_and_bytes(fast: FastServer) -> None:
    payload = b'{"name": "perfeng"}'
    response, body = _get(
        fast.port,
        "/echo",
        method="POST",
        body=payload,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status, body) == (200, payload)
    assert response.getheader("Content-Type") == "application/json"
    response, body = _get(fast.port, "/echo", method="POST", body=b"\x00\x01")
    assert body == b"\x00\x01"


def test_fast_json_redirect_and_headers(fast: FastServer) -> None:
    response, body = _get(fast.port, "/json")
    assert json.loads(body) == {"ok": True, "token": "abc123", "items": [{"id": 7}]}
    response, _ = _get(fast.port, "/redirect")
    assert (response.status, response.getheader("Location")) == (302, "/json")
    _, body = _get(fast.port, "/headers", headers={"X-Trace-Id": "t-1"})
    assert json.loads(body)["x-trace-id"] == "t-1"


def test_fast_chunked_sends_three_chunks(fast: FastServer) -> None:
    raw = _raw(fast.port, b"GET /chunked HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert b"Content-Length" not in head
    assert body == b"4\r\none\n\r\n4\r\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n"
    assert _get(fast.port, "/chunked")[1] == b"one\ntwo\nthree\n"


def test_fast_close_delimited_body(fast: FastServer) -> None:
    raw = _raw(fast.port, b"GET /close HTTP/1.1\r\nHost: t\r\n\r\n")  # returns once closed
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Length" not in head and b"chunked" not in head
    assert body == b"close-delimited body\n"


def test_fast_delay_is_not_blocking(fast: FastServer) -> None:
    assert _timed_get(fast.port, "/delay?ms=100") >= 0.095
    # a delayed answer on one connection does not hold up another connection
    slow = http.client.HTTPConnection("127.0.0.1", fast.port, timeout=5)
    slow.request("GET", "/delay?ms=500")
    assert _timed_get(fast.port) < 0.25
    assert slow.getresponse().read() == b"ok\n"
    slow.close()


@pytest.mark.parametrize("size", [0, 1000, 200_000])
def test_fast_big_body(fast: FastServer, size: int) -> None:
    response, body = _get(fast.port, f"/big?bytes={size}")
    assert response.getheader("Content-Length") == str(size)
    assert len(body) == size


def test_fast_pipelined_answers_keep_order_and_connection_close(fast: FastServer) -> None:
    requests = (
        b"GET /delay?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        b"GET /never HTTP/1.1\r\nHost: t\r\n\r\n"  # after Connection: close: ignored
    )
    raw = _raw(fast.port, requests)
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    assert raw.index(b"ok\n") < raw.index(b'"token"')
    assert b"Connection: close" in raw


def test_fast_keep_alive_reuses_the_connection(fast: FastServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fast.port, timeout=5)
    for _ in range(5):
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok\n"
    conn.close()
    assert fast.requests == 5


def test_fast_bad_request_gets_400(fast: FastServer) -> None:
    assert _raw(fast.port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")


# ----------------------------------------------------------------------------- delay


def test_delay_server_holds_each_answer_and_records_hold_times() -> None:
    with serve_in_thread(DelayServer(delay_ms=10)) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        latencies = []
        for _ in range(20):
            start = time.perf_counter()
            conn.request("GET", "/")
            conn.getresponse().read()
            latencies.append(time.perf_counter() - start)
        conn.close()
    assert min(latencies) >= 0.009
    assert server.hold_count == 20
    assert 9.0 <= server.hold_percentile_ms(50) <= 25.0
    assert min(server.hold_times_ms()) >= 9.0


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        percentile([], 50)


# ----------------------------------------------------------------------------- stall


def test_stall_freeze_holds_answers_until_it_ends() -> None:
    with serve_in_thread(StallServer(delay_ms=1)) as server:
        assert _timed_get(server.port) < 0.2
        server.freeze(0.5)
        assert server.frozen
        assert _timed_get(server.port) >= 0.45  # a new request waits out the freeze
        assert not server.frozen
        assert _timed_get(server.port) < 0.2


def test_stall_freeze_holds_an_answer_already_in_flight() -> None:
    with serve_in_thread(StallServer(delay_ms=200)) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        start = time.perf_counter()
        conn.request("GET", "/")
        time.sleep(0.05)
        server.freeze(0.6)
        conn.getresponse().read()
        assert time.perf_counter() - start >= 0.6
        conn.close()


def test_stall_at_freezes_automatically_after_the_first_request() -> None:
    server = StallServer(delay_ms=1, stall_at_s=0.2, stall_for_s=0.4)
    with serve_in_thread(server):
        worst = 0.0
        deadline = time.perf_counter() + 0.9
        while time.perf_counter() < deadline:
            worst = max(worst, _timed_get(server.port))
    assert 0.2 <= worst <= 0.8
    assert server.freezes == 1


# ----------------------------------------------------------------------------- broken


@pytest.fixture(params=[True, False], ids=["uvloop", "asyncio"])
def broken(request: pytest.FixtureRequest) -> Iterator[BrokenServer]:
    with serve_in_thread(BrokenServer(), use_uvloop=request.param) as server:
        yield server


def test_broken_reset_sends_partial_headers_then_rst(broken: BrokenServer) -> None:
    with socket.create_connection(("127.0.0.1", broken.port), timeout=3) as sock:
        sock.sendall(b"GET /reset HTTP/1.1\r\nHost: t\r\n\r\n")
        received = b""
        with pytest.raises(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    # Linux may drop the partial bytes when the RST arrives first; either way, never a full head
    full_head = encode_response(200, b"ok\n", head_only=True)
    assert full_head.startswith(received)
    assert len(received) < len(full_head)


def test_broken_garbage(broken: BrokenServer) -> None:
    assert _raw(broken.port, b"GET /garbage HTTP/1.1\r\nHost: t\r\n\r\n") == (
        b"NOT HTTP AT ALL\r\n\r\n"
    )


def test_broken_hang_never_answers(broken: BrokenServer) -> None:
    with pytest.raises(TimeoutError):
        _raw(broken.port, b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n", timeout=0.3)
    assert broken.requests == 1


def test_broken_eof_closes_without_answer(broken: BrokenServer) -> None:
    start = time.perf_counter()
    assert _raw(broken.port, b"GET /eof HTTP/1.1\r\nHost: t\r\n\r\n") == b""
    assert time.perf_counter() - start < 1.0


def test_broken_slow_body_drips(broken: BrokenServer) -> None:
    with socket.create_connection(("127.0.0.1", broken.port), timeout=2) as sock:
        sock.sendall(b"GET /slow-body HTTP/1.1\r\nHost: t\r\n\r\n")
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 OK") and head.endswith(b"\r\n\r\n")
        start = time.perf_counter()
        assert sock.recv(10) == b"x"
        assert sock.recv(10) == b"x"
        assert 0.2 <= time.perf_counter() - start <= 1.0


def test_broken_huge_streams_with_bounded_memory_and_stops_on_close(
    broken: BrokenServer,
) -> None:
    with socket.create_connection(("127.0.0.1", broken.port), timeout=3) as sock:
        sock.sendall(b"GET /huge HTTP/1.1\r\nHost: t\r\n\r\n")
        head = sock.recv(65536)
        assert b"Content-Length: 1073741824" in head
        got = 0
        while got < 4 << 20:
            got += len(sock.recv(1 << 20))
        time.sleep(0.5)  # not reading: the server must pause, not buffer the gigabyte
        assert broken.buffered_bytes() < 1 << 20
    # the client closed; the server stops streaming and still serves others
    assert _get(broken.port, "/")[1] == b"ok\n"


def test_stop_is_quick_with_hung_and_streaming_clients() -> None:
    server = BrokenServer()
    with serve_in_thread(server):
        hung = socket.create_connection(("127.0.0.1", server.port), timeout=3)
        hung.sendall(b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
        huge = socket.create_connection(("127.0.0.1", server.port), timeout=3)
        huge.sendall(b"GET /huge HTTP/1.1\r\nHost: t\r\n\r\n")
        huge.recv(65536)
        time.sleep(0.1)
        start = time.perf_counter()
    assert time.perf_counter() - start < 2.0
    assert hung.recv(10) == b""  # the server closed the hung connection
    hung.close()
    huge.close()


def test_closed_port_refuses() -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", closed_port()), timeout=2)


# ----------------------------------------------------------------------------- tls


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        reason = "the openssl command is not installed; TLS target not tested"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(reason)
        pytest.skip(reason)
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


def test_tls_serves_fast_behaviour(certificate: tuple[Path, Path]) -> None:
    certfile, keyfile = certificate
    server = make_server("tls", certfile=certfile, keyfile=keyfile)
    with serve_in_thread(server):
        assert server.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(certfile))
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=5, context=context)
        conn.request("GET", "/json")
        assert json.loads(conn.getresponse().read())["token"] == "abc123"
        conn.close()


# ----------------------------------------------------------------------------- processes


def test_start_in_process_answers_and_stops() -> None:
    handle = start_in_process("delay", delay_ms=30)
    try:
        assert handle.pid != os.getpid()
        assert handle.url == f"http://127.0.0.1:{handle.port}"
        assert _timed_get(handle.port) >= 0.029
    finally:
        assert handle.stop() == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", handle.port), timeout=2)


def test_start_in_process_reports_a_failed_start() -> None:
    with pytest.raises(RuntimeError, match="certfile"):
        start_in_process("tls")


def test_module_entry_point_prints_listening_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "perfeng.testing.servers", "fast"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith("listening ")
        assert _get(int(line.split()[1]), "/")[1] == b"ok\n"
    finally:
        process.terminate()
        assert process.wait(5) == 0
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
