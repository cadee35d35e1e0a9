"""How renderers show a verdict's observed value, in its unit."""

from __future__ import annotations

from perfeng.units import format_ms


def observed_text(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "ratio":
        return f"{value:.2%}"
    if unit == "ms":
        return f"{format_ms(value)} ms"
    if unit == "req/s":
        return f"{value:,.1f} req/s"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:,.0f}"
