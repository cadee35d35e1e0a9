"""One generator's share of a plan when several run it together (``--workers``, clusters).

Sans-IO: the split is decided here from the shard's index and the shard count, so every
worker computes its share alone and the shares add up to the plan exactly.

- Open model: every worker walks the whole arrival schedule and sends arrival ``k`` only when
  ``k mod count == index``. The combined arrivals are the plan's, at the plan's instants; no
  two workers send the same arrival, and none bunches its arrivals at shared instants (which
  splitting the *rate* would do: each worker's schedule would start at the same offsets).
- Closed model: of ``T`` users wanted at a moment, worker ``index`` runs
  ``ceil((T - index) / count)``, which sums to ``T`` for every ``T``; ramps stay ramps.
- Data rows: worker ``index`` takes rows ``index, index + count, ...``, so a feed of unique
  rows stays unique across workers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from perfeng.errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise UsageError(f"invalid shard {self.index}/{self.count}")

    @property
    def whole(self) -> bool:
        return self.count == 1

    def takes(self, arrival: int) -> bool:
        """Whether this shard sends arrival number ``arrival`` (0-based) of the schedule."""
        return arrival % self.count == self.index

    def users(self, total: float) -> int:
        """This shard's part of ``total`` users (the parts sum to ``round(total)``)."""
        wanted = round(total)
        return max(0, math.ceil((wanted - self.index) / self.count))

    def rows(self, rows: Sequence[T]) -> tuple[T, ...]:
        """This shard's data rows; every row when there are fewer rows than shards."""
        mine = tuple(rows[self.index :: self.count])
        return mine or tuple(rows)

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, sep, count = text.partition("/")
        if not sep or not index.isdigit() or not count.isdigit() or int(count) < 1:
            raise UsageError(f"invalid shard {text!r}: give INDEX/COUNT, e.g. 0/2")
        return cls(int(index), int(count))
