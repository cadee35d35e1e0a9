"""What watching the target during a run produces: resource samples (USE) and a profile.

Declared once as msgspec Structs (DESIGN.md habit 5): the watcher writes them, the result
document carries them under ``resources`` and ``profile``, and ``read_resources`` /
``read_profile`` check a document's copy, naming the field that is wrong. Every reading is
``None`` when the operating system does not offer it (said once in ``unavailable``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeVar

import msgspec


class TreeSample(msgspec.Struct, frozen=True, kw_only=True):
    """One second of one watched process tree (the process and all its descendants)."""

    time: int  # the epoch second this sample covers, [time, time + 1): as in timeseries
    processes: int
    cpu_pct: float | None  # user + system, % of one core, summed over the tree
    user_pct: float | None
    system_pct: float | None
    busiest_pct: float | None  # the busiest single process of the tree, % of one core
    rss_bytes: int | None
    uss_bytes: int | None
    threads: int | None
    fds: int | None
    fd_limit: int | None  # the smallest RLIMIT_NOFILE soft limit in the tree
    ctx_voluntary: float | None  # per second
    ctx_involuntary: float | None  # per second: CPU contention
    read_bytes: float | None  # per second
    write_bytes: float | None  # per second
    tcp: dict[str, int] | None  # connections by state (ESTABLISHED, TIME_WAIT, ...)


class SystemSample(msgspec.Struct, frozen=True, kw_only=True):
    """One second of the whole machine, and of the generator's own process."""

    time: int
    cpu_pct: float  # mean over the CPUs, % busy
    per_cpu_pct: list[float]
    steal_pct: float | None
    iowait_pct: float | None
    load1: float
    # PSI: % of the second in which some (or all) runnable tasks stalled on the resource
    psi_cpu_some: float | None
    psi_memory_some: float | None
    psi_memory_full: float | None
    psi_io_some: float | None
    psi_io_full: float | None
    mem_available_bytes: int
    net_drops: float | None  # per second, all interfaces, in and out
    net_errors: float | None  # per second
    listen_overflows: float | None  # per second (TcpExtListenOverflows)
    listen_drops: float | None  # per second (TcpExtListenDrops)
    generator_cpu_pct: float | None  # perfeng's own process, % of one core


class WatchedTree(msgspec.Struct, frozen=True, kw_only=True):
    pid: int
    name: str
    cmdline: list[str]
    samples: list[TreeSample]
    exited_at: int | None = None  # epoch second when the process was last seen, if it ended


class Resources(msgspec.Struct, frozen=True, kw_only=True):
    interval_s: float
    cpu_count: int
    trees: list[WatchedTree]
    system: list[SystemSample]
    unavailable: list[str]  # readings this OS does not offer, each said once


class Stack(msgspec.Struct, frozen=True, array_like=True):
    """One collapsed stack of one stage: frame indices root first, and its sample counts."""

    stage: int
    frames: list[int]
    wall: int  # samples of every thread, waiting ones too (py-spy --idle)
    cpu: int  # samples of threads on a CPU (py-spy without --idle)


class ProfileStage(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    start_s: float  # seconds from the start of the load, as timeseries elapsed_s
    end_s: float


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """Collapsed stacks of the watched Python processes while the load ran."""

    status: Literal["ok", "partial", "unavailable", "off"]
    reason: str | None  # why it is partial or unavailable, in one line
    hint: str | None  # how to allow it (permissions)
    sampler: str  # e.g. "py-spy 0.4.3"
    rate_hz: int  # of the CPU recorder; every count is scaled to this rate
    frames: list[str]  # "function (path:line)"
    stages: list[ProfileStage]
    stacks: list[Stack]
    errors: int = 0  # samples py-spy could not read
    code: dict[str, str] = {}  # "path:line" -> that source line, for application frames
    wall_rate_hz: int = 0  # the lowest rate of the wall recorder (0: the same as rate_hz)


# A full path starts with "/", "<" (<frozen ...>) or a drive letter: the function part ends
# at the first " (" before one, so neither "wrapper (retry)" nor "Projects (old)/" confuses it.
_FRAME = re.compile(
    r"^(?P<function>.*?) \((?P<file>(?:/|<|[A-Za-z]:[\\/]).*?)(?::(?P<line>\d+))?\)$"
)
_LOOSE_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class Frame:
    function: str
    file: str
    line: int | None

    @property
    def pseudo(self) -> bool:
        """py-spy's own frames for processes and threads, not code."""
        return self.function.startswith(("process ", "thread ")) and not self.file

    @property
    def library(self) -> bool:
        """The Python standard library or an installed package, not the application."""
        path = self.file.replace("\\", "/")
        return (
            "/site-packages/" in path
            or "/dist-packages/" in path
            or path.startswith("<")
            or bool(re.search(r"/lib/python3\.\d+/|^[A-Za-z]:/.*/Lib/", path))
        )

    @property
    def short_file(self) -> str:
        """The path from the package or application folder on: what a reader recognises."""
        path = self.file.replace("\\", "/")
        for marker in ("/site-packages/", "/dist-packages/"):
            if marker in path:
                return path.split(marker, 1)[1]
        match = re.search(r"/lib/python3\.\d+/(.*)$", path)
        if match:
            return match.group(1)
        parts = path.split("/")
        return "/".join(parts[-3:]) if len(parts) > 3 else path


def parse_frame(text: str) -> Frame:
    """py-spy's ``function (path:line)`` (the line may be absent)."""
    match = _FRAME.match(text) or _LOOSE_FRAME.match(text)
    if match is None:
        return Frame(text, "", None)
    line = match.group("line")
    return Frame(match.group("function"), match.group("file"), int(line) if line else None)


def read_resources(value: object, where: str) -> Resources:
    return _convert(value, Resources, where, "resources")


def read_profile(value: object, where: str) -> Profile:
    return _convert(value, Profile, where, "profile")


class ShapeError(ValueError):
    """A section whose shape is not the declared one; the message names the field."""


T = TypeVar("T")


def _convert(value: object, kind: type[T], where: str, section: str) -> T:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        text = text.replace("$", section, 1) if "$" in text else f"{text} in {section}"
        raise ShapeError(f"{where}: {text}") from None


def to_builtins(value: object) -> object:
    """Plain JSON-able data (dicts, lists, numbers) of a Struct."""
    return msgspec.to_builtins(value)
