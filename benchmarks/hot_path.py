"""CPU cost of perfeng's per-request path without the network.

The engine's closed model runs against an in-memory transport that answers every request on
the next loop turn with a canned nginx-like response, so the figure is perfeng's own Python
cost per request (request bytes, parsing with httptools, bookkeeping, the sample and its
aggregation), free of syscalls and of the target. Run: python benchmarks/hot_path.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

import uvloop

from perfeng.clock import MonotonicClock
from perfeng.engine.http import client as client_module
from perfeng.engine.runner import Engine, RunOptions
from perfeng.engine.workloads import ConstantRate, Users
from perfeng.scenario.model import RequestSpec, Scenario

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 00:00:00 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n"
)


LAST_REQUESTS = [0]


class EchoTransport(asyncio.Transport):
    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: Any) -> None:
        super().__init__()
        self.loop, self.protocol = loop, protocol

    def write(self, data: Any) -> None:
        self.loop.call_soon(self.protocol.data_received, RESPONSE)

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


async def _fake_connect(self: Any, *, want_headers: bool, want_body: bool) -> Any:
    reader = client_module.ResponseReader(want_headers=want_headers, want_body=want_body)
    try:  # the engine's clock, so first-byte times (and phases) are recorded as for real
        conn = client_module.Connection(reader, self.client.now_ns)
    except TypeError:  # an engine from before phases (the A/B baseline)
        conn = client_module.Connection(reader)
    conn.connection_made(EchoTransport(self.client.loop, conn))
    return conn


def one_run(seconds: float, rate: float | None = None) -> float:
    client_module.Pool.connect = _fake_connect  # type: ignore[method-assign]
    scenario = Scenario(
        base_url="http://127.0.0.1:9",
        requests=(RequestSpec(name="GET /", url="/"),),
        workloads=(
            (Users(users=50, duration_s=seconds),)
            if rate is None
            else (ConstantRate(rate=rate, duration_s=seconds),)
        ),
    )
    clock = MonotonicClock()
    engine = Engine(scenario, clock, RunOptions(grace_s=1))
    loop = uvloop.new_event_loop()
    cpu = time.process_time()
    measurements = loop.run_until_complete(engine.run())
    cpu = time.process_time() - cpu
    loop.close()
    requests = sum(s.requests for s in measurements.names.values())
    LAST_REQUESTS[0] = requests
    return cpu / requests * 1e6


def main() -> None:
    if "--once" in sys.argv:  # for `valgrind --tool=callgrind`: instructions per request
        scenario_requests = one_run(float(sys.argv[-1]))
        print(f"cpu us/request {scenario_requests:.2f} requests {LAST_REQUESTS[0]}")
        return
    for label, rate in (("closed, 50 users", None), ("open, 5000/s", 5000.0)):
        costs = [one_run(2.0, rate) for _ in range(5)]
        print(
            f"perfeng hot path, {label}: median {statistics.median(costs):.2f} us CPU/request "
            f"(runs: {', '.join(f'{c:.2f}' for c in costs)})"
        )


if __name__ == "__main__":
    main()
