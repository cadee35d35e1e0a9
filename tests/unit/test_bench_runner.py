"""Orchestrating callables: calibration, interleaved processes, failures and Ctrl-C."""

from __future__ import annotations

from typing import Any

from perfeng.bench.discovery import Benchmark
from perfeng.bench.presets import choose
from perfeng.bench.runner import run_callables


def _benchmarks(*names: str) -> list[Benchmark]:
    return [Benchmark(n, f"/b/{n}.py", n, None, f"{n}.py::{n}") for n in names]


class FakeWorkers:
    """Answers tasks like a worker would and records the order they came in."""

    def __init__(self, fail: dict[tuple[str, int], str] | None = None, stop_after: int = 0):
        self.order: list[tuple[str, str]] = []
        self.fail = fail or {}
        self.stop_after = stop_after

    def __call__(self, task: dict[str, Any]) -> dict[str, Any]:
        if self.stop_after and len(self.order) == self.stop_after:
            raise KeyboardInterrupt
        name = task["function"]
        self.order.append((task["mode"], name))
        runs = sum(1 for m, n in self.order if n == name and m == "run")
        if (name, runs) in self.fail:
            return {"error": self.fail[(name, runs)]}
        if task["mode"] == "calibrate":
            return {"loops": 8}
        return {"warmups": [9.0] * task["warmups"], "values": [float(runs)] * task["values"]}


def test_processes_are_interleaved_after_calibration_in_alternating_order() -> None:
    workers = FakeWorkers()
    preset = choose("default", commands=False, processes=3, values=2)
    outcomes, interrupted = run_callables(_benchmarks("a", "b"), preset, run_worker=workers)
    assert not interrupted
    ab, ba = [("run", "a"), ("run", "b")], [("run", "b"), ("run", "a")]
    assert workers.order == [("calibrate", "a"), ("calibrate", "b"), *ab, *ba, *ab]
    assert outcomes[0].loops == 8
    assert outcomes[0].values == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert outcomes[0].warmups == [9.0, 9.0, 9.0]


def test_a_failing_benchmark_stops_and_keeps_no_values() -> None:
    workers = FakeWorkers(fail={("b", 2): "ValueError: x"})
    preset = choose("fast", commands=False, processes=4)
    outcomes, _ = run_callables(_benchmarks("a", "b"), preset, run_worker=workers)
    assert outcomes[1].error == "ValueError: x" and outcomes[1].values == []
    assert [n for m, n in workers.order if m == "run"].count("b") == 2
    assert len(outcomes[0].values) == 4 * preset.values


def test_failed_calibration_skips_the_runs() -> None:
    workers = FakeWorkers(fail={("a", 0): "worker exited with code 1: boom"})
    outcomes, _ = run_callables(
        _benchmarks("a"), choose("fast", commands=False), run_worker=workers
    )
    assert outcomes[0].error == "worker exited with code 1: boom"
    assert workers.order == [("calibrate", "a")]


def test_ctrl_c_keeps_what_was_measured() -> None:
    workers = FakeWorkers(stop_after=5)  # 2 calibrations, a b, then b (rounds alternate), Ctrl-C
    preset = choose("default", commands=False, values=1)
    progress: list[tuple[int, int]] = []
    outcomes, interrupted = run_callables(
        _benchmarks("a", "b"),
        preset,
        run_worker=workers,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert interrupted
    assert [len(o.values) for o in outcomes] == [1, 2]
    assert progress == [(0, 20), (1, 20)]
