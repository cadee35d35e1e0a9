"""pattern (open or closed): a named load pattern, expanded into ramping stages.

The patterns are k6's test types (https://grafana.com/docs/k6/latest/testing-guides/test-types/),
each a shape over the run's duration D with its peak P (arrivals per second in the open model,
users in the closed one). The shares of D come from k6's guide where it gives one:

- smoke: P held for D. "Minimal load": k6 suggests 2-5 VUs for 30 s to a few minutes, so the
  defaults are 3 users or 5 req/s for 30 s. It checks the script and the target, nothing more.
- load (average load): up to P over 10 % of D, P held for 80 %, down to 0 over 10 %. k6: "a
  ramp-up period ... usually lasts between 5% and 15% of the total test duration"; P is the
  load the system sees on an average day, which only the user knows: it must be given.
- stress: up over 20 %, held for 70 %, down over 10 %. k6: "the load pattern of a stress
  test resembles that of an average-load test ... the ramp-up period takes longer in
  proportion to the load increase". P *is* the stress level (k6: often 50-100 % above the
  average, "no fixed percentage"), so perfeng does not multiply it: give the level you mean.
- spike: up over 60 %, held for 10 %, down over 30 %, and D at most 10 minutes (default 1m).
  k6: "increases to extremely high loads in a very short or non-existent ramp-up time ... no
  plateau period or is very brief ... the ramp-down is very fast"; its example ramps up for
  2 minutes and down for 1 with no plateau, which sets the 2:1 ratio kept here. A longer
  "spike" is a stress test.
- soak: up over min(5 min, 10 % of D), P held for the rest, down over the same time as the
  ramp-up. k6: a soak is an average-load test whose peak lasts "3, 4, 8, 12, 24, and 48 to
  72 hours", with "the ramp-up and ramp-down periods ... the same as an average-load test"
  (its example: 5 minutes each). Default D: 4 hours.
- breakpoint: one linear ramp from 0 to P over D (default 10 minutes), meant to be stopped by
  an abort threshold. k6: it "ramps to unrealistically high numbers ... has to be stopped
  manually or automatically as thresholds start to fail" and should "increase the load
  gradually". Default P: 10,000 req/s (about what one perfeng process can offer,
  docs/performance.md) or 1,000 users.

Every stage lasts at least a second: a duration too short for its shape is refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from perfeng.engine.workloads.base import (
    Plan,
    Stage,
    expected_arrivals,
    require,
    require_duration,
    require_in_range,
)
from perfeng.errors import UsageError
from perfeng.units import human_seconds

TYPE = "pattern"
MIN_STAGE_S = 1.0
SPIKE_MAX_S = 600.0
SOAK_RAMP_S = 300.0
MAX_RATE = 1e6
MAX_USERS = 100_000
# Abort thresholds a breakpoint run gets when none of the scenario's thresholds aborts, so it
# stops by itself: a 1 % tail of a second or more, or one request in 20 failing.
BREAKPOINT_THRESHOLDS = ("p99<1s:abort", "error_rate<5%:abort")


@dataclass(frozen=True)
class Shape:
    """A pattern's defaults and its stages as (share of the duration, ends at peak?)."""

    summary: str
    duration_s: float
    peak: tuple[float, int] | None  # default (req/s, users); None: the user must give it
    shares: Callable[[float], tuple[tuple[float, float], ...]]  # D -> ((seconds, share of P))
    max_duration_s: float | None = None
    start_share: float = 0.0  # the share of P the first stage starts from
    note: str | None = None  # what the run adds, for --dry-run


def _fixed(*parts: tuple[float, float]) -> Callable[[float], tuple[tuple[float, float], ...]]:
    """Stages as fixed shares of the duration: (share of D, target as a share of P)."""
    return lambda duration: tuple((share * duration, target) for share, target in parts)


def _soak(duration: float) -> tuple[tuple[float, float], ...]:
    ramp = min(SOAK_RAMP_S, 0.1 * duration)
    return ((ramp, 1.0), (duration - 2 * ramp, 1.0), (ramp, 0.0))


SHAPES: dict[str, Shape] = {
    "smoke": Shape(
        "a tiny constant load, a sanity check of the script and the target",
        30.0,
        (5.0, 3),
        _fixed((1.0, 1.0)),
        start_share=1.0,
    ),
    "load": Shape(
        "average load: up over 10 %, the peak held for 80 %, down over 10 %",
        600.0,
        None,
        _fixed((0.1, 1.0), (0.8, 1.0), (0.1, 0.0)),
    ),
    "stress": Shape(
        "above the average (the peak is the stress level): up over 20 %, held 70 %, down 10 %",
        900.0,
        None,
        _fixed((0.2, 1.0), (0.7, 1.0), (0.1, 0.0)),
    ),
    "spike": Shape(
        "a sudden rush: up over 60 %, held for 10 %, down over 30 % (at most 10 minutes)",
        60.0,
        None,
        _fixed((0.6, 1.0), (0.1, 1.0), (0.3, 0.0)),
        max_duration_s=SPIKE_MAX_S,
    ),
    "soak": Shape(
        "the average load held for hours: up and down over min(5 min, 10 %) each",
        4 * 3600.0,
        None,
        _soak,
        note="checks over the hold: latency drift, error bursts, and memory growth of a "
        "target watched with --target-pid or --target-cmd",
    ),
    "breakpoint": Shape(
        "one linear ramp from 0 to the peak, stopped by an abort threshold",
        600.0,
        (10_000.0, 1_000),
        _fixed((1.0, 1.0)),
        note="the first abort threshold that fails stops it; the result says where "
        "(summary.breakpoint)",
    ),
}
PATTERNS = tuple(SHAPES)


