"""The monitor's sans-IO core on a fake clock: burn rates, alert transitions once each, a
state whose size does not grow over a simulated day, and webhook retries."""

from __future__ import annotations

import asyncio
import json

import pytest

from perfeng.errors import UsageError
from perfeng.monitor.state import MonitorState, Ring, describe, parse_monitor_slo
from perfeng.monitor.webhook import Notifier, payload

NS = 1_000_000_000
HOUR = 3600


def _run(state: MonitorState, start_s: float, seconds: int, rate: int, failing: bool) -> list:
    """Feed ``rate`` probes a second for ``seconds``; evaluate once a second; the events."""
    events = []
    step = NS // rate
    for second in range(seconds):
        base = int((start_s + second) * NS)
        for k in range(rate):
            state.add(base + k * step, "http_5xx" if failing else None, 12.0)
        _, new = state.evaluate(base + NS, 1.7e9 + start_s + second + 1)
        events.extend(new)
    return events


def test_slo_expressions() -> None:
    latency = parse_monitor_slo("p99<300ms")
    assert (latency.objective, latency.threshold_ms) == (99.0, 300.0)
    assert latency.is_bad(None, 300.0) and not latency.is_bad(None, 299.0)
    assert latency.is_bad("timeout", 5.0) and not latency.is_bad("http_5xx", 5.0)
    availability = parse_monitor_slo("availability>99.9%")
    assert availability.objective == pytest.approx(99.9) and availability.threshold_ms is None
    assert parse_monitor_slo("error_rate<0.1%").objective == pytest.approx(99.9)
    for bad in ("p99>300ms", "availability>100%", "throughput>5/s", "p99<300"):
        with pytest.raises(UsageError):
            parse_monitor_slo(bad)


def test_a_ring_forgets_what_left_its_window() -> None:
    ring = Ring(60.0)  # 60 slots of 1 s
    ring.add(0, 1, 10)
    ring.add(30 * NS, 0, 10)
    assert ring.ratio() == pytest.approx(0.05)
    ring.advance(61 * NS)  # the first second has left the window
    assert ring.ratio() == 0.0
    ring.advance(10_000 * NS)
    assert ring.ratio() is None


def test_a_fast_burn_pages_once_and_resolves_when_healed() -> None:
    state = MonitorState([parse_monitor_slo("availability>99%")], period_s=HOUR)
    # period 1 h: windows scaled by 1/720 (the page's are 5 s and 0.42 s)
    assert _run(state, 0, 30, 50, failing=False) == []
    events = _run(state, 30, 5, 50, failing=True)
    assert [(e.severity, e.status) for e in events] == [("page", "firing"), ("ticket", "firing")]
    assert events[0].at_wall_s <= 1.7e9 + 32  # within two evaluations of the first failure
    healed = _run(state, 35, 200, 50, failing=False)
    assert [(e.severity, e.status) for e in healed] == [
        ("page", "resolved"),
        ("ticket", "resolved"),
    ]
    page = healed[0]
    assert page.started_wall_s == events[0].at_wall_s
    assert "resolved page: availability>99% on http://x" in describe(page, "http://x")


def test_a_slow_burn_tickets_without_paging() -> None:
    state = MonitorState([parse_monitor_slo("availability>99%")], period_s=HOUR)
    events = []
    for second in range(600):  # 2 % errors: burn rate 2
        base = second * NS
        for k in range(50):
            state.add(base + k * (NS // 50), "http_5xx" if k == 0 else None, 5.0)
        events.extend(state.evaluate(base + NS, second + 1.0)[1])
    assert [(e.severity, e.status) for e in events] == [("ticket", "firing")]
    status = state.evaluate(601 * NS, 601.0)[0][0]
    assert status.burn_rates[HOUR] == pytest.approx(2.0)
    # a tenth of the period at twice the budget's pace: 1 - 2 = -1 of the budget "left"
    assert status.budget_remaining == pytest.approx(-1.0)


def test_state_size_is_flat_over_a_simulated_day_at_50_per_second() -> None:
    state = MonitorState(
        [parse_monitor_slo("p99<300ms"), parse_monitor_slo("availability>99.9%")],
        period_s=30 * 86400,
    )
    sizes = {}
    step = NS // 50
    for second in range(86400):
        base = second * NS
        failing = second % 3600 < 30  # half a minute of errors every hour
        for k in range(50):
            state.add(base + k * step, "timeout" if failing else None, 20.0 + k)
        if second % 10 == 0:
            state.evaluate(base, float(second))
        if second + 1 in (3600, 86400):
            sizes[second + 1] = _cells(state)
    assert state.probes == 86400 * 50
    # the same containers of the same lengths after an hour and after a day
    assert sizes[86400] == sizes[3600], sizes
    assert sizes[3600] < 2 * 9 * 2 * 60 + 100  # 2 SLOs x 9 windows x 2 rings of 60 slots


def _cells(value: object) -> int:
    """How many slots the containers reachable from ``value`` hold (not the numbers' bytes)."""
    if isinstance(value, list | tuple | set | frozenset):
        return len(value) + sum(_cells(v) for v in value)
    if isinstance(value, dict):
        return len(value) + sum(_cells(v) for v in value.values())
    if hasattr(value, "__dict__"):
        return _cells(vars(value))
    return 0


def test_webhook_retries_with_back_off_then_delivers() -> None:
    calls: list[bytes] = []
    results: list[str] = []

    def flaky_send(url: str, body: bytes, timeout_s: float) -> None:
        calls.append(body)
        if len(calls) < 3:
            raise OSError("connection refused")

    state = MonitorState([parse_monitor_slo("availability>99%")], period_s=HOUR)
    event = _run(state, 0, 3, 20, failing=True)[0]

    async def main() -> None:
        notifier = Notifier(
            "http://127.0.0.1:9/hook",
            lambda result, _detail: results.append(result),
            attempts=5,
            first_delay_s=0.001,
            send=flaky_send,
        )
        notifier.start()
        notifier.notify(payload(event, "http://x", "http://127.0.0.1:9464/metrics"))
        await notifier.drain(5.0)

    asyncio.run(main())
    assert results == ["retried", "retried", "sent"]
    body = json.loads(calls[-1])
    assert body["version"] == "4" and body["status"] == "firing"
    (alert,) = body["alerts"]
    assert alert["labels"]["slo_severity"] == "page"
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"


def test_webhook_gives_up_after_its_attempts() -> None:
    results: list[str] = []

    def dead(url: str, body: bytes, timeout_s: float) -> None:
        raise OSError("refused")

    async def main() -> None:
        notifier = Notifier("http://h/", lambda r, _d: results.append(r), 3, 0.001, send=dead)
        notifier.start()
        notifier.notify({"status": "firing"})
        await notifier.drain(5.0)
        assert notifier.delivery.failed == 1 and notifier.delivery.last_error == "refused"

    asyncio.run(main())
    assert results == ["retried", "retried", "failed"]
