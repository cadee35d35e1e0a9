"""The synthetic monitor, callable from Python: probe a target at a steady open-model rate
with the load engine until stopped, serve /metrics, evaluate the SLOs' burn-rate alerts
itself (a line and a webhook per transition) and append a summary to the history database
every ``save_every_s``. Nothing here prints: lines go to ``on_line``.

Memory stays flat however long it runs: the engine's recorder keeps two minutes of
per-second slices and its totals restart at each saved period, the SLO windows are fixed
rings (monitor/state.py), and every metric label is bounded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perfeng.model.sample import Sample
from perfeng.monitor.state import AlertEvent, MonitorSlo, MonitorState, describe

MAX_PLAN_S = 30 * 86400.0  # the engine plans at most 30 days; the monitor then plans again
_NS = 1_000_000_000
LAG_PROBE_NS = 100_000_000  # the monitor's own loop-lag probe: 10 a second is enough


@dataclass(frozen=True)
class MonitorConfig:
    scenario: Any  # a Scenario whose requests are the probes (its workloads are replaced)
    rate: float  # probes per second
    slos: tuple[MonitorSlo, ...]
    period_s: float = 30 * 86400.0
    listen: tuple[str, int] | None = ("127.0.0.1", 9464)
    webhook: str | None = None
    webhook_attempts: int = 5
    webhook_first_delay_s: float = 1.0
    save_every_s: float | None = None
    store_url: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    duration_s: float | None = None  # None: until stopped
    max_in_flight: int | None = None
    argv: tuple[str, ...] = ()


@dataclass
class MonitorReport:
    probes: int = 0
    failures: int = 0
    dropped: int = 0
    alerts: deque[AlertEvent] = field(default_factory=lambda: deque(maxlen=100))
    saved: list[int] = field(default_factory=list)
    metrics_address: str | None = None
    stop_reason: str | None = None
    webhook_sent: int = 0
    webhook_failed: int = 0


class Monitor:
    """One monitor run. ``stop()`` (from a signal handler) ends it cleanly."""

    def __init__(self, config: MonitorConfig, on_line: Callable[[str], None]) -> None:
        from perfeng.monitor.exporter import Exporter

        self.config = config
        self.on_line = on_line
        self.target = config.scenario.base_url
        self.state = MonitorState(list(config.slos), config.period_s)
        self.exporter = Exporter(list(config.slos), self.target)
        self.report = MonitorReport()
        self.engine: Any = None
        self.stopping: str | None = None
        self._dropped_before = 0  # by the recorders of earlier 30-day plans
        self._saved_dropped = 0  # by the saved periods of the current one
        self._notifier: Any = None

    # ---------------------------------------------------------------- probes in

    def on_sample(self, sample: Sample) -> None:
        latency_ns = sample.done_ns - sample.intended_ns
        self.state.add(sample.done_ns, sample.error, latency_ns / 1e6)
        answered = sample.status != 0 or sample.error == "timeout"
        self.exporter.probe(sample.name, sample.error, latency_ns / 1e9 if answered else None)

    # ---------------------------------------------------------------- the run

    def run(self) -> MonitorReport:
        from perfeng.eventloop import new_loop

        if self.config.listen is not None:
            host, port = self.exporter.serve(*self.config.listen)
            self.report.metrics_address = f"http://{host}:{port}/metrics"
            self.on_line(f"perfeng monitor: metrics on {self.report.metrics_address}")
        loop = new_loop()
        try:
            for signum, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
                loop.add_signal_handler(signum, self.stop, name)
            loop.run_until_complete(self._main())
        finally:
            loop.close()
            self.exporter.close()
        self.report.probes = self.state.probes
        self.report.failures = self.state.failures
        self.report.stop_reason = self.stopping
        return self.report

    def stop(self, reason: str = "stopped") -> None:
        if self.stopping is None:
            self.stopping = reason
        if self.engine is not None:
            self.engine.request_stop(reason)

    async def _main(self) -> None:
        if self.config.webhook:
            from perfeng.monitor.webhook import Notifier

            self._notifier = Notifier(
                self.config.webhook,
                self._webhook_result,
                attempts=self.config.webhook_attempts,
                first_delay_s=self.config.webhook_first_delay_s,
            )
            self._notifier.start()
        ticker = asyncio.get_running_loop().create_task(self._tick())
        try:
            await self._probe()
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            self._evaluate()  # the last state: alerts and gauges as they stand
            if self.config.save_every_s:
                self._save()
            if self._notifier is not None:
                await self._notifier.drain(5.0)

    async def _probe(self) -> None:
        from perfeng.clock import MonotonicClock
        from perfeng.engine.runner import Engine, RunOptions
        from perfeng.engine.workloads import ConstantRate
        from perfeng.monitor.recorder import recorder_factory

        left = self.config.duration_s
        while self.stopping is None and (left is None or left > 0):
            span = MAX_PLAN_S if left is None else min(left, MAX_PLAN_S)
            workload = ConstantRate(
                rate=self.config.rate, duration_s=span, max_in_flight=self.config.max_in_flight
            )
            scenario = dataclasses.replace(self.config.scenario, workloads=(workload,))
            options = RunOptions(
                grace_s=2.0,
                recorder_factory=recorder_factory(self.on_sample),
                lag_probe_ns=LAG_PROBE_NS,
            )
            self.engine = Engine(scenario, MonotonicClock(), options)
            started = time.monotonic()
            await self.engine.run()
            if left is not None:
                left -= time.monotonic() - started
                if left < 1.0:  # the plan's last arrival came a little before its end
                    break
            # a 30-day plan is over and another starts: its recorder's period goes first
            if self.config.save_every_s:
                self._save()
            self._dropped_before += self.engine.recorder.dropped if self.engine.recorder else 0

    async def _tick(self) -> None:
        save_every = self.config.save_every_s
        next_save = time.monotonic() + save_every if save_every else None
        while True:
            await asyncio.sleep(1.0 - time.time() % 1.0)
            self._evaluate()
            if next_save is not None and time.monotonic() >= next_save:
                next_save += save_every or 0.0
                self._save()

    # ---------------------------------------------------------------- out

    def _dropped(self) -> int:
        recorder = self.engine.recorder if self.engine is not None else None
        return self._dropped_before + self._saved_dropped + (recorder.dropped if recorder else 0)

    def _evaluate(self) -> None:
        now_ns, wall = time.monotonic_ns(), time.time()
        statuses, events = self.state.evaluate(now_ns, wall)
        health = self.engine.health if self.engine is not None else None
        lag_s = health.recent_lag_ns() / 1e9 if health is not None else 0.0
        if health is not None:
            health.forget(600)
        self.report.dropped = self._dropped()
        self.exporter.update(statuses, self.report.dropped, lag_s)
        for event in events:
            self.report.alerts.append(event)
            self.on_line(describe(event, self.target))
            if self._notifier is not None:
                from perfeng.monitor.webhook import payload

                external = self.report.metrics_address or "perfeng monitor"
                self._notifier.notify(payload(event, self.target, external))

    def _webhook_result(self, result: str, detail: str) -> None:
        self.exporter.webhook.labels(result).inc()
        if result == "sent":
            self.report.webhook_sent += 1
        elif result == "failed":
            self.report.webhook_failed += 1
            self.on_line(f"perfeng monitor: webhook failed: {detail} (probing goes on)")
        elif result == "retried":
            self.on_line(f"perfeng monitor: webhook refused ({detail}); retrying")

    def _save(self) -> None:
        """The period since the last save, as a run document in the history database."""
        recorder = self.engine.recorder if self.engine is not None else None
        if recorder is None or not recorder.requests:
            return
        from perfeng.errors import PerfengError
        from perfeng.store import open_store

        wall, now_ns = time.time(), time.monotonic_ns()
        measured = recorder.take_period(now_ns, wall, {"partial": False, "monitor": True})
        self._saved_dropped += measured.dropped
        document = self._document(measured)
        try:
            with open_store(self.config.store_url) as store:
                result_id = store.add(document, {"source": "monitor", **self.config.tags})
        except PerfengError as exc:  # the store is down: say so, keep probing
            self.on_line(f"perfeng monitor: not saved to the history: {exc}")
            return
        self.report.saved.append(result_id)
        self.on_line(f"perfeng monitor: saved {measured_requests(measured)} probes as #{result_id}")

    def _document(self, measured: Any) -> dict[str, Any]:
        from perfeng.model.result import build_document
        from perfeng.workflows.load import _masked
        from perfeng.workflows.metadata import collect

        workload = {"type": "monitor", "name": "monitor", "rate": self.config.rate}
        return build_document(
            metadata=collect(measured.wall_start_s, measured.wall_end_s, list(self.config.argv)),
            workloads=[workload],
            measurements=measured,
            thresholds=[],
            cache={},
            extra={
                "scenario": _masked(self.config.scenario.describe()),
                "model": "open",
                "notes": ["a period of perfeng monitor's probes"],
                "interrupted": None,
                "partial": False,
            },
        )


def measured_requests(measured: Any) -> int:
    return sum(stats.requests for stats in measured.names.values())


def run_monitor(config: MonitorConfig, on_line: Callable[[str], None]) -> MonitorReport:
    return Monitor(config, on_line).run()
