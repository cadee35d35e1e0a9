"""The monitor's sans-IO core: probes in, burn rates and alert transitions out.

Each SLO keeps good and bad counts over every window its alerts read, in rings of 60 slots a
window (a slot is 1/60 of its window, so a 5-minute window moves in 5-second steps), plus the
period. Probes are counted into the current second and the second is poured into the rings
once, so a probe costs two additions whatever the number of windows, and the state has the
same size after a minute or a year (no per-request lists). Alerts follow gates.slo: the SRE
Workbook's multi-window, multi-burn-rate rows, scaled to the period.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from perfeng.errors import UsageError
from perfeng.gates.slo import (
    Severity,
    budget_remaining,
    burn_rate,
    distinct_windows,
    exhaustion_s,
    firing,
    prometheus_duration,
    windows_for,
)

_NS = 1_000_000_000
SLOTS = 60
_AVAILABILITY = re.compile(r"^\s*availability\s*(>=|>)\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True)
class MonitorSlo:
    """``p99<300ms`` (99 % of probes answer in under 300 ms) or ``availability>99.9%``."""

    text: str
    name: str  # "latency" or "availability"
    objective: float  # percent
    threshold_ms: float | None  # latency SLOs only

    def is_bad(self, error: str | None, latency_ms: float) -> bool:
        """Availability: any failed probe. Latency: a probe at or over the threshold, or one
        that timed out; a fast error (a 500, a refusal) is availability's to count."""
        if self.threshold_ms is None:
            return error is not None
        return error == "timeout" or latency_ms >= self.threshold_ms


def parse_monitor_slo(text: str) -> MonitorSlo:
    match = _AVAILABILITY.match(text)
    if match:
        objective = float(match.group(2))
        return _checked(MonitorSlo(text, "availability", objective, None))
    from perfeng.gates.parser import parse_threshold

    threshold = parse_threshold(text)
    if threshold.metric == "error_rate" and threshold.operator in ("<", "<="):
        return _checked(MonitorSlo(text, "availability", 100.0 * (1 - threshold.limit), None))
    if (
        threshold.metric == "latency"
        and threshold.aggregate == "p"
        and threshold.operator
        in (
            "<",
            "<=",
        )
    ):
        assert threshold.percentile is not None
        name = f"latency_p{threshold.percentile:g}_{threshold.limit:g}ms".replace(".", "_")
        return _checked(MonitorSlo(text, name, threshold.percentile, threshold.limit))
    raise UsageError(
        f"invalid SLO {text!r}: use a latency percentile under a limit (p99<300ms), "
        "availability>99.9% or error_rate<0.1%"
    )


def _checked(slo: MonitorSlo) -> MonitorSlo:
    if not 0 < slo.objective < 100:
        raise UsageError(f"invalid SLO {slo.text!r}: the objective must be between 0 and 100 %")
    return slo


