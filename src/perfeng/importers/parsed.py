"""What the importers' parsers return: plain declared structures, no I/O, no document yet.

A parser reads one tool's text and gives either every request it recorded (``Samples``: the
histograms built from them are exact) or only the tool's own statistics (``Summaries``: the
distribution is reconstructed from the percentiles it printed). ``build`` turns either into a
perfeng run document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class ParseError(ValueError):
    """The text is not what the parser reads; ``line`` (1-based) where it went wrong, 0 when
    the whole file is the problem."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def check_line_end(text: str) -> None:
    """Tools end every row of their CSVs with a line end: a file whose last line has none was
    cut while being written (its last row may be missing fields, or digits)."""
    if not text.endswith("\n"):
        raise ParseError(
            "the last line has no line end: the file is cut short (truncated file?)",
            text.count("\n") + 1,
        )


class Request(NamedTuple):
    """One request as the tool recorded it. Times are integer nanoseconds, ``start_ns`` from
    the epoch; a phase the tool did not record is -1."""

    name: str
    start_ns: int
    duration_ns: int
    status: int  # 0 when no response arrived
    error: str | None  # an ErrorClass value, or None
    bytes_sent: int = 0
    bytes_received: int = 0
    connect_ns: int = -1  # opening the connection (dns included when the tool folds it in)
    dns_ns: int = -1
    ttfb_ns: int = -1  # request written -> first byte of the response
    receive_ns: int = -1  # first byte -> response whole


@dataclass(frozen=True)
class Source:
    """Where a document came from: the tool, its version when the file says, the format."""

    tool: str
    format: str
    version: str | None = None


@dataclass(frozen=True)
class Samples:
    """Every request a tool recorded (k6 points, JMeter JTL, hey -o csv)."""

    source: Source
    requests: tuple[Request, ...]
    notes: tuple[str, ...] = ()
    # True when start_ns counts from the run's start, not from the epoch (hey -o csv)
    relative_times: bool = False
    phases: dict[str, dict[str, tuple[int, ...]]] = field(default_factory=dict)
    # name -> phase -> values in ns, for tools that record phases apart from the requests
    # (k6 points: one point per phase, not joined to its request)


@dataclass(frozen=True)
class Spectrum:
    """One request name's statistics as the tool printed them: counts, and latency figures
    in milliseconds (``None`` when the tool did not give one)."""

    requests: int
    errors: int
    percentiles: tuple[tuple[float, float], ...]  # (percentile 0..100, ms), ascending
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    errors_by_class: dict[str, int] = field(default_factory=dict)
    bytes_received: int = 0
    # requests the latency figures cover, when not all (wrk and hey time answers only)
    answered: int | None = None

    @property
    def timed(self) -> int:
        return self.requests if self.answered is None else self.answered


@dataclass(frozen=True)
class Second:
    """One second of a summary source's time series (Locust's stats history)."""

    time: int  # epoch second
    requests: int
    errors: int
    percentiles: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Summaries:
    """Only the tool's statistics (k6 end-of-test summary, Locust --csv, wrk, hey text)."""

    source: Source
    names: dict[str, Spectrum]
    duration_s: float
    overall: Spectrum | None = None  # the tool's own all-names figures, when it prints them
    start_s: float | None = None  # epoch seconds when the file says
    notes: tuple[str, ...] = ()
    seconds: tuple[Second, ...] = ()