def shape_of(name: str) -> Shape:
    """The shape called ``name``, or a one-line error naming the closest one."""
    if name in SHAPES:
        return SHAPES[name]
    close = difflib.get_close_matches(name, PATTERNS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(PATTERNS)}"
    raise UsageError(f"unknown pattern {name!r}: {hint}")


@dataclass(frozen=True)
class Pattern:
    """A pattern with its peak and duration; ``plan()`` gives its stages."""

    pattern: str
    peak: float
    duration_s: float
    model: Literal["open", "closed"] = "open"
    max_in_flight: int | None = None
    name: str = TYPE
    type: str = TYPE

    def __post_init__(self) -> None:
        shape = shape_of(self.pattern)
        require_duration(self.name, self.duration_s)
        high = MAX_RATE if self.model == "open" else MAX_USERS
        require_in_range(self.name, "peak", self.peak, high)
        require(self.peak > 0, f"{self.name}: the peak must be above 0")
        require(
            self.model == "open" or self.peak == int(self.peak),
            f"{self.name}: users must be whole, got {self.peak:g}",
        )
        require(
            self.max_in_flight is None or self.max_in_flight >= 1,
            f"{self.name}: max-in-flight must be at least 1",
        )
        _check_duration(self.pattern, shape, self.duration_s)

    @property
    def unit(self) -> Literal["req/s", "users"]:
        return "req/s" if self.model == "open" else "users"

    def stages(self) -> tuple[Stage, ...]:
        shape = SHAPES[self.pattern]
        stages, current = [], self.peak * shape.start_share
        for seconds, share in shape.shares(self.duration_s):
            target = self.peak * share
            stages.append(Stage(round(seconds, 3), current, target))
            current = target
        return tuple(stages)

    def plan(self) -> Plan:
        stages = self.stages()
        if self.model == "closed":
            return Plan("closed", "users", stages, None)
        return Plan("open", "req/s", stages, expected_arrivals(stages))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "pattern": self.pattern,
            "peak": self.peak,
            "unit": self.unit,
            "duration_s": self.duration_s,
            "max_in_flight": self.max_in_flight,
        }

    def describe(self) -> list[str]:
        """The stage table ``--dry-run`` prints: start, duration, from -> to."""
        shape = SHAPES[self.pattern]
        lines = [f"  pattern {self.pattern}: {shape.summary}"]
        lines.append(f"  {'start':>9}  {'duration':>9}  from -> to ({self.unit})")
        at = 0.0
        for stage in self.stages():
            lines.append(
                f"  {_clock(at):>9}  {_clock(stage.duration_s):>9}  "
                f"{_amount(stage.start)} -> {_amount(stage.end)}"
            )
            at += stage.duration_s
        if shape.note:
            lines.append(f"  {shape.note}")
        return lines


def _check_duration(pattern: str, shape: Shape, duration_s: float) -> None:
    if shape.max_duration_s is not None and duration_s > shape.max_duration_s:
        raise UsageError(
            f"a {pattern} lasts at most {human_seconds(shape.max_duration_s)}, got "
            f"{human_seconds(duration_s)}: a longer rush is a stress test (--pattern stress)"
        )
    shortest = min(seconds for seconds, _ in shape.shares(duration_s))
    if shortest < MIN_STAGE_S - 1e-9:
        needed = _shortest_duration(shape)
        raise UsageError(
            f"duration {duration_s:g}s is too short for the {pattern} pattern: its shortest "
            f"stage would last {shortest:.2g}s; give at least {needed:g}s"
        )


def _shortest_duration(shape: Shape) -> float:
    """The least duration whose every stage lasts at least a second."""
    probe = 1000.0
    least = min(seconds for seconds, _ in shape.shares(probe)) / probe
    return MIN_STAGE_S / least


def _clock(seconds: float) -> str:
    """0:00:30 style, with tenths when the time is not whole."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = seconds - whole
    text = f"{hours}:{minutes:02d}:{secs:02d}"
    return text + (f".{round(fraction * 1000):03d}".rstrip("0") if fraction > 5e-4 else "")


def _amount(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.3g}"


def make_pattern(
    pattern: str,
    *,
    peak: float | None = None,
    users: int | None = None,
    duration_s: float | None = None,
    max_in_flight: int | None = None,
    name: str | None = None,
) -> Pattern:
    """A pattern from what the user gave: ``peak`` (req/s, open model) or ``users`` (closed
    model), defaults filled in, impossible combinations refused in one line."""
    shape = shape_of(pattern)
    if peak is not None and users is not None:
        raise UsageError(
            "give the peak once: --peak RATE (arrivals, open model) or --users N (closed model)"
        )
    model: Literal["open", "closed"] = "closed" if users is not None else "open"
    value = users if users is not None else peak
    if value is None:
        if shape.peak is None:
            raise UsageError(
                f"the {pattern} pattern needs its peak: --peak 200/s (arrivals, open model) or "
                "--users 50 (closed model), the load your system sees on an average day"
                + (" or in the rush you test" if pattern in ("stress", "spike") else "")
            )
        value = shape.peak[0] if model == "open" else shape.peak[1]
    if model == "closed" and max_in_flight is not None:
        raise UsageError("--max-in-flight applies to the open model (--peak), not to --users")
    return Pattern(
        pattern=pattern,
        peak=float(value),
        duration_s=duration_s if duration_s is not None else shape.duration_s,
        model=model,
        max_in_flight=max_in_flight,
        name=name or pattern,
    )
