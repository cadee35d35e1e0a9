"""Multi-window, multi-burn-rate alerting: the windows, the factors and their evaluation.

Google SRE Workbook, ch. 5 "Alerting on SLOs", table 5-8, for a 30-day period:

    severity  long  short  factor  budget spent in the long window
    page      1h    5m     14.4    2 %
    page      6h    30m    6       5 %
    ticket    1d    2h     3       10 %   (Sloth's default ticket row)
    ticket    3d    6h     1       10 %

factor = budget share x period / long window (0.02 x 720 h / 1 h = 14.4). An alert fires while
the error ratio over *both* windows of a row exceeds factor x (1 - objective); the short window
(1/12 of the long) makes it stop soon after the errors stop. For other periods every window is
scaled by period / 30 d and the factors stay (as Pyrra does), so each row still means the same
share of the budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Severity = Literal["page", "ticket"]
REFERENCE_PERIOD_S = 30 * 86400.0


@dataclass(frozen=True)
class Window:
    """One row of the table: both windows in seconds, and the burn-rate factor."""

    severity: Severity
    long_s: float
    short_s: float
    factor: float

    @property
    def budget_share(self) -> float:
        """The share of the whole period's budget spent in the long window at this rate."""
        return self.factor * self.long_s / REFERENCE_PERIOD_S


_WORKBOOK = (
    Window("page", 3600.0, 300.0, 14.4),
    Window("page", 6 * 3600.0, 1800.0, 6.0),
    Window("ticket", 86400.0, 2 * 3600.0, 3.0),
    Window("ticket", 3 * 86400.0, 6 * 3600.0, 1.0),
)


def windows_for(period_s: float) -> tuple[Window, ...]:
    """The Workbook rows with their windows scaled to the SLO period."""
    scale = period_s / REFERENCE_PERIOD_S
    return tuple(
        Window(w.severity, w.long_s * scale, w.short_s * scale, w.factor) for w in _WORKBOOK
    )


def distinct_windows(period_s: float) -> tuple[float, ...]:
    """Every window the alerts read, shortest first."""
    found = {s for w in windows_for(period_s) for s in (w.long_s, w.short_s)}
    return tuple(sorted(found))


def burn_rate(error_ratio: float | None, objective_percent: float) -> float | None:
    """How fast the budget burns: the error ratio over the budget (1 = exactly on budget)."""
    if error_ratio is None or math.isnan(error_ratio):
        return None
    return error_ratio / (1.0 - objective_percent / 100.0)


def firing(
    ratios: Mapping[float, float | None], objective_percent: float, period_s: float
) -> dict[Severity, bool]:
    """Which severities fire, given the error ratio over each window (None: no traffic)."""
    budget = 1.0 - objective_percent / 100.0
    result: dict[Severity, bool] = {"page": False, "ticket": False}
    for window in windows_for(period_s):
        limit = window.factor * budget
        long_ratio, short_ratio = ratios.get(window.long_s), ratios.get(window.short_s)
        if long_ratio is None or short_ratio is None:
            continue
        if long_ratio > limit and short_ratio > limit:
            result[window.severity] = True
    return result


def budget_remaining(error_ratio: float | None, objective_percent: float) -> float | None:
    """The share of the period's budget left: 1 - (errors over the period / budget)."""
    rate = burn_rate(error_ratio, objective_percent)
    return None if rate is None else 1.0 - rate


def exhaustion_s(remaining: float | None, burn_now: float | None, period_s: float) -> float | None:
    """Seconds until the budget is gone at today's burn (None: not burning, or gone)."""
    if remaining is None or burn_now is None or burn_now <= 0:
        return None
    if remaining <= 0:
        return 0.0
    # at burn rate b the whole budget lasts period / b
    return remaining * period_s / burn_now


def prometheus_duration(seconds: float) -> str:
    """``3600`` -> ``1h``, ``2.5`` -> ``2s500ms``: the form Prometheus reads."""
    ms = round(seconds * 1000)
    if ms <= 0:
        raise ValueError(f"a window must be at least 1 ms, not {seconds} s")
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms:
        parts.append(f"{ms}ms")
    return "".join(parts)
