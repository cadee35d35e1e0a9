"""Shards of a plan: the parts add up to the whole, at the whole's instants."""

from __future__ import annotations

import pytest

from perfeng.engine.schedule import ArrivalSchedule, count_arrivals
from perfeng.engine.shard import Shard
from perfeng.engine.workloads import ConstantRate, RampingRate
from perfeng.errors import UsageError


def _offsets(plan, shard: Shard | None = None) -> list[float]:  # type: ignore[no-untyped-def]
    schedule, out = ArrivalSchedule(plan, shard), []
    while (offset := schedule.next_offset_s()) is not None:
        out.append(offset)
    return out


@pytest.mark.parametrize("count", [2, 3, 7])
def test_open_model_shards_partition_the_schedule(count: int) -> None:
    plan = RampingRate(stages=((2.0, 300.0), (3.0, 50.0)), start_rate=10.0).plan()
    whole = _offsets(plan)
    parts = [_offsets(plan, Shard(i, count)) for i in range(count)]
    # the same instants, each sent by exactly one shard, and none bunched together
    assert sorted(o for part in parts for o in part) == whole
    assert sum(count_arrivals(plan, Shard(i, count)) for i in range(count)) == len(whole)
    for index, part in enumerate(parts):
        assert part == whole[index::count]


def test_a_constant_rate_split_in_two_interleaves() -> None:
    plan = ConstantRate(rate=100.0, duration_s=1.0).plan()
    first = _offsets(plan, Shard(0, 2))
    second = _offsets(plan, Shard(1, 2))
    assert first[:3] == pytest.approx([0.0, 0.02, 0.04])
    assert second[:3] == pytest.approx([0.01, 0.03, 0.05])
    assert len(first) + len(second) == 100


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_users_split_sums_to_the_plan_at_every_level(count: int) -> None:
    for total in range(0, 40):
        assert sum(Shard(i, count).users(total) for i in range(count)) == total
    # fractional ramp values round as the whole plan would
    assert sum(Shard(i, count).users(10.6) for i in range(count)) == 11


def test_rows_are_partitioned_so_unique_rows_stay_unique() -> None:
    rows = [f"user{i}" for i in range(10)]
    parts = [Shard(i, 3).rows(rows) for i in range(3)]
    assert sorted(r for part in parts for r in part) == sorted(rows)
    assert Shard(2, 3).rows(["only"]) == ("only",)  # fewer rows than shards: all of them


def test_bad_shards() -> None:
    for text in ("2/2", "a/2", "1", "0/0"):
        with pytest.raises(UsageError):
            Shard.parse(text)
    assert Shard.parse("1/4") == Shard(1, 4)
