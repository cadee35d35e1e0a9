"""Parsing and formatting of durations, rates, sizes and percentages given by users.

Every parser raises ``UsageError`` with a one-line message naming the bad text.
"""

from __future__ import annotations

import math
import re

from perfeng.errors import UsageError

NS_PER_UNIT = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9}
NS_PER_UNIT["h"] = 3600 * 10**9
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_DURATION = re.compile(rf"^{_NUMBER}\s*(ns|us|µs|ms|s|m|h)?$")
_RATE = re.compile(rf"^{_NUMBER}\s*(?:/\s*(s|m|h|sec|min|second|minute|hour))?$")
_RATE_DIVISOR = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_RATE_DIVISOR.update({"h": 3600, "hour": 3600})


def parse_duration_ns(text: str, *, default_unit: str = "s") -> int:
    """``'10s'``, ``'250ms'``, ``'1.5m'``, ``'2h'`` (a bare number is in ``default_unit``)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise UsageError(f"invalid duration {text!r}: use a number with ms, s, m or h (e.g. 30s)")
    value, unit = float(match.group(1)), match.group(2) or default_unit
    ns = value * NS_PER_UNIT[unit]
    if not math.isfinite(ns) or ns > 10**18:
        raise UsageError(f"invalid duration {text!r}: too large")
    return round(ns)


def parse_duration_s(text: str) -> float:
    return parse_duration_ns(text) / 1e9


def parse_rate(text: str) -> float:
    """Requests per second from ``'500'``, ``'500/s'``, ``'30000/m'`` or ``'200/h'``."""
    match = _RATE.match(text.strip())
    if not match:
        raise UsageError(f"invalid rate {text!r}: use e.g. 500, 500/s or 30000/m")
    rate = float(match.group(1)) / _RATE_DIVISOR[match.group(2) or "s"]
    if not math.isfinite(rate):
        raise UsageError(f"invalid rate {text!r}: too large")
    return rate


def parse_positive_int(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"invalid {what} {text!r}: expected a whole number") from None
    if value < 1:
        raise UsageError(f"invalid {what} {text!r}: must be at least 1")
    return value


_FRACTION = re.compile(rf"^{_NUMBER}\s*(%)?$")


def parse_fraction(text: str, what: str, *, high: float = 1.0) -> float:
    """``'5%'`` or ``'0.05'`` as 0.05, between 0 and ``high`` (inclusive)."""
    match = _FRACTION.match(text.strip())
    if not match:
        raise UsageError(f"invalid {what} {text!r}: use a percentage such as 5% or a fraction")
    value = float(match.group(1)) / (100 if match.group(2) else 1)
    if not match.group(2) and value >= 1 and high > 1:
        raise UsageError(
            f"invalid {what} {text!r}: write a percentage ({match.group(1)}%) or a fraction "
            "below 1 (0.05)"
        )
    if value > high:
        raise UsageError(f"invalid {what} {text!r}: must be at most {high:g} ({high:.0%})")
    return value


def format_duration_ns(ns: float) -> str:
    """A short human form: 850us, 12.3ms, 4.20s, 2m05s (rounding never leaves its unit)."""
    if round(ns / 1_000) < 1_000:
        return f"{ns / 1_000:.0f}us"
    if float(f"{ns / 1_000_000:.3g}") < 1_000:
        return f"{ns / 1_000_000:.3g}ms"
    if round(ns / 1e9, 2) < 60:
        return f"{ns / 1e9:.2f}s"
    minutes, seconds = divmod(round(ns / 1e9), 60)
    return f"{minutes}m{seconds:02d}s"


def format_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def human_seconds(seconds: float) -> str:
    """A duration as people write it: 4.3 s, 43 s, 12 min, 1 h 20 min, 3 days."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        hours, minutes = divmod(round(seconds / 60), 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds / 86400:.0f} days"


def human_ms(ms: float | None) -> str:
    """A latency: 0.85 ms, 12 ms, 340 ms, 1.2 s."""
    if ms is None:
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.2g} ms" if ms < 1 else f"{ms:.1f} ms"


def human_rate(rate: float) -> str:
    """Requests per second: 380 req/s, 12.5 req/s, 1,200 req/s."""
    if rate >= 100:
        return f"{rate:,.0f} req/s"
    return f"{rate:.3g} req/s"


def human_bytes(count: float) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


_SIZE = re.compile(rf"^{_NUMBER}\s*(B|KB|MB|GB|KiB|MiB|GiB)?$", re.IGNORECASE)
_BYTES_PER_UNIT = {"b": 1, "kb": 1000, "mb": 10**6, "gb": 10**9}
_BYTES_PER_UNIT.update({"kib": 1024, "mib": 1024**2, "gib": 1024**3})


def parse_size(text: str) -> int:
    """Bytes from ``'64B'``, ``'64KB'`` (1,000 bytes, SI) or ``'64KiB'`` (1,024); bare: bytes."""
    match = _SIZE.match(text.strip())
    if not match:
        raise UsageError(f"invalid size {text!r}: use a number with B, KB, MB, KiB or MiB")
    size = float(match.group(1)) * _BYTES_PER_UNIT[(match.group(2) or "b").lower()]
    if not math.isfinite(size) or size > 10**15:
        raise UsageError(f"invalid size {text!r}: too large")
    return round(size)
