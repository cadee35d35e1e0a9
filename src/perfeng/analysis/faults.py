"""What each fault window did to the service, and how long it took to recover.

Pure: the run's per-second time series (``summary.timeseries``) and the fault windows in,
``summary.faults`` entries out. The rule (docs/faults.md#recovery):

- **baseline**: the seconds that end before the first fault starts (the very first second
  left out when at least three remain: it holds the connection set-up). Its p99 is the median
  of the per-second p99s (robust to one noisy second); its error rate is over all its requests.
- **band**: a second is back to normal when its p99 <= baseline p99 x 1.5 + 5 ms and its
  error rate <= baseline error rate + 1 percentage point. The factor and the floor leave room
  for ordinary second-to-second noise: at a few hundred requests a second one second's p99 is
  nearly its maximum, which one scheduling hiccup, GC pause or late generator moves by
  several ms (on loopback at 100 req/s, with no fault, per-second p99s of 2 to 9 ms were
  measured here); the steady-state hypothesis of chaos engineering asks "back to normal",
  not "back to exactly the same" (Basiri et al., "Chaos Engineering", IEEE Software 33(3), 2016;
  https://principlesofchaos.org).
- **recovered** at the first second, after the window ends, that starts three consecutive
  seconds inside the band (one good second while the service flaps is not a recovery, the
  same debounce as a Prometheus alert's ``for:``). ``recovery_s`` is from the window's end to
  the start of that second (0 when already normal); None when the run (or the next fault)
  came first.

Error rates count dropped arrivals as failures: an open-model arrival that found no free slot
is a request the users did not get served.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perfeng.model import histogram as hdr
from perfeng.model.faults import FaultOutcome, FaultWindow, read_outcomes
from perfeng.model.findings import Finding
from perfeng.units import human_ms

P99_FACTOR = 1.5
P99_FLOOR_MS = 5.0
ERROR_RATE_MARGIN = 0.01
STEADY_SECONDS = 3


@dataclass(frozen=True)
class Second:
    """One entry of the time series, as this analysis reads it."""

    start_s: float
    duration_s: float
    requests: int
    errors: int
    dropped: int
    p99_ms: float | None
    histogram: str | None

    @property
    def middle_s(self) -> float:
        return self.start_s + self.duration_s / 2

    @property
    def failures(self) -> int:
        return self.errors + self.dropped

    @property
    def error_rate(self) -> float:
        attempts = self.requests + self.dropped
        return self.failures / attempts if attempts else 0.0


@dataclass(frozen=True)
class Band:
    p99_ms: float
    error_rate: float

    def holds(self, second: Second) -> bool:
        if second.requests == 0:
            return False  # nothing served is not normal
        p99 = second.p99_ms if second.p99_ms is not None else 0.0
        limit_ms = self.p99_ms * P99_FACTOR + P99_FLOOR_MS
        return p99 <= limit_ms and second.error_rate <= self.error_rate + ERROR_RATE_MARGIN


def seconds_of(timeseries: Sequence[dict[str, Any]]) -> list[Second]:
    return [
        Second(
            start_s=float(entry["elapsed_s"]),
            duration_s=float(entry.get("duration_s") or 1.0),
            requests=int(entry.get("requests") or 0),
            errors=int(entry.get("errors") or 0),
            dropped=int(entry.get("dropped") or 0),
            p99_ms=entry.get("p99_ms"),
            histogram=entry.get("histogram"),
        )
        for entry in timeseries
    ]


def baseline_band(seconds: Sequence[Second], first_start_s: float) -> Band | None:
    """The band from the seconds before the first fault; None when there are none."""
    before = [s for s in seconds if s.start_s + s.duration_s <= first_start_s + 1e-6]
    if len(before) >= STEADY_SECONDS:
        before = before[1:]
    before = [s for s in before if s.requests]
    if not before:
        return None
    p99s = [s.p99_ms for s in before if s.p99_ms is not None]
    attempts = sum(s.requests + s.dropped for s in before)
    error_rate = sum(s.failures for s in before) / attempts if attempts else 0.0
    return Band(statistics.median(p99s) if p99s else 0.0, error_rate)


def fault_outcomes(
    timeseries: Sequence[dict[str, Any]], windows: Sequence[FaultWindow]
) -> list[FaultOutcome]:
    """One outcome per window, in start order."""
    ordered = sorted(windows, key=lambda w: (w.start_s, w.end_s))
    if not ordered:
        return []
    seconds = seconds_of(timeseries)
    band = baseline_band(seconds, ordered[0].start_s)
    outcomes = []
    for index, window in enumerate(ordered):
        later = [w.start_s for w in ordered[index + 1 :] if w.start_s >= window.end_s]
        next_start = min(later, default=float("inf"))
        outcomes.append(_outcome(window, seconds, band, next_start))
    return outcomes


def _outcome(
    window: FaultWindow, seconds: Sequence[Second], band: Band | None, next_start_s: float
) -> FaultOutcome:
    during = [s for s in seconds if _inside(s, window)]
    requests = sum(s.requests for s in during)
    dropped = sum(s.dropped for s in during)
    attempts = requests + dropped
    failures = sum(s.failures for s in during)
    after = [s for s in seconds if s not in during and window.end_s <= s.middle_s < next_start_s]
    recovered_at, note = _recovery(after, band, next_start_s)
    lost_until = after[recovered_at] if recovered_at is not None else None
    lost_seconds = during + (after[:recovered_at] if recovered_at is not None else after)
    recovery_s = None
    if lost_until is not None:
        recovery_s = round(max(lost_until.start_s - window.end_s, 0.0), 3)
    return FaultOutcome(
        kind=window.kind,
        fault=window.fault,
        start_s=window.start_s,
        end_s=window.end_s,
        requests=requests,
        errors=sum(s.errors for s in during),
        dropped=dropped,
        error_rate=round(failures / attempts, 6) if attempts else 0.0,
        p99_ms=_p99(during),
        recovered=recovery_s is not None,
        recovery_s=recovery_s,
        lost=sum(s.failures for s in lost_seconds),
        baseline_p99_ms=None if band is None else band.p99_ms,
        baseline_error_rate=None if band is None else round(band.error_rate, 6),
        after_s=round(sum(s.duration_s for s in after), 3),
        note=note,
    )


def faults_by_second(
    timeseries: Sequence[dict[str, Any]], windows: Sequence[FaultWindow]
) -> list[list[str]]:
    """For each entry of the time series, the faults (as written) in force during it, by the
    same rule as the windows' own counts."""
    seconds = seconds_of(timeseries)
    return [[w.fault for w in windows if _inside(second, w)] for second in seconds]


