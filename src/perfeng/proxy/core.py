"""The proxy's decisions, without sockets: which connections a fault touches, and what becomes
of each chunk of bytes (forwarded when, in which pieces; held; reset).

Sans-IO (as h11): the caller passes the time and the bytes and gets a decision back; the
randomness that picks the touched connections is injected, so a test replays it exactly.
Semantics follow Toxiproxy's toxics (https://github.com/Shopify/toxiproxy#toxics):

- a fault with ``share`` s touches a connection with probability s, drawn once per
  connection and fault (Toxiproxy's ``toxicity``), so a keep-alive connection is either
  slowed throughout or not at all;
- ``latency`` delays each chunk by latency +/- a uniform jitter (never below 0), ``bandwidth``
  releases a chunk when a pipe of ``rate`` bytes/s has carried the bytes before it, ``slicer``
  cuts a chunk into ``size``-byte pieces ``delay`` apart; chunks never overtake each other;
- ``timeout`` drops the bytes (the connection stays silent) and closes after ``hold_ms`` if
  given; ``reset`` and ``down`` reset touched connections; ``down`` also refuses new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from perfeng.proxy.spec import FaultSpec

Random = Callable[[], float]  # uniform in [0, 1), e.g. random.Random(seed).random


@dataclass(frozen=True)
class Forward:
    """Send each piece at its (absolute, loop-clock) time, in order."""

    pieces: tuple[tuple[float, bytes], ...]


@dataclass(frozen=True)
class Hold:
    """Drop the bytes; close the connection at ``close_at`` (None: never, until removed)."""

    close_at: float | None


@dataclass(frozen=True)
class Reset:
    """Reset the connection (RST to the client)."""


Decision = Forward | Hold | Reset


@dataclass
class Flow:
    """One direction of one connection: when its last byte was released."""

    ready_at: float = 0.0


@dataclass
class _Connection:
    draws: dict[int, bool] = field(default_factory=dict)  # fault serial -> touched
    held_since: float | None = None
    flows: dict[str, Flow] = field(default_factory=lambda: {"up": Flow(), "down": Flow()})


class Decider:
    """The faults in force and the per-connection draws."""

    def __init__(self, random: Random) -> None:
        self.random = random
        self.faults: dict[str, tuple[int, FaultSpec]] = {}
        self._serial = 0
        self._connections: dict[int, _Connection] = {}

    # -- the fault set
    def add(self, name: str, spec: FaultSpec) -> None:
        self._serial += 1  # a re-added name is a new fault: connections draw again
        self.faults[name] = (self._serial, spec)

    def remove(self, name: str) -> bool:
        return self.faults.pop(name, None) is not None

    # -- connections
    def open(self, conn: int) -> None:
        self._connections[conn] = _Connection()

    def close(self, conn: int) -> None:
        self._connections.pop(conn, None)

    def active(self, conn: int) -> list[FaultSpec]:
        """The faults touching ``conn``, drawing for the ones it has not met yet."""
        state = self._connections.setdefault(conn, _Connection())
        touching = []
        for serial, spec in self.faults.values():
            touched = state.draws.get(serial)
            if touched is None:
                touched = state.draws[serial] = spec.share >= 1.0 or self.random() < spec.share
            if touched:
                touching.append(spec)
        return touching

    def admit(self, conn: int) -> str:
        """A new connection: 'accept', 'refuse' (down) or 'reset'."""
        kinds = {spec.kind for spec in self.active(conn)}
        if "down" in kinds:
            return "refuse"
        return "reset" if "reset" in kinds else "accept"

    def close_delay_s(self, conn: int) -> float:
        """How long to hold a close (``slow-close``)."""
        delays = [s.delay_ms for s in self.active(conn) if s.kind == "slow-close"]
        return max(delays, default=0.0) / 1000

    # -- bytes
    def decide(self, conn: int, direction: str, data: bytes, now: float) -> Decision:
        """What to do with ``data`` read at ``now`` travelling ``direction`` (up or down)."""
        faults = self.active(conn)
        state = self._connections[conn]
        kinds = {spec.kind for spec in faults}
        if kinds & {"reset", "down"}:
            return Reset()
        if "timeout" in kinds:
            return self._hold(state, faults, now)
        state.held_since = None
        on_path = [spec for spec in faults if spec.touches(direction)]
        flow = state.flows[direction]
        return Forward(tuple(self._release(flow, on_path, data, now)))

    def _hold(self, state: _Connection, faults: list[FaultSpec], now: float) -> Hold:
        if state.held_since is None:
            state.held_since = now
        holds = [s.hold_ms for s in faults if s.kind == "timeout" and s.hold_ms is not None]
        if not holds:
            return Hold(None)
        return Hold(state.held_since + min(holds) / 1000)

    def _release(
        self, flow: Flow, faults: list[FaultSpec], data: bytes, now: float
    ) -> list[tuple[float, bytes]]:
        at = now + sum(self._latency_s(spec) for spec in faults if spec.kind == "latency")
        rate = min((s.rate_bps for s in faults if s.kind == "bandwidth"), default=0.0)
        pieces = []
        for offset, piece, gap_s in _slices(data, faults):
            at += gap_s if offset else 0.0
            start = max(at, flow.ready_at)
            flow.ready_at = start + len(piece) / rate if rate else start
            pieces.append((flow.ready_at, piece))
        return pieces

    def _latency_s(self, spec: FaultSpec) -> float:
        jitter = spec.jitter_ms * (2 * self.random() - 1) if spec.jitter_ms else 0.0
        return max(spec.latency_ms + jitter, 0.0) / 1000


def _slices(data: bytes, faults: list[FaultSpec]) -> list[tuple[int, bytes, float]]:
    """(offset, piece, gap before it in s): the chunk whole, or cut by the first slicer."""
    slicer = next((s for s in faults if s.kind == "slicer"), None)
    if slicer is None or len(data) <= slicer.size:
        return [(0, data, 0.0)]
    step, gap = slicer.size, slicer.delay_ms / 1000
    return [(i, data[i : i + step], gap) for i in range(0, len(data), step)]
