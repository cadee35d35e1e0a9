"""The proxy in a thread of its own, driven from any other thread (a load run's, a test's).

The proxy keeps its own event loop so that its timers are not delayed by the load engine's
work on the caller's loop; every call crosses into that loop and waits for its answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from perfeng.eventloop import new_loop
from perfeng.proxy.server import FaultProxy
from perfeng.proxy.spec import FaultSpec

T = TypeVar("T")


class ProxyThread:
    """``with ProxyThread(FaultProxy(upstream)) as running:`` ... ``running.address``."""

    def __init__(self, proxy: FaultProxy, start_timeout_s: float = 5.0) -> None:
        self.proxy = proxy
        self.start_timeout_s = start_timeout_s
        self.loop = new_loop()
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, name="perfeng-proxy", daemon=True)

    def __enter__(self) -> ProxyThread:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.proxy.address

    def start(self) -> None:
        self._thread.start()
        self._started.result(self.start_timeout_s)  # a bind error is raised here

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.proxy.start())
        except BaseException as exc:  # reported to start(), in the caller's thread
            self._started.set_exception(exc)
            self.loop.close()
            return
        self._started.set_result(None)
        self.loop.run_forever()
        self.loop.run_until_complete(self.proxy.stop())
        self.loop.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5.0)

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the proxy's loop and return its result."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function())
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(5.0)

    def add(self, name: str, spec: FaultSpec) -> None:
        self.call(lambda: self.proxy.add(name, spec))

    def remove(self, name: str) -> bool:
        return self.call(lambda: self.proxy.remove(name))

    def at(self, loop_s: float, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the proxy's loop at ``loop_s`` (its clock, ``loop.time()``)."""
        self.loop.call_soon_threadsafe(lambda: self.loop.call_at(loop_s, callback))