def _inside(second: Second, window: FaultWindow) -> bool:
    """The second belongs to the window when they overlap by half the shorter of the two (the
    middle of the second in the window, for windows of a second or more)."""
    overlap = min(second.start_s + second.duration_s, window.end_s) - max(
        second.start_s, window.start_s
    )
    shorter = min(second.duration_s, window.end_s - window.start_s)
    return overlap > 0 and overlap >= shorter / 2


def _recovery(
    after: Sequence[Second], band: Band | None, next_start_s: float
) -> tuple[int | None, str]:
    """The index in ``after`` of the first of STEADY_SECONDS seconds inside the band."""
    if band is None:
        return None, "no baseline: the first fault starts before a full second of load"
    run = 0
    for index, second in enumerate(after):
        run = run + 1 if band.holds(second) else 0
        if run == STEADY_SECONDS:
            return index - STEADY_SECONDS + 1, ""
    if next_start_s != float("inf"):
        return None, "not recovered before the next fault"
    return None, "not recovered before the run ended"


def _p99(seconds: Sequence[Second]) -> float | None:
    encoded = [s.histogram for s in seconds if s.histogram and s.requests]
    if encoded:
        return hdr.value_at_ms(hdr.merged([hdr.decode(text) for text in encoded]), 99.0)
    p99s = [s.p99_ms for s in seconds if s.p99_ms is not None]
    return max(p99s) if p99s else None


