"""The worker: one fresh process times one benchmark and reports back as JSON over a pipe.

Run as ``python -m perfeng.bench.worker FD TASK`` where FD is the write end of a pipe the
parent passed down and TASK a JSON object:

- ``{"mode": "calibrate", "file", "function", "index", "min_time_s"}``: double the loop count
  from 1 until one raw timing lasts at least ``min_time_s`` (pyperf's calibration), and report
  ``{"loops": N}``;
- ``{"mode": "run", "file", "function", "index", "loops", "warmups", "values"}``: report
  ``{"warmups": [...], "values": [...]}`` in seconds per call (raw timing / loops), and
  ``"calibration"``: seconds per run of each fixed kernel (``perfeng.bench.calibration``);
- ``{"mode": "count", "file", "function", "index", "warmups", "values", "out_dir"}``: under
  callgrind, report the events counted around the calls (``perfeng.bench.callgrind``).

A benchmark that raises reports ``{"error": "Type: message"}``. The result goes to its own
pipe so whatever the benchmark prints cannot corrupt it.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from perfeng.clock import MonotonicClock

MAX_LOOPS = 2**32  # pyperf's cap: beyond it the statement is too fast to time in Python

NowNs = Callable[[], int]


def time_loops(target: Callable[[], Any], loops: int, now: NowNs) -> int:
    """Nanoseconds for ``loops`` calls of ``target``. ``itertools.repeat`` is the cheapest
    Python loop (no integer objects), so the loop's own cost per call stays near 10 ns."""
    repeat = itertools.repeat(None, loops)
    start = now()
    for _ in repeat:
        target()
    return now() - start


def calibrate(
    prepare: Callable[[], Callable[[], Any]],
    min_time_s: float,
    now: NowNs,
    max_loops: int = MAX_LOOPS,
) -> int:
    """The smallest power-of-two loop count whose raw timing reaches ``min_time_s`` twice in
    a row: on a busy machine one timing stretched by preemption would stop the doubling early
    and leave every value far shorter than asked (seen at load 8: 0.3 ms for 20 ms)."""
    min_ns = min_time_s * 1e9
    loops = 1
    while loops < max_loops and not _reaches(prepare, loops, min_ns, now):
        loops *= 2
    return loops


def _reaches(
    prepare: Callable[[], Callable[[], Any]], loops: int, min_ns: float, now: NowNs
) -> bool:
    return (
        time_loops(prepare(), loops, now) >= min_ns and time_loops(prepare(), loops, now) >= min_ns
    )


def measure(
    prepare: Callable[[], Callable[[], Any]], loops: int, count: int, now: NowNs
) -> list[float]:
    """``count`` values in seconds per call, each with fresh setup data."""
    return [time_loops(prepare(), loops, now) / loops / 1e9 for _ in range(count)]


def execute(task: dict[str, Any], now: NowNs) -> dict[str, Any]:
    from perfeng.bench.loader import one_line
    from perfeng.bench.loader import prepare as prepare_benchmark
    from perfeng.errors import PerfengError

    try:
        prepare = prepare_benchmark(task["file"], task["function"], task["index"])
        if task["mode"] == "calibrate":
            return {"loops": calibrate(prepare, float(task["min_time_s"]), now)}
        if task["mode"] == "count":  # under Valgrind: see perfeng.bench.callgrind
            from perfeng.bench import callgrind

            counter = callgrind.Counter(str(task["out_dir"]))
            return callgrind.count_benchmark(
                prepare, int(task["warmups"]), int(task["values"]), counter
            )
        from perfeng.bench.calibration import time_kernels

        loops = int(task["loops"])
        warmups = measure(prepare, loops, int(task["warmups"]), now)
        calibration = time_kernels(now)  # the machine's speed, in this very process
        values = measure(prepare, loops, int(task["values"]), now)
        return {"warmups": warmups, "values": values, "calibration": calibration}
    except KeyboardInterrupt:
        raise
    except PerfengError as exc:
        return {"error": str(exc)}
    except BaseException as exc:  # the benchmark's own failure, SystemExit included
        return {"error": one_line(exc)}


def main(argv: list[str]) -> int:
    fd, task = int(argv[0]), json.loads(argv[1])
    try:
        result = execute(task, MonotonicClock().now_ns)
    except KeyboardInterrupt:
        return 130
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
