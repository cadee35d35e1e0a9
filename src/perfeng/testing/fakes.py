"""Deterministic stand-ins for the outside world: time and the network."""

from __future__ import annotations

import asyncio
from typing import Any


class FakeClock:
    """A ``perfeng.clock.Clock`` that moves only when told to."""

    def __init__(self, start_ns: int = 1_000_000_000, wall_s: float = 1_800_000_000.0) -> None:
        self._now = start_ns
        self._wall0 = wall_s
        self._start = start_ns
        self._cpu = 0

    def now_ns(self) -> int:
        return self._now

    def wall_s(self) -> float:
        return self._wall0 + (self._now - self._start) / 1e9

    def cpu_ns(self) -> int:
        return self._cpu

    def advance(self, seconds: float = 0.0, *, ns: int = 0) -> None:
        self._now += ns + round(seconds * 1e9)

    def burn_cpu(self, seconds: float) -> None:
        self._cpu += round(seconds * 1e9)


class FakeTransport(asyncio.Transport):
    """Collects what a protocol writes; the test feeds answers with ``protocol.data_received``."""

    def __init__(self, protocol: asyncio.Protocol | None = None) -> None:
        super().__init__()
        self.protocol = protocol
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self._lose()

    def abort(self) -> None:
        self._lose()

    def is_closing(self) -> bool:
        return self.closed

    def _lose(self) -> None:
        if not self.closed:
            self.closed = True
            if self.protocol is not None:
                self.protocol.connection_lost(None)
