"""Render a ``ResultComparison`` (``perfeng compare``) as a plain table or as Markdown."""

from __future__ import annotations

from perfeng.analysis.result_compare import ResultComparison, Row
from perfeng.units import format_ms

_HEADER = ("name", "metric", "base", "head", "ratio", "shift", "interval", "p", "verdict")
_PHASE_HEADER = ("phase", *_HEADER[1:-1], "change")
_KIND = {"bench": "benchmark results", "run": "load-test results", "page": "page loads"}


def value_text(value: float, unit: str) -> str:
    if unit in ("instructions", "est_cycles"):
        return f"{value:,.0f}"
    if unit in ("score", "KB", "count"):
        return f"{value:,.4g}" + ("" if unit == "score" else f" {unit}")
    if unit == "s":
        return _seconds(value)
    if abs(value) >= 1e7:  # an absurd figure stays one short cell
        return f"{value:.4g} {'ms' if unit == 'ms' else '/s'}"
    if unit == "ms":
        return f"{format_ms(value)} ms"
    return f"{value:,.1f}/s"


def _seconds(value: float) -> str:
    for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {suffix}"
    return f"{value / 1e-9:.4g} ns"


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:+.1%}"


def _cells(row: Row) -> tuple[str, ...]:
    interval = (
        f"[{_percent(row.shift_low)}, {_percent(row.shift_high)}]"
        if row.shift_low is not None or row.shift_high is not None
        else "-"
    )
    return (
        row.name,
        row.metric,
        value_text(row.base, row.unit),
        value_text(row.head, row.unit),
        f"{row.ratio:.3f}x",
        _percent(row.shift),
        interval,
        "-" if row.p_value != row.p_value else f"{row.p_value:.2g}",  # NaN: counted, no test
        row.verdict,
    )


def _tally(comparison: ResultComparison) -> str:
    kinds = ("slower", "faster", "inconclusive")
    counts = {v: sum(r.verdict == v for r in comparison.rows) for v in kinds}
    unchanged = len(comparison.rows) - sum(counts.values())
    text = f"{counts['slower']} slower, {counts['faster']} faster, {unchanged} no change"
    if counts["inconclusive"] and comparison.machine is not None:
        text += f", {counts['inconclusive']} inconclusive: {comparison.machine.describe()}"
    elif counts["inconclusive"]:
        text += f", {counts['inconclusive']} inconclusive"
    return text


def _notes(comparison: ResultComparison) -> list[str]:
    notes = [f"FAILED in head: {f}" for f in comparison.failed_in_head]
    notes += [f"warning: {w}" for w in comparison.warnings]
    if comparison.only_in_base:
        notes.append("only in base (not compared): " + ", ".join(comparison.only_in_base))
    if comparison.only_in_head:
        notes.append("only in head (not compared): " + ", ".join(comparison.only_in_head))
    return notes


def _title(comparison: ResultComparison) -> str:
    if comparison.rows and all(
        row.unit in ("instructions", "est_cycles") for row in comparison.rows
    ):
        return (
            "perfeng compare: counted benchmark results; a change counts when it exceeds"
            f" {comparison.min_effect:.1%} (and the spread, where not deterministic)"
        )
    return (
        f"perfeng compare: {_KIND[comparison.kind]}; a shift counts when p < "
        f"{comparison.alpha:g} and it exceeds {comparison.min_effect:.1%}"
    )


_PHASES_TITLE = "where the time went (p50 of each phase, all names; explains, not judged)"


def _aligned(header: tuple[str, ...], rows: tuple[Row, ...]) -> list[str]:
    table = [header, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table
    ]


def render_text(comparison: ResultComparison) -> str:
    lines = [_title(comparison), "", *_aligned(_HEADER, comparison.rows)]
    if comparison.phases:
        lines += ["", _PHASES_TITLE, *_aligned(_PHASE_HEADER, comparison.phases)]
    lines += ["", *_notes(comparison), f"verdict: {_tally(comparison)}"]
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(comparison: ResultComparison) -> str:
    status = (
        "**SLOWER**"
        if comparison.slower
        else "**FAILED**"
        if comparison.worse
        else "**INCONCLUSIVE**"
        if comparison.inconclusive
        else "**OK**"
    )
    lines = [f"## {_title(comparison)}", "", f"{status}: {_tally(comparison)}", ""]
    lines.append("| " + " | ".join(_HEADER) + " |")
    lines.append("|" + "---|" * len(_HEADER))
    for row in comparison.rows:
        cells = list(_cells(row))
        if row.verdict != "no change":
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    if comparison.phases:
        lines += ["", f"**{_PHASES_TITLE}**", "", "| " + " | ".join(_PHASE_HEADER) + " |"]
        lines.append("|" + "---|" * len(_PHASE_HEADER))
        lines += ["| " + " | ".join(_cells(row)) + " |" for row in comparison.phases]
    notes = _notes(comparison)
    if notes:
        lines += ["", *(f"- {_md_escape(n)}" for n in notes)]
    return "\n".join(lines) + "\n"
