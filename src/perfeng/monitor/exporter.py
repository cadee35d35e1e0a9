"""``/metrics`` in the Prometheus text format, with prometheus_client on its own registry.

Names follow prometheus.io/docs/practices/naming: base units (seconds, ratios), counters end
in ``_total``, label values are bounded (request names from the scenario, outcomes from the
error classes, SLO names, windows). Latency buckets include every SLO threshold, so a latency
SLO's good events are exactly one bucket (``le="0.3"``). The ``_created`` series are off: they
double the series count and no rule reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from perfeng.monitor.state import MonitorSlo, SloStatus, window_label

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def buckets_for(slos: Iterable[MonitorSlo]) -> tuple[float, ...]:
    thresholds = {round(s.threshold_ms / 1000, 9) for s in slos if s.threshold_ms is not None}
    return tuple(sorted(set(DEFAULT_BUCKETS) | thresholds))


class Exporter:
    """The monitor's metrics; ``serve`` starts the HTTP endpoint (loopback by default)."""

    def __init__(self, slos: list[MonitorSlo], target: str) -> None:
        import prometheus_client as pc

        pc.disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = pc.CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = pc.Counter(
            "perfeng_probe_requests",
            "Probes sent to the target, by request name and outcome (ok or an error class).",
            ["name", "outcome"],
            registry=r,
        )
        self.latency = pc.Histogram(
            "perfeng_probe_latency_seconds",
            "Probe latency from the intended start (free of coordinated omission).",
            ["name"],
            buckets=buckets_for(slos),
            registry=r,
        )
        self.burn = pc.Gauge(
            "perfeng_slo_burn_rate",
            "Error ratio over the window divided by the error budget (1 = on budget).",
            ["slo", "window"],
            registry=r,
        )
        self.error_ratio = pc.Gauge(
            "perfeng_slo_error_ratio",
            "Bad probes over all probes in the window.",
            ["slo", "window"],
            registry=r,
        )
        self.remaining = pc.Gauge(
            "perfeng_slo_error_budget_remaining_ratio",
            "Share of the period's error budget left (negative when overspent).",
            ["slo"],
            registry=r,
        )
        self.objective = pc.Gauge(
            "perfeng_slo_objective_ratio", "The SLO's objective.", ["slo"], registry=r
        )
        self.alert = pc.Gauge(
            "perfeng_slo_alert_firing",
            "1 while the burn-rate alert of this severity fires.",
            ["slo", "severity"],
            registry=r,
        )
        self.dropped = pc.Counter(
            "perfeng_monitor_dropped_probes",
            "Probes not sent because too many were in flight (the target stalls).",
            registry=r,
        )
        self.lag = pc.Gauge(
            "perfeng_monitor_loop_lag_seconds",
            "The monitor's own event-loop lag (its health: high means late probes).",
            registry=r,
        )
        self.webhook = pc.Counter(
            "perfeng_monitor_webhook_deliveries",
            "Webhook notifications, by result (sent, retried, failed).",
            ["result"],
            registry=r,
        )
        self.info = pc.Info("perfeng_monitor", "What this monitor probes.", registry=r)
        self.info.info({"target": target})
        for slo in slos:
            self.objective.labels(slo.name).set(slo.objective / 100)
            for severity in ("page", "ticket"):
                self.alert.labels(slo.name, severity).set(0)
        self.server: Any = None
        self._dropped_seen = 0

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Starts the endpoint on a thread; returns the address it listens on."""
        import prometheus_client as pc

        server, _thread = pc.start_http_server(port, addr=host, registry=self.registry)
        self.server = server
        bound_host, bound_port = server.server_address[:2]
        return str(bound_host), int(bound_port)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def probe(self, name: str, error: str | None, latency_s: float | None) -> None:
        self.requests.labels(name, error or "ok").inc()
        if latency_s is not None:
            self.latency.labels(name).observe(latency_s)

    def update(self, statuses: list[SloStatus], dropped: int, lag_s: float) -> None:
        for status in statuses:
            name = status.slo.name
            for window, ratio in status.ratios.items():
                label = window_label(window)
                self.error_ratio.labels(name, label).set(_nan(ratio))
                self.burn.labels(name, label).set(_nan(status.burn_rates[window]))
            self.remaining.labels(name).set(_nan(status.budget_remaining))
            for severity, on in status.firing.items():
                self.alert.labels(name, severity).set(1 if on else 0)
        if dropped > self._dropped_seen:
            self.dropped.inc(dropped - self._dropped_seen)
            self._dropped_seen = dropped
        self.lag.set(lag_s)

    def text(self) -> bytes:
        import prometheus_client as pc

        return bytes(pc.generate_latest(self.registry))


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value
