"""The terminal table of a benchmark document: plain aligned text, so it reads the same in a
terminal, a CI log or a pasted issue. It renders only; every figure comes from the document."""

from __future__ import annotations

from typing import Any

_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
HEADERS = ("benchmark", "median (CI)", "mean ± stdev", "min", "MAD", "outliers", "n")


def unit_of(seconds: float) -> tuple[float, str]:
    """The largest unit that keeps ``seconds`` at least 1 in it (ns for anything smaller)."""
    return next(((s, u) for s, u in _UNITS if abs(seconds) >= s), _UNITS[-1])


def format_seconds(seconds: float | None, unit: tuple[float, str] | None = None) -> str:
    """Four significant digits, in ``unit`` or the one that suits the number."""
    if seconds is None:
        return "-"
    scale, name = unit or unit_of(seconds)
    return f"{seconds / scale:.4g} {name}"


def _row(entry: dict[str, Any]) -> list[str]:
    stats = entry["stats"]
    if entry.get("error"):
        return [entry["name"], "failed", "", "", "", "", "0"]
    unit = unit_of(stats["median"])
    low, high = (f"{stats[k] / unit[0]:.4g}" for k in ("median_ci_low", "median_ci_high"))
    return [
        entry["name"],
        f"{format_seconds(stats['median'], unit)} ({low}–{high})",
        f"{format_seconds(stats['mean'])} ± {format_seconds(stats['stdev'])}",
        format_seconds(stats["min"]),
        format_seconds(stats["mad"]),
        str(stats["outliers"]),
        str(stats["n"]),
    ]


def _align(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def _notes(benchmarks: list[dict[str, Any]]) -> list[str]:
    """Errors, then warnings; a warning every benchmark shares (a busy machine) prints once."""
    lines = [f"error: {b['name']}: {b['error']}" for b in benchmarks if b.get("error")]
    by_text: dict[str, list[str]] = {}
    for entry in benchmarks:
        for text in entry.get("warnings", []):
            by_text.setdefault(text, []).append(entry["name"])
    shared = []
    for text, names in by_text.items():
        if len(names) == len(benchmarks) > 1:
            shared.append(f"warning: {text}")
        else:
            lines.append(f"warning: {', '.join(names)}: {text}")
    return lines + shared


def render(document: dict[str, Any]) -> str:
    """The table, the confidence level and MAD convention, then errors and warnings."""
    benchmarks = document["benchmarks"]
    if not benchmarks:
        return "no benchmarks\n"
    if any(b.get("unit", "s") != "s" for b in benchmarks):
        return _render_counted(document)
    confidence = next(
        (b["stats"]["confidence"] for b in benchmarks if b["stats"].get("confidence")), 0.95
    )
    rows = [list(HEADERS), *(_row(b) for b in benchmarks)]
    lines = _align(rows)
    lines.append(
        f"median with its {confidence:.0%} bootstrap CI; MAD unscaled (x1.4826 estimates"
        " sigma); outliers: |modified z-score| > 3.5; values are time per call"
    )
    if document.get("interrupted"):
        lines.append("interrupted: these are the values measured before Ctrl-C")
    return "\n".join(lines + _notes(benchmarks)) + "\n"


COUNTED_HEADERS = ("benchmark", "instructions", "est. cycles", "spread", "n")


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.4g}"


def _counted_row(entry: dict[str, Any]) -> list[str]:
    if entry.get("error"):
        return [entry["name"], "failed", "", "", "0"]
    stats = entry["stats"]
    cycles = (entry.get("est_cycles") or {}).get("stats") or {}
    median = stats["median"]
    spread = (stats["max"] - stats["min"]) / median if median else 0.0
    return [
        entry["name"],
        _count(median),
        _count(cycles.get("median")),
        f"{spread:.3%}",
        str(stats["n"]),
    ]


def _render_counted(document: dict[str, Any]) -> str:
    """``bench --instructions``: medians per call of the counted repetitions."""
    benchmarks = document["benchmarks"]
    lines = _align([list(COUNTED_HEADERS), *(_counted_row(b) for b in benchmarks)])
    lines.append(
        "counted by callgrind, per call (median of the repetitions); spread = (max - min) /"
        " median; est. cycles = L1 hits + 5 x LL hits + 35 x RAM hits"
    )
    if document.get("interrupted"):
        lines.append("interrupted: these are the values counted before Ctrl-C")
    return "\n".join(lines + _notes(benchmarks)) + "\n"
