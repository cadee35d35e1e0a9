"""How workloads run: the open model (arrivals on a schedule) and the closed model (users)."""

from __future__ import annotations

import asyncio

from perfeng.engine.context import Context
from perfeng.engine.schedule import ArrivalSchedule
from perfeng.engine.shard import Shard
from perfeng.engine.workloads.base import Plan

_YIELD_EVERY = 64  # arrivals handled back to back before letting I/O in, when behind schedule
# Arrivals closer together than this share one wake-up. Zero: measured at 5,000 req/s on this
# VM, sharing wake-ups within 0.4 ms saved 8 % of a core but put schedule lag p99 at 1.2-3.2 ms
# (0.3-0.8 ms without) and tripled the median latency reported for a fast target.
_BATCH_NS = 0
_CONTROL_S = 0.1  # how often the closed model adjusts its user count to the plan


async def run_open(
    plan: Plan, ctx: Context, start_ns: int, max_in_flight: int, shard: Shard | None = None
) -> None:
    """Start each arrival at its absolute time; when ``max_in_flight`` requests are already
    out, count the arrival as dropped instead of delaying it (k6's dropped_iterations)."""
    schedule = ArrivalSchedule(plan, shard)
    timer = ctx.timer()
    now_ns, health, recorder = ctx.now_ns, ctx.health, ctx.recorder
    back_to_back = 0
    woke = now_ns()
    while not ctx.stopping:
        offset = schedule.next_offset_s()
        if offset is None:
            return
        due = start_ns + round(offset * 1e9)
        now = now_ns()
        if due > now:
            await timer.sleep_until(due if due - woke >= _BATCH_NS else woke + _BATCH_NS)
            back_to_back = 0
            if ctx.stopping:
                return
            now = woke = now_ns()
        else:
            back_to_back += 1
            if back_to_back >= _YIELD_EVERY:
                back_to_back = 0
                await asyncio.sleep(0)
        health.note_schedule_lag(now - due)
        if ctx.in_flight >= max_in_flight:
            recorder.record_dropped()
            continue
        ctx.in_flight += 1  # counted now, not when the task first runs: a batch of
        ctx.spawn(_arrival(ctx, due))  # arrivals must see each other in the check above


async def _arrival(ctx: Context, intended_ns: int) -> None:
    try:
        await ctx.iterate(intended_ns)
    finally:
        ctx.in_flight -= 1


class _User:
    __slots__ = ("retired", "task")

    def __init__(self) -> None:
        self.retired = False
        self.task: asyncio.Task[None] | None = None


async def _user_loop(ctx: Context, user: _User) -> None:
    now_ns, iterate, think, rng = ctx.now_ns, ctx.iterate, ctx.think, ctx.rng
    thinking = think.kind != "none"
    while not ctx.stopping and not user.retired:
        start = now_ns()
        ctx.in_flight += 1
        try:
            await iterate(start)
        finally:
            ctx.in_flight -= 1
        if thinking:
            await ctx.pause(think.pause_s((now_ns() - start) / 1e9, rng))


async def run_closed(plan: Plan, ctx: Context, start_ns: int, shard: Shard | None = None) -> None:
    """Keep as many users looping as the plan says (this shard's part of them); a retired user
    finishes its iteration."""
    part = shard or Shard()
    users: list[_User] = []
    end_ns = start_ns + round(plan.duration_s * 1e9)
    timer = ctx.timer()
    while not ctx.stopping:
        now = ctx.now_ns()
        if now >= end_ns:
            break
        target = part.users(plan.value_at((now - start_ns) / 1e9))
        _adjust(ctx, users, target)
        await timer.sleep_until(min(now + round(_CONTROL_S * 1e9), end_ns))
    for user in users:
        user.retired = True


async def _plain_user(ctx: Context, user: _User) -> None:
    assert ctx.run_user is not None
    ctx.in_flight += 1  # without think time a user always has a request out
    try:
        await ctx.run_user(ctx, user)
    finally:
        ctx.in_flight -= 1


def _adjust(ctx: Context, users: list[_User], target: int) -> None:
    while len(users) < target:
        user = _User()
        plain = ctx.run_user is not None and ctx.think.kind == "none"
        user.task = ctx.spawn(_plain_user(ctx, user) if plain else _user_loop(ctx, user))
        users.append(user)
    while len(users) > target:
        users.pop().retired = True
