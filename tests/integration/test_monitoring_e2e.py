"""End to end: a real Prometheus scrapes `perfeng monitor`, with the rules `perfeng slo rules`
writes (period 8h, so the windows are seconds: the page's are 40 s and 3.3 s). The target is
made to fail: the alert fires in Prometheus's /api/v1/alerts and the monitor's webhook gets
it; the target heals and both resolve. `perfeng slo report --from prometheus://` then reads
the budget the failure spent."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.monitor_helpers import Hooks, MonitorProcess, switchable
from tests.integration.prometheus_server import firing_alerts, prometheus

pytestmark = pytest.mark.timeout(240)
SPEC = Path(__file__).resolve().parents[2] / "docs" / "slo" / "monitor.toml"


def _until(check, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def test_prometheus_and_the_monitor_alert_then_resolve(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    made = subprocess.run(
        [sys.executable, "-m", "perfeng", "slo", "rules", str(SPEC), "--period", "8h",
         "-o", str(rules)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    hooks = Hooks()
    with switchable() as target:
        monitor = MonitorProcess(
            [f"{target.url}/svc", "--rate", "20", "--slo", "availability>99%", "--period", "8h",
             "--listen", "127.0.0.1:0", "--webhook", hooks.url, "--duration", "200s"]
        )  # fmt: skip
        try:
            metrics = monitor.metrics_url()
            scrape = metrics.removeprefix("http://").removesuffix("/metrics")
            with prometheus(tmp_path, scrape, rules) as base:
                _until(lambda: _has_series(base), 30, "the first scrapes and rule evaluations")
                target.failing = True
                failing_since = time.monotonic()
                _until(lambda: _severities(base) >= {"page"}, 60, "the page in Prometheus")
                alert = next(
                    a for a in firing_alerts(base) if a["labels"]["slo_severity"] == "page"
                )
                assert alert["labels"]["alertname"] == "ShopProbes"
                assert alert["labels"]["slo_id"] == "shop-probes"
                _hook(hooks, "firing", "page", 30)
                target.failing = False
                failed_s = time.monotonic() - failing_since
                _until(lambda: "page" not in _severities(base), 90, "the page to resolve")
                _hook(hooks, "resolved", "page", 60)
                report = subprocess.run(
                    [sys.executable, "-m", "perfeng", "slo", "report", str(SPEC), "--from",
                     base.replace("http://", "prometheus://"), "--period", "8h", "--format",
                     "json"],
                    capture_output=True, text=True, timeout=60,
                )  # fmt: skip
            assert monitor.stop() == 0
        finally:
            monitor.kill()
            hooks.close()
    assert report.returncode == 0, report.stderr
    (budget,) = json.loads(report.stdout)
    assert budget["name"] == "shop-probes" and budget["events"] > 100
    # the failing seconds were seen as errors: at 20 probes a second, about 20 * failed_s of
    # them (Prometheus's increase() extrapolates, and the page can come within a second or two)
    assert budget["bad"] > min(0.5 * 20 * failed_s, 10), (budget, failed_s)
    assert budget["budget_spent"] > 0
    assert budget["worst"], budget


def _has_series(base: str) -> bool:
    from tests.integration.prometheus_server import api

    found = api(base, "/api/v1/query?query=slo%3Asli_error%3Aratio_rate3s333ms")["result"]
    return bool(found)


def _severities(base: str) -> set[str]:
    return {a["labels"]["slo_severity"] for a in firing_alerts(base)}


def _hook(hooks: Hooks, status: str, severity: str, timeout_s: float) -> None:
    """Wait for the webhook to receive this transition (others may come between)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = hooks.next(max(deadline - time.monotonic(), 0.01))
        if body["status"] == status and body["commonLabels"]["slo_severity"] == severity:
            return
