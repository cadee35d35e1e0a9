"""Runs a scenario's workloads and returns what they measured.

Two-phase stop (k6): when the plan ends, or a stop is requested, no new iteration starts;
requests in flight get ``grace_s`` to finish, then are cancelled and recorded as timeouts. A
second stop request (a second Ctrl-C) skips the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import math
import random
import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfeng.clock import Clock
from perfeng.engine.context import Context, Iterate
from perfeng.engine.executors import run_closed, run_open
from perfeng.engine.health import Health
from perfeng.engine.http.client import Client
from perfeng.engine.http.request import join_url, split_url
from perfeng.engine.iterations import RequestIterations
from perfeng.engine.shard import Shard
from perfeng.engine.timer import PRECISE_TIMER
from perfeng.engine.workloads.base import Plan
from perfeng.model.recorder import Interval, Measurements, Recorder
from perfeng.scenario.model import Scenario

_NS = 1_000_000_000
_LAG_PROBE_NS = 10_000_000  # the event-loop lag probe wakes every 10 ms


@dataclass(frozen=True)
class Progress:
    """What the live display shows, once a second."""

    elapsed_s: float
    duration_s: float
    interval: Interval | None
    requests: int
    errors: int
    dropped: int
    in_flight: int


@dataclass
class RunOptions:
    grace_s: float = 5.0
    max_in_flight: int | None = None
    seed: int | None = None
    on_progress: Callable[[Progress], None] | None = None
    # called once a second with the recorder; returns a reason to stop (abort thresholds)
    should_abort: Callable[[Recorder, float], str | None] | None = None
    # builds the recorder (start_ns, wall_start_s, gauges): the monitor's keeps no history
    recorder_factory: Callable[..., Recorder] | None = None
    # how often the event-loop lag probe wakes: 10 ms in load tests; a monitor sending one
    # probe a second needs no such resolution and would spend most of its CPU on it
    lag_probe_ns: int = _LAG_PROBE_NS
    # this generator's share of the plan when several run it (engine/shard.py)
    shard: Shard | None = None
    # start the clock at this epoch second, so that several generators start together
    start_at_wall_s: float | None = None


def default_max_in_flight(peak_rate: float) -> int:
    """Room for two seconds of arrivals (a 1 s stall loses nothing), within the fd limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return max(1, min(max(100, math.ceil(peak_rate * 2)), 20_000, soft - 100))


