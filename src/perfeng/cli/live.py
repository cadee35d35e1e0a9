"""Live progress while a run goes: a rich panel on a terminal, a plain line every 5 s
otherwise (CI logs). Refreshed from the engine's once-a-second tick, never from a thread of
its own, so the display takes no CPU from the load loop between ticks."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TextIO

from perfeng.model.histogram import values_at_ms
from perfeng.units import format_ms

_PLAIN_EVERY_S = 5


class LiveProgress:
    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and stream.isatty()
        self._live: Any = None
        self._last_plain = 0

    def __enter__(self) -> LiveProgress:
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=self.stream), auto_refresh=False, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)

    def update(self, progress: Any) -> None:
        if not self.enabled:
            return
        line = self.line(progress)
        if self._live is not None:
            from rich.text import Text

            self._live.update(Text(line), refresh=True)
        elif int(progress.elapsed_s) >= self._last_plain + _PLAIN_EVERY_S:
            self._last_plain = int(progress.elapsed_s)
            print(line, file=self.stream, flush=True)

    @staticmethod
    def line(progress: Any) -> str:
        interval = progress.interval
        rate = p50 = p99 = "-"
        target = ""
        if interval is not None:
            rate = f"{interval.requests / max(interval.duration_s, 1e-9):,.0f}/s"
            if interval.target_rate is not None:
                target = f" (target {interval.target_rate:,.0f}/s)"
            low, high = values_at_ms(interval.latency, (50.0, 99.0))
            p50, p99 = format_ms(low), format_ms(high)
        remaining = max(progress.duration_s - progress.elapsed_s, 0)
        return (
            f"{progress.elapsed_s:5.0f}s elapsed, {remaining:4.0f}s left | rate {rate}"
            f"{target} | p50 {p50} ms p99 {p99} ms | requests {progress.requests:,} "
            f"errors {progress.errors:,} dropped {progress.dropped:,} | "
            f"in flight {progress.in_flight:,}"
        )
