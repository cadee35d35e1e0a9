"""The machine's own speed, timed beside the benchmarks: two fixed kernels in every worker.

Two runs of identical code made apart on a shared runner differ by up to ±40 %, and no
statistic inside a run can see that the whole machine was slower. So every worker process
also times the same fixed work (a pure-Python kernel: interpreter dispatch, integer and dict
operations; a memory kernel: copies between two buffers larger than the last-level cache),
between its warm-ups and its values. ``perfeng compare`` divides head's timings by how much
slower these kernels ran during head's run (``perfeng.analysis.calibration``).

The work is fixed, never calibrated: only identical work timed on both sides tells how the
machine moved. Each kernel takes about 10 ms here, long enough to span scheduler slices, so
a CPU hog that slows the benchmark slows it too. Standard library only: workers import it.
"""

from __future__ import annotations

from collections.abc import Callable

NowNs = Callable[[], int]

KERNELS = ("python", "memory")
REPEATS = 3  # per kernel and worker; the worker reports their median
_PYTHON_ITERATIONS = 80_000
_MEMORY_BYTES = 24 << 20  # two of them exceed a 32 MB last-level cache
_MEMORY_COPIES = 4


def _python_kernel() -> int:
    total, table = 0, {}
    for i in range(_PYTHON_ITERATIONS):
        total += i * i % 7
        table[i & 1023] = total
    return total + len(table)


class _Buffers:
    """The memory kernel's buffers, touched once before timing so page faults are not in it."""

    def __init__(self) -> None:
        self.source = bytearray(b"\x5a") * _MEMORY_BYTES
        self.target = bytearray(_MEMORY_BYTES)
        self.target[:] = self.source

    def copy(self) -> int:
        for _ in range(_MEMORY_COPIES):
            self.target[:] = self.source
        return self.target[-1]


def _median(values: list[int]) -> int:
    return sorted(values)[len(values) // 2]


def time_kernels(now: NowNs) -> dict[str, float]:
    """Seconds per run of each kernel: the median of ``REPEATS`` runs, kernels interleaved."""
    buffers = _Buffers()
    kernels: dict[str, Callable[[], int]] = {"python": _python_kernel, "memory": buffers.copy}
    times: dict[str, list[int]] = {name: [] for name in KERNELS}
    for _ in range(REPEATS):
        for name in KERNELS:
            start = now()
            kernels[name]()
            times[name].append(now() - start)
    return {name: _median(times[name]) / 1e9 for name in KERNELS}
