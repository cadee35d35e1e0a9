"""The capacity search: geometric growth, then bisection to the resolution."""

from __future__ import annotations

import pytest

from perfeng.analysis.capacity import Search, Step, knee


def step(rate: float, passed: bool, achieved: float | None = None, p99: float = 5.0) -> Step:
    return Step(rate, achieved if achieved is not None else rate, 1.0, 2.0, p99, 2.0, 0.0, passed)


def run(search: Search, limit: float) -> list[float]:
    tried = []
    while (rate := search.next_rate()) is not None:
        tried.append(rate)
        search.record(step(rate, rate <= limit))
    return tried


def test_grows_then_bisects_to_the_resolution() -> None:
    search = Search(50, 100_000, 0.05)
    tried = run(search, limit=230)
    assert tried[:4] == [50, 100, 200, 400]
    assert search.best is not None and search.worst is not None
    assert search.best <= 230 < search.worst
    assert (search.worst - search.best) / search.best <= 0.05


def test_stops_at_the_maximum() -> None:
    search = Search(50, 300, 0.05)
    assert run(search, limit=10**9) == [50, 100, 200, 300]
    assert search.best == 300 and search.worst is None


def test_a_failing_start_ends_the_search() -> None:
    search = Search(50, 1000, 0.05)
    assert run(search, limit=10) == [50]
    assert search.best is None


def test_littles_law_and_saturation() -> None:
    s = Step(100, 100, 1, 2, 3, 20.0, 0.0, True)
    assert s.concurrency == pytest.approx(2.0)  # N = X * R = 100/s * 0.02 s
    assert Step(100, 40, None, None, None, None, 0.0, False).saturated


def test_knee_is_where_throughput_or_latency_bends() -> None:
    steps = [
        step(50, True),
        step(100, True),
        step(150, True, p99=6.0),
        step(200, False, achieved=180),
    ]
    assert knee(steps) == 150
    assert knee([step(50, True), step(100, True, p99=50.0)]) == 50


@pytest.mark.parametrize(
    ("args", "message"),
    [((0, 10, 0.05), "start"), ((10, 5, 0.05), "start"), ((10, 100, 1.5), "resolution")],
)
def test_bad_settings(args: tuple[float, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Search(*args)