def worst_recovery_s(outcomes: Sequence[dict[str, Any]]) -> tuple[float | None, str]:
    """The largest ``recovery_s`` over the windows, for the ``recovery_s`` threshold; None
    with a note when there is no window or one never recovered."""
    if not outcomes:
        return None, "no fault windows in this run"
    never = [o for o in outcomes if o.get("recovery_s") is None]
    if never:
        return None, f"the {never[0]['kind']} fault at {never[0]['start_s']:g}s did not recover"
    return max(float(o["recovery_s"]) for o in outcomes), ""


SLOW_RECOVERY_S = 5.0  # longer than this after the fault ends is a slow recovery (a finding)


def fault_findings(summary: dict[str, Any]) -> list[Finding]:
    """A finding per window that never recovered (critical) or took longer than
    SLOW_RECOVERY_S (warning); docs/faults.md#findings."""
    found = []
    for outcome in read_outcomes(summary.get("faults") or []):
        if outcome.recovery_s is None:
            found.append(_no_recovery(outcome))
        elif outcome.recovery_s > SLOW_RECOVERY_S:
            found.append(_slow_recovery(outcome))
    return found


def _evidence(outcome: FaultOutcome) -> list[str]:
    during = (
        f"during the fault ({outcome.start_s:g}-{outcome.end_s:g} s): "
        f"{outcome.error_rate:.1%} failed, p99 {human_ms(outcome.p99_ms)}"
    )
    if outcome.baseline_p99_ms is None or outcome.baseline_error_rate is None:
        return [during, outcome.note]
    band = (
        f"normal is p99 <= {human_ms(outcome.baseline_p99_ms * P99_FACTOR + P99_FLOOR_MS)} and "
        f"error rate <= {outcome.baseline_error_rate + ERROR_RATE_MARGIN:.1%} "
        f"for {STEADY_SECONDS} s in a row (baseline p99 {human_ms(outcome.baseline_p99_ms)})"
    )
    return [during, band, f"{outcome.lost:,} requests lost (failed or dropped)"]


def _figures(outcome: FaultOutcome) -> dict[str, float | int | str | None]:
    return {
        "fault": outcome.fault,
        "recovery_s": outcome.recovery_s,
        "error_rate": outcome.error_rate,
        "lost": outcome.lost,
    }


def _no_recovery(outcome: FaultOutcome) -> Finding:
    # Judged only with room to recover: a quick look after the fault is not a verdict.
    judged = outcome.after_s >= 2 * STEADY_SECONDS and outcome.baseline_p99_ms is not None
    title = f"No recovery after the {outcome.kind} fault at {outcome.start_s:g} s"
    if outcome.baseline_p99_ms is None:
        title = f"Recovery not judged after the {outcome.kind} fault at {outcome.start_s:g} s"
    elif not judged:
        title = (
            f"Recovery not judged after the {outcome.kind} fault at {outcome.start_s:g} s: "
            f"only {outcome.after_s:g} s of load followed it"
        )
    return Finding(
        id="no_recovery",
        title=f"{title} ({outcome.note})",
        severity="critical" if judged else "info",
        impact=round(max(outcome.error_rate, 0.01) * 10, 4),
        evidence=_evidence(outcome),
        figures=_figures(outcome),
        window_s=[outcome.start_s, outcome.end_s],
        next_step="Look for what the fault left behind: connection pools holding dead "
        "connections, retries piling up, a circuit breaker that never closes, caches cold "
        "for good. Run longer after the fault to see whether it recovers at all.",
    )


def _slow_recovery(outcome: FaultOutcome) -> Finding:
    assert outcome.recovery_s is not None
    return Finding(
        id="slow_recovery",
        title=f"Slow recovery: {outcome.recovery_s:g} s back to normal after the "
        f"{outcome.kind} fault at {outcome.start_s:g} s",
        severity="warning",
        impact=round(outcome.recovery_s / SLOW_RECOVERY_S * max(outcome.error_rate, 0.01), 4),
        evidence=_evidence(outcome),
        figures=_figures(outcome),
        window_s=[outcome.end_s, outcome.end_s + outcome.recovery_s],
        next_step="Find what takes time to come back: reconnect back-off, pool re-warming, "
        "queued work draining, retry storms. Shorter timeouts and jittered retries usually "
        "shorten recovery.",
    )