class Ring:
    """Good and bad counts over one trailing window, in ``SLOTS`` slots."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.width_ns = max(1, round(window_s * _NS / SLOTS))
        self.bad = [0] * SLOTS
        self.total = [0] * SLOTS
        self.sum_bad = 0
        self.sum_total = 0
        self.slot = -1  # absolute number of the current slot

    def advance(self, now_ns: int) -> None:
        slot = now_ns // self.width_ns
        if self.slot < 0:
            self.slot = slot
            return
        steps = min(slot - self.slot, SLOTS)
        for k in range(1, steps + 1):
            j = (self.slot + k) % SLOTS
            self.sum_bad -= self.bad[j]
            self.sum_total -= self.total[j]
            self.bad[j] = self.total[j] = 0
        self.slot = max(self.slot, slot)

    def add(self, now_ns: int, bad: int, total: int) -> None:
        self.advance(now_ns)
        j = self.slot % SLOTS
        self.bad[j] += bad
        self.total[j] += total
        self.sum_bad += bad
        self.sum_total += total

    def ratio(self) -> float | None:
        return self.sum_bad / self.sum_total if self.sum_total else None


@dataclass(frozen=True)
class SloStatus:
    """What the exporter and the alerts read of one SLO, at one moment."""

    slo: MonitorSlo
    ratios: dict[float, float | None]  # window (s) -> error ratio (None: no probes)
    burn_rates: dict[float, float | None]
    budget_remaining: float | None  # over the period
    exhaustion_s: float | None
    firing: dict[Severity, bool]


@dataclass(frozen=True)
class AlertEvent:
    """A transition: an alert starts firing or is resolved."""

    slo: MonitorSlo
    severity: Severity
    status: Literal["firing", "resolved"]
    at_wall_s: float
    started_wall_s: float
    burn_rate: float | None
    window_s: float


@dataclass
class SloState:
    slo: MonitorSlo
    period_s: float
    rings: list[Ring] = field(default_factory=list)
    firing_since: dict[Severity, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        windows = (*distinct_windows(self.period_s), self.period_s)
        self.rings = [Ring(w) for w in sorted(set(windows))]

    def pour(self, now_ns: int, bad: int, total: int) -> None:
        for ring in self.rings:
            ring.add(now_ns, bad, total)

    def status(self, now_ns: int) -> SloStatus:
        for ring in self.rings:
            ring.advance(now_ns)
        ratios = {ring.window_s: ring.ratio() for ring in self.rings}
        objective = self.slo.objective
        burns = {w: burn_rate(r, objective) for w, r in ratios.items()}
        remaining = budget_remaining(ratios[self.period_s], objective)
        shortest = self.rings[0].window_s
        return SloStatus(
            slo=self.slo,
            ratios=ratios,
            burn_rates=burns,
            budget_remaining=remaining,
            exhaustion_s=exhaustion_s(remaining, burns[shortest], self.period_s),
            firing=firing(ratios, objective, self.period_s),
        )


class MonitorState:
    """Every SLO's windows, fed one probe at a time; evaluated once a second."""

    def __init__(self, slos: list[MonitorSlo], period_s: float) -> None:
        if period_s < 60:
            raise UsageError("the SLO period must be at least 1m")
        self.period_s = period_s
        self.slos = [SloState(slo, period_s) for slo in slos]
        self._second = -1
        self._bad = [0] * len(slos)
        self._total = 0
        self.probes = 0
        self.failures = 0

    def add(self, done_ns: int, error: str | None, latency_ms: float) -> None:
        """One probe (hot path: two additions and one comparison per SLO)."""
        second = done_ns // _NS
        if second > self._second:
            if self._second >= 0:
                self._pour((self._second + 1) * _NS - 1)  # at the end of its second
            self._second = second
        self._total += 1
        self.probes += 1
        if error is not None:
            self.failures += 1
        bad = self._bad
        for index, state in enumerate(self.slos):
            if state.slo.is_bad(error, latency_ms):
                bad[index] += 1

    def _pour(self, at_ns: int) -> None:
        if self._total:
            for index, state in enumerate(self.slos):
                state.pour(at_ns, self._bad[index], self._total)
        self._bad = [0] * len(self.slos)
        self._total = 0

    def evaluate(self, now_ns: int, wall_s: float) -> tuple[list[SloStatus], list[AlertEvent]]:
        """Statuses now, and the alerts that started or stopped since the last call."""
        # what the current second gathered so far counts now: windows shorter than the
        # evaluation step (scaled-down periods) still see the latest probes
        self._pour(now_ns)
        statuses, events = [], []
        for state in self.slos:
            status = state.status(now_ns)
            statuses.append(status)
            events.extend(_transitions(state, status, wall_s))
        return statuses, events


def _transitions(state: SloState, status: SloStatus, wall_s: float) -> list[AlertEvent]:
    events = []
    for severity, now_firing in status.firing.items():
        window = _window(state.period_s, severity, long=now_firing)
        started = state.firing_since.get(severity)
        if now_firing == (started is not None):
            continue
        if now_firing:
            state.firing_since[severity] = started = wall_s
        else:
            assert started is not None
            del state.firing_since[severity]
        events.append(
            AlertEvent(
                slo=state.slo,
                severity=severity,
                status="firing" if now_firing else "resolved",
                at_wall_s=wall_s,
                started_wall_s=started,
                burn_rate=status.burn_rates.get(window),
                window_s=window,
            )
        )
    return events


def _window(period_s: float, severity: Severity, long: bool) -> float:
    """The window an alert line quotes: the long one of the severity's fastest row when it
    fires (the page's 1 h in 30 days), the short one when it resolves (it is what cleared)."""
    row = next(w for w in windows_for(period_s) if w.severity == severity)
    return row.long_s if long else row.short_s


def window_label(seconds: float) -> str:
    return prometheus_duration(seconds)


def describe(event: AlertEvent, target: str) -> str:
    """The stderr line for an alert transition."""
    burn = "no probes" if event.burn_rate is None else f"burn rate {event.burn_rate:.3g}x"
    if math.isfinite(event.window_s):
        burn += f" over {window_label(event.window_s)}"
    word = "FIRING" if event.status == "firing" else "resolved"
    return f"perfeng monitor: {word} {event.severity}: {event.slo.text} on {target} ({burn})"
