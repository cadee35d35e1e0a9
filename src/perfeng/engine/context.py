"""What the executors share while a run is going: the stop flags, in-flight accounting, timers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from perfeng.engine.health import Health
from perfeng.engine.timer import PreciseTimer
from perfeng.model.recorder import Recorder
from perfeng.scenario.model import ThinkTime

Iterate = Callable[[int], Awaitable[None]]  # intended start (ns) -> one recorded iteration


class Context:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        now_ns: Callable[[], int],
        recorder: Recorder,
        health: Health,
        iterate: Iterate,
        think: ThinkTime,
        rng: random.Random,
    ) -> None:
        self.loop = loop
        self.now_ns = now_ns
        self.recorder = recorder
        self.health = health
        self.iterate = iterate
        self.think = think
        self.rng = rng
        self.stopping = False  # no new iterations from now on
        self.in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()  # open-model iterations and closed users
        # A closed-model user's whole loop, when the iterations offer one (plain requests).
        self.run_user: Callable[[Any, Any], Awaitable[None]] | None = None
        self._timers: list[PreciseTimer] = []
        self._sleepers: set[asyncio.Future[None]] = set()

    def timer(self) -> PreciseTimer:
        timer = PreciseTimer(self.loop, self.now_ns)
        self._timers.append(timer)
        return timer

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = self.loop.create_task(coro)  # type: ignore[arg-type]
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def pause(self, seconds: float) -> None:
        """Sleep that ends early when the run stops (think time must not hold up the stop)."""
        if seconds <= 0 or self.stopping:
            return
        waiter: asyncio.Future[None] = self.loop.create_future()
        handle = self.loop.call_later(seconds, _resolve, waiter)
        self._sleepers.add(waiter)
        try:
            await waiter
        finally:
            handle.cancel()
            self._sleepers.discard(waiter)

    def stop(self) -> None:
        self.stopping = True
        for timer in self._timers:
            timer.wake()
        for waiter in list(self._sleepers):
            _resolve(waiter)

    def close(self) -> None:
        for timer in self._timers:
            timer.close()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
