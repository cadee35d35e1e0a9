"""Error budgets over an SLO period, from counts of good and bad events in time buckets.

For each SLO: the SLI over the period (good / all events: counts, not a mean of ratios, so a
quiet night weighs what it served), the budget spent (bad / all, over 1 - objective) and
left, the worst buckets, the burn rate now (the error ratio of the most recent window as
long as the Workbook's fast page window, period / 720, over the budget) and when the budget
runs out at that rate: remaining x period / burn (Google SRE Workbook, ch. 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perfeng.gates.slo import burn_rate, exhaustion_s

FAST_WINDOW_SHARE = 1 / 720  # 1 h of 30 days: the window of the fast-burn page


@dataclass(frozen=True)
class Bucket:
    start_s: float  # epoch seconds
    end_s: float
    total: float
    bad: float
    ratio: float | None = None  # a raw SLI's error ratio, when there are no counts


@dataclass(frozen=True)
class BudgetReport:
    name: str
    objective: float  # percent
    period_s: float
    source: str
    events: float
    bad: float
    sli: float | None  # percent good over the period (None: no events)
    budget_spent: float | None  # share of the period's budget
    budget_remaining: float | None
    burn_now: float | None
    burn_window_s: float
    exhausted_in_s: float | None  # None: not burning (or no data)
    worst: tuple[Bucket, ...]
    covered_s: float  # how much of the period the data covers
    note: str = ""


def budget_report(
    name: str,
    objective: float,
    period_s: float,
    buckets: Sequence[Bucket],
    source: str,
    now_s: float,
) -> BudgetReport:
    inside = [b for b in buckets if b.end_s > now_s - period_s and b.start_s <= now_s]
    total = sum(b.total for b in inside)
    bad = sum(_bad(b) for b in inside)
    ratio = bad / total if total else None
    spent = burn_rate(ratio, objective)
    window = period_s * FAST_WINDOW_SHARE
    burn_now = burn_rate(_recent_ratio(inside, now_s, window), objective)
    remaining = None if spent is None else 1.0 - spent
    covered = sum(min(b.end_s, now_s) - max(b.start_s, now_s - period_s) for b in inside)
    worst = sorted((b for b in inside if b.total), key=_ratio_of, reverse=True)[:3]
    return BudgetReport(
        name=name,
        objective=objective,
        period_s=period_s,
        source=source,
        events=total,
        bad=bad,
        sli=None if ratio is None else 100.0 * (1.0 - ratio),
        budget_spent=spent,
        budget_remaining=remaining,
        burn_now=burn_now,
        burn_window_s=window,
        exhausted_in_s=exhaustion_s(remaining, burn_now, period_s),
        worst=tuple(b for b in worst if _ratio_of(b) > 0),
        covered_s=max(covered, 0.0),
    )


def _bad(bucket: Bucket) -> float:
    if bucket.ratio is not None and not bucket.bad:
        return bucket.ratio * bucket.total
    return bucket.bad


def _ratio_of(bucket: Bucket) -> float:
    return _bad(bucket) / bucket.total if bucket.total else 0.0


def _recent_ratio(buckets: Sequence[Bucket], now_s: float, window_s: float) -> float | None:
    """The error ratio of the newest buckets covering at least ``window_s`` (or the newest
    bucket alone when it is longer than the window)."""
    total = bad = 0.0
    for bucket in sorted(buckets, key=lambda b: b.end_s, reverse=True):
        total += bucket.total
        bad += _bad(bucket)
        if bucket.start_s <= now_s - window_s:
            break
    return bad / total if total else None
