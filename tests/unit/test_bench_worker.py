"""The worker's calibration and timing loop on a fake clock, and its answers."""

from __future__ import annotations

from pathlib import Path

from perfeng.bench.worker import calibrate, execute, measure, time_loops


class TickClock:
    """Each call of the benchmark advances time by ``cost_ns``; reading it costs nothing."""

    def __init__(self, cost_ns: int) -> None:
        self.ns = 0
        self.cost_ns = cost_ns
        self.calls = 0

    def now(self) -> int:
        return self.ns

    def work(self) -> None:
        self.calls += 1
        self.ns += self.cost_ns


def test_time_loops_calls_the_target_loops_times() -> None:
    clock = TickClock(1_000)
    assert time_loops(clock.work, 7, clock.now) == 7_000
    assert clock.calls == 7


def test_calibration_doubles_until_min_time() -> None:
    clock = TickClock(1_000)  # 1 us a call: 0.1 s needs 100 000 calls -> 2**17
    assert calibrate(lambda: clock.work, 0.1, clock.now) == 2**17
    slow = TickClock(200_000_000)  # 0.2 s a call: one loop is enough
    assert calibrate(lambda: slow.work, 0.1, slow.now) == 1


def test_one_preempted_timing_does_not_end_calibration() -> None:
    clock = TickClock(1_000)
    preempted = {"done": False}

    def work() -> None:
        clock.work()
        if clock.calls == 1024 and not preempted["done"]:  # the loops=1024 timing: 0.2 s lost
            preempted["done"] = True
            clock.ns += 200_000_000

    assert calibrate(lambda: work, 0.1, clock.now) == 2**17  # as if nothing had happened


def test_calibration_stops_at_the_cap() -> None:
    frozen = TickClock(0)  # a clock that never moves
    assert calibrate(lambda: frozen.work, 0.1, frozen.now, max_loops=1024) == 1024
    assert frozen.calls == 1023  # 1 + 2 + ... + 512: the capped count is not timed


def test_measure_gives_seconds_per_call_with_fresh_setup() -> None:
    clock = TickClock(2_500)
    prepared = []

    def prepare() -> object:
        prepared.append(1)
        return clock.work

    assert measure(prepare, 4, 3, clock.now) == [2.5e-6] * 3  # type: ignore[arg-type]
    assert len(prepared) == 3 and clock.calls == 12


def test_execute_reports_errors_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bench_x.py"
    path.write_text("def bench_fail():\n    raise KeyError('a\\nb')\ndef bench_ok():\n    pass\n")
    task = {"file": str(path), "index": None, "mode": "run", "loops": 2, "warmups": 1}
    clock = TickClock(0)
    assert execute({**task, "function": "bench_fail", "values": 1}, clock.now) == {
        "error": "KeyError: 'a\\nb'"
    }
    answer = execute({**task, "function": "bench_ok", "values": 2}, clock.now)
    assert answer == {
        "warmups": [0.0],
        "values": [0.0, 0.0],
        "calibration": {"python": 0.0, "memory": 0.0},  # the tick clock stands still
    }
    missing = execute({**task, "function": "nope", "values": 1}, clock.now)
    assert "no function nope" in missing["error"]
