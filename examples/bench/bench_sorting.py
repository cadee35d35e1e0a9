"""Example benchmarks: `perfeng bench examples/bench` runs every one of them."""

from perfeng import bench


def bench_sorted_range() -> None:
    # found by its name: a bench_* function in a bench_*.py file
    sorted(range(1000))


def make_reversed(n: int) -> list[int]:
    return list(range(n))[::-1]


@bench(params={"n": [100, 1000]}, setup=make_reversed)
def sort_reversed(data: list[int]) -> None:
    # make_reversed(n=...) runs before each timed value, outside the timing
    sorted(data)
