"""The demo service in its own process: each endpoint shows its behaviour."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from perfeng.demo.server import DemoProcess


def get(service: DemoProcess, path: str) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, time.perf_counter() - started


def concurrently(service: DemoProcess, path: str, count: int) -> tuple[list[int], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda _: get(service, path), range(count)))
    return [status for status, _, _ in results], time.perf_counter() - started


@pytest.mark.parametrize(
    ("path", "low_s", "high_s"),
    [("/fast", 0.0, 0.5), ("/io", 0.019, 0.5), ("/cpu", 0.003, 0.5), ("/pool", 0.009, 0.5)],
)
def test_endpoint_latency(demo: DemoProcess, path: str, low_s: float, high_s: float) -> None:
    status, _, seconds = get(demo, path)
    assert status == 200
    assert low_s <= seconds <= high_s


def test_lock_serialises_requests(demo: DemoProcess) -> None:
    statuses, seconds = concurrently(demo, "/lock", 10)
    assert statuses == [200] * 10
    assert seconds >= 10 * 0.005 * 0.9  # one at a time through the critical section


def test_io_runs_concurrently(demo: DemoProcess) -> None:
    statuses, seconds = concurrently(demo, "/io", 10)
    assert statuses == [200] * 10
    assert seconds < 10 * 0.020  # waits overlap: no shared bottleneck


def test_pool_queues_beyond_its_size(demo: DemoProcess) -> None:
    statuses, seconds = concurrently(demo, "/pool", 12)
    assert statuses == [200] * 12
    assert seconds >= 3 * 0.010 * 0.9  # 12 requests through 4 connections: 3 rounds


def test_flaky_sheds_load_past_its_limit(demo: DemoProcess) -> None:
    count = 30
    barrier = threading.Barrier(count)

    def together(_: int) -> int:
        # Connect first, then send all at once, so the service really sees 30 at a time.
        conn = http.client.HTTPConnection("127.0.0.1", demo.port, timeout=10)
        conn.connect()
        barrier.wait(timeout=10)
        conn.request("GET", "/flaky")
        status = conn.getresponse().status
        conn.close()
        return status

    with ThreadPoolExecutor(count) as pool:
        statuses = list(pool.map(together, range(count)))
    assert 503 in statuses
    assert 200 in statuses
    assert get(demo, "/flaky")[0] == 200  # alone, it is fine


def test_leak_keeps_memory(demo: DemoProcess) -> None:
    before = json.loads(get(demo, "/stats")[1])["leaked_bytes"]
    for _ in range(5):
        get(demo, "/leak")
    after = json.loads(get(demo, "/stats")[1])["leaked_bytes"]
    assert after - before == 5 * 1024


def test_unknown_path_is_404(demo: DemoProcess) -> None:
    assert get(demo, "/nope")[0] == 404


def test_a_port_in_use_gets_a_clear_message(demo: DemoProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "perfeng", "demo", "serve", "--port", str(demo.port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_capacity_find_sees_the_lock_plateau(demo: DemoProcess, tmp_path: Path) -> None:
    """/lock serialises 5 ms sections: about 200/s at most. The search must land below it."""
    out = tmp_path / "capacity.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfeng",
            "capacity",
            "find",
            demo.url + "/lock",
            "--slo",
            "p99<50ms",
            "--start",
            "50",
            "--step-duration",
            "2s",
            "--resolution",
            "15%",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(out.read_text())["capacity"]
    assert 100 <= found["max_sustainable_rps"] < 205
    assert found["first_failing_rps"] <= 400
    assert all(s["concurrency"] is not None for s in found["steps"])