class Engine:
    def __init__(self, scenario: Scenario, clock: Clock, options: RunOptions) -> None:
        shard = options.shard
        if shard is not None and not shard.whole and scenario.data is not None:
            data = dataclasses.replace(scenario.data, rows=shard.rows(scenario.data.rows))
            scenario = dataclasses.replace(scenario, data=data)
        self.scenario = scenario
        self.clock = clock
        self.options = options
        self.plans: list[Plan] = [w.plan() for w in scenario.workloads]
        self.stop_reason: str | None = None
        self._stop_requests = 0
        self._ctx: Context | None = None
        self._stop_event: asyncio.Event | None = None

    @property
    def duration_s(self) -> float:
        return max(p.duration_s for p in self.plans)

    @property
    def recorder(self) -> Recorder | None:
        return self._ctx.recorder if self._ctx is not None else None

    @property
    def in_flight(self) -> int:
        return self._ctx.in_flight if self._ctx is not None else 0

    @property
    def health(self) -> Health | None:
        return self._ctx.health if self._ctx is not None else None

    def snapshot(self) -> Measurements | None:
        """What has been measured so far (None before the run starts)."""
        ctx = self._ctx
        if ctx is None:
            return None
        generator = {**ctx.health.report(), "stop_reason": self.stop_reason, "partial": True}
        return ctx.recorder.snapshot(self.clock.now_ns(), self.clock.wall_s(), generator)

    def request_stop(self, reason: str) -> None:
        """First call: graceful stop. Second call: stop at once."""
        self._stop_requests += 1
        if self.stop_reason is None:
            self.stop_reason = reason
        if self._ctx is not None:
            self._ctx.stop()
        if self._stop_event is not None:
            self._stop_event.set()

    async def run(self) -> Measurements:
        loop = asyncio.get_running_loop()
        clock, now_ns = self.clock, self.clock.now_ns
        options = self.client_options()
        client = Client(loop, now_ns, **options)
        rng = random.Random(self.options.seed)
        health = Health(now_ns, clock.cpu_ns)
        await self._warm_up(client)
        # Objects made before the run (modules, the scenario) are never garbage; freezing
        # them keeps the collector's occasional full passes short while load is running.
        # Done before the clock starts: a full collection takes ~20 ms.
        gc.collect()
        gc.freeze()
        if self.options.start_at_wall_s is not None:
            await self._until_wall(self.options.start_at_wall_s)
        start_ns = now_ns()
        make = self.options.recorder_factory or Recorder
        recorder = make(start_ns, clock.wall_s(), self._gauges(start_ns))
        iterate = self._iterations(client, recorder, rng)
        ctx = self._ctx = Context(
            loop, now_ns, recorder, health, iterate, self.scenario.think_time, rng
        )
        if isinstance(iterate, RequestIterations) and not iterate.follow:
            ctx.run_user = iterate.run_user
        self._stop_event = asyncio.Event()
        client.start()
        helpers = [
            loop.create_task(self._tick(ctx, start_ns)),
            loop.create_task(self._probe_lag(ctx)),
        ]
        load_end_ns = start_ns
        try:
            await self._execute(ctx, start_ns)
            load_end_ns = now_ns()
            await self._drain(ctx)
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await client.aclose()
            ctx.close()
            gc.unfreeze()
        generator = {
            **health.report(),
            "connections_opened": client.connections_opened,
            "timer": "timerfd" if PRECISE_TIMER else "asyncio",
            "stop_reason": self.stop_reason,
        }
        # The measured span ends with the load or with the last answer, whichever is later:
        # not after the shutdown, which would understate the throughput.
        end_ns = max(load_end_ns, recorder.last_done_ns)
        wall_end = recorder.wall_start_s + (end_ns - start_ns) / _NS
        return recorder.finish(end_ns, wall_end, generator)

    async def _until_wall(self, epoch_s: float) -> None:
        """Sleep until the wall clock reads ``epoch_s``: coarsely, then in 0.1 ms steps for
        the last 2 ms, so generators started together begin within a millisecond or two."""
        while (left := epoch_s - self.clock.wall_s()) > 0.002:
            await asyncio.sleep(left - 0.002)
        while self.clock.wall_s() < epoch_s:
            await asyncio.sleep(0.0001)

    async def _warm_up(self, client: Client) -> None:
        """Open the connections the first moments will need, before the clock starts: users'
        own connections in the closed model, a few in the open model. Bounded to one second
        so a target that does not answer delays nothing; failures are left to the run."""
        wanted = 0
        for index, plan in enumerate(self.plans):
            first = plan.stages[0].start if plan.stages else 0.0
            if plan.model == "closed":
                wanted += int(first)
            else:
                peak = max(max(s.start, s.end) for s in plan.stages)
                wanted += min(self.max_in_flight_for(index), math.ceil(peak / 1000) + 4)
        origins = {
            split_url(join_url(self.scenario.base_url, r.url.split("${")[0] or "/"))[0]
            for r in self.scenario.requests
        }
        count = min(wanted, 1000)
        if not count or not origins:
            return
        warming = [client.warm(client.pool(origin), count) for origin in origins]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*warming), min(1.0, client.connect_timeout_s))

    def client_options(self) -> dict[str, Any]:
        c = self.scenario.client
        return {
            "connect_timeout_s": c.connect_timeout_s,
            "read_timeout_s": c.read_timeout_s,
            "total_timeout_s": c.total_timeout_s,
            "insecure": c.insecure,
        }

    def _iterations(self, client: Client, recorder: Recorder, rng: random.Random) -> Iterate:
        if self.scenario.flow is not None:
            from perfeng.engine.session import FlowIterations

            return FlowIterations(self.scenario, client, recorder, self.clock.now_ns)
        return RequestIterations(self.scenario, client, recorder, self.clock.now_ns, rng)

    def max_in_flight_for(self, index: int) -> int:
        workload = self.scenario.workloads[index]
        given = getattr(workload, "max_in_flight", None) or self.options.max_in_flight
        if given:
            return int(given)
        count = self.options.shard.count if self.options.shard is not None else 1
        peak = max(max(s.start, s.end) for s in self.plans[index].stages)
        return default_max_in_flight(peak / count)

    async def _execute(self, ctx: Context, start_ns: int) -> None:
        runs = []
        for index, plan in enumerate(self.plans):
            shard = self.options.shard
            if plan.model == "open":
                limit = self.max_in_flight_for(index)
                runs.append(run_open(plan, ctx, start_ns, limit, shard))
            else:
                runs.append(run_closed(plan, ctx, start_ns, shard))
        executors: asyncio.Future[Any] = asyncio.gather(*runs)
        assert self._stop_event is not None
        stopper: asyncio.Future[Any] = asyncio.ensure_future(self._stop_event.wait())
        await asyncio.wait([executors, stopper], return_when=asyncio.FIRST_COMPLETED)
        ctx.stop()
        stopper.cancel()
        await asyncio.gather(executors, stopper, return_exceptions=True)

    async def _drain(self, ctx: Context) -> None:
        """Grace for the requests in flight, then cancel what is left."""
        pending = set(ctx.tasks)
        if pending and self._stop_requests < 2:
            assert self._stop_event is not None
            self._stop_event.clear()
            hurry: asyncio.Future[Any] = asyncio.ensure_future(self._stop_event.wait())
            finished: asyncio.Future[Any] = asyncio.gather(*pending, return_exceptions=True)
            await asyncio.wait(
                [finished, hurry],
                timeout=self.options.grace_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            hurry.cancel()
        for task in list(ctx.tasks):
            task.cancel()
        await asyncio.gather(*list(ctx.tasks), return_exceptions=True)

    def _gauges(self, start_ns: int) -> Callable[[int], tuple[float | None, int]]:
        open_plans = [p for p in self.plans if p.model == "open"]
        shard = self.options.shard
        # a shard sends every Nth arrival of the whole plan: it is offered 1/N of its rate, so
        # that the merged figure (a sum) is the plan's
        share = 1.0 if shard is None else 1.0 / shard.count

        def gauges(now_ns: int) -> tuple[float | None, int]:
            in_flight = self._ctx.in_flight if self._ctx is not None else 0
            if not open_plans:
                return None, in_flight
            t = (now_ns - start_ns) / _NS - 0.5  # the middle of the slice that just closed
            offered = sum(p.value_at(max(t, 0.0)) for p in open_plans) * share
            return round(offered, 3), in_flight

        return gauges

    async def _tick(self, ctx: Context, start_ns: int) -> None:
        """Once a second: close the slice, sample CPU, report progress, check aborts."""
        timer = ctx.timer()
        recorder = ctx.recorder
        next_ns = recorder.next_boundary_ns  # wall-clock aligned
        while True:
            await timer.sleep_until(next_ns)
            now = self.clock.now_ns()
            recorder.roll(now)
            ctx.health.sample_cpu()
            next_ns = recorder.next_boundary_ns
            elapsed = (now - start_ns) / _NS
            self._report(ctx, elapsed)
            if self.options.should_abort is not None and self.stop_reason is None:
                reason = self.options.should_abort(recorder, elapsed)
                if reason is not None:
                    self.request_stop(reason)

    def _report(self, ctx: Context, elapsed: float) -> None:
        if self.options.on_progress is None:
            return
        recorder = ctx.recorder
        self.options.on_progress(
            Progress(
                elapsed_s=elapsed,
                duration_s=self.duration_s,
                interval=recorder.intervals[-1] if recorder.intervals else None,
                requests=recorder.requests,
                errors=recorder.errors,
                dropped=recorder.dropped,
                in_flight=ctx.in_flight,
            )
        )

    async def _probe_lag(self, ctx: Context) -> None:
        timer = ctx.timer()
        now_ns = self.clock.now_ns
        every = self.options.lag_probe_ns
        due = now_ns()
        while True:
            due += every
            await timer.sleep_until(due)
            now = now_ns()
            ctx.health.note_loop_lag(now - due)
            if now - due > every:
                due = now  # do not fire a burst of catch-up probes after a long block
