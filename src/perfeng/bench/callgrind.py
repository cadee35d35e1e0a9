"""Counting instead of timing: Valgrind's callgrind as the measuring instrument.

Callables run in a worker started under ``valgrind --tool=callgrind --instr-atstart=no``:
nothing is instrumented (interpreter start-up and imports run at Valgrind's uninstrumented
speed and count for nothing) until the worker switches instrumentation on right around the
benchmark's calls, with callgrind's client requests (START_INSTRUMENTATION, ZERO_STATS,
STOP_INSTRUMENTATION, DUMP_STATS from ``callgrind.h``). That is pytest-codspeed's approach; it
issues the requests from a C extension. Here they go through 28 bytes of x86-64 machine code
(Valgrind's "special instruction" preamble, a no-op on a real CPU) called with ctypes, so no
compiler is needed. Each DUMP_STATS writes ``callgrind.out.PID.N``; its ``totals:`` line
holds the events of the window.

The caches are simulated with a fixed geometry (``CACHE_OPTIONS``), not the host's, so two
CI runners with different CPUs count the same misses. Everything here imports only the
standard library: the worker loads it before it measures anything.
"""

from __future__ import annotations

import ctypes
import itertools
import mmap
import os
import platform
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from perfeng.errors import UsageError

# The events of ``--cache-sim=yes``, in callgrind's order (docs: cg_annotate, "Ir Dr Dw ...").
EVENTS = ("Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")
# 32 KiB 8-way L1s and an 8 MiB 16-way last level, 64-byte lines: a common x86 server core.
CACHE_OPTIONS = ("--I1=32768,8,64", "--D1=32768,8,64", "--LL=8388608,16,64")
OUT_NAME = "callgrind.out"
ENV = {"PYTHONHASHSEED": "0"}  # str/bytes hashing is randomised per process otherwise
# Instructions per counted value: the window's own jitter (~100) is then below 0.01 %.
TARGET_INSTRUCTIONS = 2_000_000
MAX_LOOPS = 100_000

Counts = dict[str, int]

# x86-64 client request (valgrind.h, VALGRIND_DO_CLIENT_REQUEST_EXPR for amd64-linux):
# rax = address of the 6-word argument block, rdx = default result; the preamble rotates rdi
# by 3, 13, 61 and 51 bits (128 in all: rdi is unchanged) and ``xchg rbx, rbx`` asks.
_REQUEST_CODE = bytes.fromhex(
    "4889f8"  # mov rax, rdi
    "31d2"  # xor edx, edx
    "48c1c703"
    "48c1c70d"
    "48c1c73d"
    "48c1c733"  # rol rdi, 3 / 13 / 61 / 51
    "4887db"  # xchg rbx, rbx
    "4889d0"  # mov rax, rdx
    "c3"  # ret
)
RUNNING_ON_VALGRIND = 0x1001
_CALLGRIND_BASE = (ord("C") << 24) | (ord("T") << 16)  # VG_USERREQ_TOOL_BASE('C','T')
DUMP_STATS, ZERO_STATS = _CALLGRIND_BASE, _CALLGRIND_BASE + 1
START_INSTRUMENTATION, STOP_INSTRUMENTATION = _CALLGRIND_BASE + 4, _CALLGRIND_BASE + 5
_SWITCHES = (START_INSTRUMENTATION, STOP_INSTRUMENTATION)


PAD_VARIABLE = "PERFENG_STACK_PAD"
_STACK_BLOCK = 4096  # 64 sets x 64-byte lines: the L1 sets repeat every 4 KiB of address


def stack_aligned(argv: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus a padding variable that makes the strings and pointers at the top of the
    worker's stack (argv, environment) a whole number of 4 KiB blocks. The stack's cache
    sets are then the same whatever the paths and environment: without it, moving the
    stack by a few bytes changed the simulated L1 misses of ``sorted`` of 100 items
    from 3.3 to 0.3 per call (est_cycles 0.2 %), instructions staying equal."""
    base = {key: value for key, value in env.items() if key != PAD_VARIABLE}
    strings = [*argv, *(f"{k}={v}" for k, v in base.items()), f"{PAD_VARIABLE}="]
    used = sum(len(text.encode()) + 1 for text in strings) + 8 * (len(strings) + 2)
    return {**base, PAD_VARIABLE: "x" * (-used % _STACK_BLOCK)}


def find_valgrind() -> str:
    """The valgrind program; ``UsageError`` (exit 2) naming how to get it otherwise."""
    if not sys.platform.startswith("linux"):
        raise UsageError(
            "--instructions needs Valgrind, which runs on Linux only: run it in a Linux CI job"
            " (e.g. ubuntu-latest with `sudo apt-get install valgrind`)"
        )
    path = shutil.which("valgrind")
    if path is None:
        raise UsageError(
            "--instructions needs Valgrind: install it (`apt-get install valgrind` on"
            " Debian/Ubuntu, or `make system-deps`)"
        )
    return path


def check_callables_supported() -> None:
    """The client requests are x86-64 machine code; elsewhere only --cmd can be counted."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        raise UsageError(
            f"--instructions for callables needs an x86-64 CPU (this is {platform.machine()});"
            " count a whole command with --cmd instead"
        )


def valgrind_command(valgrind: str, out_dir: str, *, instrument_at_start: bool) -> list[str]:
    """The valgrind prefix. Children are always traced: a command's children are part of its
    work, and a callable's children must be seen to be refused (their dumps show them)."""
    return [
        valgrind,
        "--tool=callgrind",
        "--cache-sim=yes",
        *CACHE_OPTIONS,
        f"--instr-atstart={'yes' if instrument_at_start else 'no'}",
        "--trace-children=yes",
        f"--callgrind-out-file={os.path.join(out_dir, OUT_NAME)}.%p",
        "--quiet",
    ]


