"""`perfeng monitor` against real loopback targets: it alerts on a failing target (stderr
line and webhook, firing then resolved, once each), serves /metrics, stops cleanly on SIGTERM
with its last period saved, measures a dead target as errors, survives a dead webhook, and
its saved periods let `perfeng detect` find a change in latency."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfeng.testing.servers import closed_port
from tests.integration.monitor_helpers import Hooks, MonitorProcess, scrape, switchable

pytestmark = pytest.mark.timeout(180)


def test_alerts_fire_and_resolve_once_each_with_webhook_and_metrics() -> None:
    hooks = Hooks()
    with switchable() as target:
        monitor = MonitorProcess(
            [
                f"{target.url}/svc",
                "--rate", "20",
                "--slo", "availability>99%",
                "--slo", "p99<300ms",
                "--period", "1h",  # windows scaled by 1/720: the page's are 5 s and 0.4 s
                "--listen", "127.0.0.1:0",
                "--webhook", hooks.url,
                "--duration", "120s",
            ]
        )  # fmt: skip
        try:
            metrics = monitor.metrics_url()
            time.sleep(1.5)
            target.failing = True
            monitor.wait_for("FIRING page: availability>99%", 30)
            firing = hooks.next(30)
            assert firing["status"] == "firing" and firing["version"] == "4"
            assert firing["commonLabels"]["slo"] == "availability"
            values = scrape(metrics)
            assert values['perfeng_slo_alert_firing{severity="page",slo="availability"}'] == 1
            name = 'name="GET /svc"'
            assert values[f'perfeng_probe_requests_total{{{name},outcome="http_5xx"}}'] > 0
            assert values[f'perfeng_probe_requests_total{{{name},outcome="ok"}}'] > 0
            # the latency SLO's threshold is a bucket of its own
            assert f'perfeng_probe_latency_seconds_bucket{{le="0.3",{name}}}' in values
            target.failing = False
            monitor.wait_for("resolved page: availability>99%", 30)
            resolved = hooks.next(30)
            while resolved["status"] != "resolved":  # the ticket's firing may come between
                resolved = hooks.next(30)
            assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
            assert monitor.stop() == 0
        finally:
            monitor.kill()
            hooks.close()
    kinds = [line.split(":")[1].strip() for line in monitor.lines if "availability>99%" in line]
    transitions = [k for k in kinds if k.startswith(("FIRING", "resolved"))]
    # deduplicated: each transition once (the ticket's 2-minute window may outlast the run)
    assert transitions.count("FIRING page") == 1 and transitions.count("resolved page") == 1
    assert transitions.count("FIRING ticket") == 1, monitor.lines
    assert transitions.count("resolved ticket") <= 1
    assert not any("p99<300ms on" in line for line in monitor.lines)  # latency stayed fine


def test_sigterm_stops_cleanly_and_saves_the_last_period(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'history.db'}"
    with switchable() as target:
        monitor = MonitorProcess(
            [
                f"{target.url}/svc", "--rate", "20", "--slo", "p99<300ms",
                "--listen", "off", "--save", "--save-every", "1h", "--store", store,
                "--tag", "env=test",
            ]
        )  # fmt: skip
        try:
            monitor.wait_for("probing", 30)
            time.sleep(1.5)
            monitor.process.send_signal(signal.SIGTERM)
            assert monitor.stop() == 0
        finally:
            monitor.kill()
    monitor.wait_for("saved ", 5)
    last = monitor.wait_for("stopped (SIGTERM)", 5)
    assert "0 failed" in last and "1 saved" in last
    listed = subprocess.run(
        [sys.executable, "-m", "perfeng", "history", "list", "--store", store],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "env=test" in listed.stdout and "source=monitor" in listed.stdout


def test_a_dead_target_is_measured_as_errors_not_a_crash() -> None:
    port = closed_port()
    monitor = MonitorProcess(
        [f"http://127.0.0.1:{port}/", "--rate", "10", "--slo", "availability>99.9%",
         "--listen", "off", "--duration", "3s"]
    )  # fmt: skip
    try:
        code = monitor.process.wait(60)
    finally:
        monitor.kill()
    monitor._reader.join(5)
    assert code == 0, monitor.lines
    last = monitor.wait_for("stopped", 1)
    probes = int(last.split(": ")[2].split(" probes")[0])
    failed = int(last.split("probes, ")[1].split(" failed")[0])
    # about 10 a second for 3 s, every one failed: no busy loop, no crash
    assert 20 <= probes <= 40 and failed == probes, last
    monitor.wait_for("FIRING page: availability>99.9%", 1)


def test_a_failing_webhook_never_stops_the_probing() -> None:
    hooks = Hooks(status=500)
    with switchable() as target:
        target.failing = True
        monitor = MonitorProcess(
            [f"{target.url}/svc", "--rate", "20", "--slo", "availability>99%", "--period", "1h",
             "--listen", "off", "--webhook", hooks.url, "--duration", "3s"]
        )  # fmt: skip
        try:
            code = monitor.process.wait(60)
        finally:
            monitor.kill()
            hooks.close()
    monitor._reader.join(5)
    assert code == 0
    monitor.wait_for("webhook refused", 1)
    last = monitor.wait_for("stopped", 1)
    probes = int(last.split(": ")[2].split(" probes")[0])
    assert probes >= 45, last  # 20/s for 3 s went on while the webhook failed


def test_saved_periods_let_detect_find_a_latency_change(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'history.db'}"
    with switchable() as target:
        monitor = MonitorProcess(
            [f"{target.url}/svc", "--rate", "40", "--slo", "p99<300ms", "--listen", "off",
             "--save", "--save-every", "1s", "--store", store, "--duration", "13s"]
        )  # fmt: skip
        try:
            monitor.wait_for("saved ", 30)
            time.sleep(5.5)
            target.delay_s = 0.05  # a deploy that adds 50 ms
            before = sum("saved " in line for line in monitor.lines)
            code = monitor.process.wait(60)
        finally:
            monitor.kill()
    assert code == 0
    detected = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfeng",
            "detect",
            "--metric",
            "total:p50",
            "--store",
            store,
            "--min-magnitude",
            "5%",  # a 50-ms p50 is so steady that a loaded machine's 0.5 % wobble tested
            "--json",  # significant and split the slow periods in two
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # exit 1: the newest segment is a regression against the one before it
    assert detected.returncode == 1, detected.stdout + detected.stderr
    found = json.loads(detected.stdout)
    assert found["newest_is_regression"] is True
    # found within a point or two of the change (the period holding it mixes both)
    assert abs(found["newest_segment_start"] - before) <= 2, (found, before)


def test_production_periods_are_a_gate_baseline(tmp_path: Path) -> None:
    """A load test of the probed endpoint is gated against the monitor's saved periods."""
    store = f"sqlite:///{tmp_path / 'history.db'}"
    (tmp_path / "perfeng.toml").write_text('[budgets]\nload = ["p50:+50%"]\n')
    with switchable() as target:
        target.delay_s = 0.02
        monitor = MonitorProcess(
            [f"{target.url}/svc", "--rate", "40", "--slo", "p99<300ms", "--listen", "off",
             "--save", "--save-every", "1s", "--store", store, "--duration", "4s"]
        )  # fmt: skip
        try:
            assert monitor.process.wait(60) == 0
        finally:
            monitor.kill()
        target.delay_s = 0.06  # the change under test triples the median
        run = subprocess.run(
            [sys.executable, "-m", "perfeng", "load", f"{target.url}/svc", "--rate", "40",
             "--duration", "2s", "--quiet", "--out", "run.json"],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
    gated = subprocess.run(
        [sys.executable, "-m", "perfeng", "gate", "run.json", "--store", store, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert gated.returncode == 1, gated.stdout + gated.stderr
    (verdict,) = json.loads(gated.stdout)["verdicts"]
    assert verdict["passed"] is False
    assert 15 <= verdict["baseline"] <= 40, verdict  # production's p50, about 20 ms


def test_a_scenario_with_checks_is_probed(tmp_path: Path) -> None:
    """A scenario file is a probe with its checks: a check that fails is a failed probe."""
    with switchable() as target:
        scenario = tmp_path / "probe.toml"
        scenario.write_text(
            f'base_url = "{target.url}"\n\n[[requests]]\nname = "svc"\npath = "/svc"\n'
            '[requests.check]\nstatus = 200\nbody_contains = "not in the body"\n\n'
            '[[workloads]]\ntype = "constant-rate"\nrate = "1/s"\nduration = "1s"\n'
        )
        monitor = MonitorProcess(
            [str(scenario), "--rate", "20", "--slo", "availability>99%", "--listen",
             "127.0.0.1:0", "--duration", "3s"]
        )  # fmt: skip
        try:
            metrics = monitor.metrics_url()
            time.sleep(1.5)
            values = scrape(metrics)
            assert values['perfeng_probe_requests_total{name="svc",outcome="check_failed"}'] > 5
            assert monitor.process.wait(60) == 0
        finally:
            monitor.kill()
    monitor._reader.join(5)
    last = monitor.wait_for("stopped", 1)
    assert " 0 failed" not in last