def parse_totals(text: str) -> Counts:
    """The events of one callgrind dump, from its ``events:`` and ``totals:`` lines (callgrind
    format, "Callgrind Format Specification"; ``summary:`` is not used: 3.19 writes it
    wrapped around after ZERO_STATS). Events the dump lacks count 0."""
    names: list[str] = []
    values: list[int] = []
    for line in text.splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith("totals:"):
            values = [int(v) for v in line.split()[1:]]
    if not names:
        raise ValueError("not a callgrind dump (no events: line)")
    found = dict(zip(names, values, strict=False))
    return {event: found.get(event, 0) for event in EVENTS}


def add(a: Mapping[str, int], b: Mapping[str, int]) -> Counts:
    return {event: a.get(event, 0) + b.get(event, 0) for event in EVENTS}


def dump_files(out_dir: str) -> dict[int, list[str]]:
    """Dump files by the process id that wrote them (``callgrind.out.PID[.N]``)."""
    found: dict[int, list[str]] = {}
    for name in sorted(os.listdir(out_dir)):
        parts = name.removeprefix(OUT_NAME + ".").split(".")
        if name.startswith(OUT_NAME + ".") and parts[0].isdigit():
            found.setdefault(int(parts[0]), []).append(os.path.join(out_dir, name))
    return found


def read_counts(path: str) -> Counts:
    with open(path, encoding="utf-8", errors="replace") as dump:
        return parse_totals(dump.read())


class ClientRequests:
    """Callgrind's client requests, issued from Python through a tiny machine-code function.
    Outside Valgrind every request is a no-op that returns 0."""

    def __init__(self) -> None:
        self._page = mmap.mmap(
            -1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
        )
        self._page.write(_REQUEST_CODE)
        address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        prototype = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64))
        self._call = prototype(address)
        # Argument blocks built once: nothing is allocated inside the measured window.
        self._blocks = {
            code: (ctypes.c_uint64 * 6)(code, 0, 0, 0, 0, 0)
            for code in (RUNNING_ON_VALGRIND, DUMP_STATS, ZERO_STATS, *_SWITCHES)
        }

    def request(self, code: int) -> int:
        return int(self._call(self._blocks[code]))

    def on_valgrind(self) -> bool:
        return self.request(RUNNING_ON_VALGRIND) > 0


class Counter:
    """Counts the events of ``loops`` calls in this process (which runs under callgrind)."""

    def __init__(self, out_dir: str, requests: ClientRequests | None = None) -> None:
        self.requests = requests or ClientRequests()
        if not self.requests.on_valgrind():
            raise RuntimeError("the counting worker is not running under Valgrind")
        self.out_dir = out_dir
        self.prefix = os.path.join(out_dir, f"{OUT_NAME}.{os.getpid()}")
        self.dumps = 0

    def children(self) -> int:
        """Processes other than this one that have written a dump (they exited)."""
        return len(set(dump_files(self.out_dir)) - {os.getpid()})

    def window(self, target: Callable[[], Any], loops: int) -> Counts:
        """Events between switching instrumentation on and off around ``loops`` calls. The
        loop is ``time_loops``'s (itertools.repeat) so counted and timed runs match."""
        call = self.requests.request
        repeat = itertools.repeat(None, loops)
        call(START_INSTRUMENTATION)
        call(ZERO_STATS)
        for _ in repeat:
            target()
        call(STOP_INSTRUMENTATION)
        call(DUMP_STATS)
        self.dumps += 1
        return read_counts(f"{self.prefix}.{self.dumps}")


def loops_for(instructions_per_call: float) -> int:
    """Enough calls that one value holds ``TARGET_INSTRUCTIONS`` (at most ``MAX_LOOPS``)."""
    if instructions_per_call <= 0:
        return MAX_LOOPS
    return max(1, min(MAX_LOOPS, round(TARGET_INSTRUCTIONS / instructions_per_call)))


def count_benchmark(
    prepare: Callable[[], Callable[[], Any]], warmups: int, values: int, counter: Counter
) -> dict[str, Any]:
    """The worker's answer in counting mode: the window's own cost (``overhead``, counted with
    no call and subtracted later), the loop count, and the raw events of each value. A single
    call first sizes the loop count; the warm-ups then run whole loops, so the adaptive
    interpreter (3.11+) has specialised the code before a value is kept. A benchmark that
    started a process is refused after that single call."""
    overhead = min(
        (counter.window(prepare(), 0) for _ in range(3)), key=lambda counts: counts["Ir"]
    )
    first = counter.window(prepare(), 1)
    children = counter.children()
    if children:
        return {"error": children_refused(children)}
    loops = loops_for(first["Ir"] - overhead["Ir"])
    warm = [counter.window(prepare(), loops) for _ in range(warmups)]
    measured = [counter.window(prepare(), loops) for _ in range(values)]
    return {"loops": loops, "overhead": overhead, "warmups": warm, "values": measured}


def children_refused(children: int) -> str:
    return (
        f"the benchmark started {children} process(es): their work would not be in the"
        " count; count the program as a whole with --cmd"
    )


def per_call(
    raw: Sequence[Mapping[str, int]], overhead: Mapping[str, int], loops: int
) -> list[dict[str, float]]:
    """Events per call: (value - overhead) / loops, floored at 0."""
    return [
        {e: max((value.get(e, 0) - overhead.get(e, 0)) / loops, 0.0) for e in EVENTS}
        for value in raw
    ]
