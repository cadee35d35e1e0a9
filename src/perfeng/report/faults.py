"""The fault table of the terminal summary and the markdown report (``summary.faults``)."""

from __future__ import annotations

from typing import Any

from perfeng.units import format_ms

HEADERS = ("fault", "window s", "requests", "error rate", "p99 ms", "recovery", "lost")


def fault_rows(document: dict[str, Any]) -> list[list[str]]:
    """One row per fault window; none for a run without faults."""
    return [_row(entry) for entry in document.get("summary", {}).get("faults") or []]


def _row(entry: dict[str, Any]) -> list[str]:
    recovery = entry.get("recovery_s")
    return [
        str(entry["fault"]),
        f"{entry['start_s']:.1f}-{entry['end_s']:.1f}",
        f"{entry['requests']:,}",
        f"{entry['error_rate']:.1%}",
        format_ms(entry.get("p99_ms")),
        "not recovered" if recovery is None else f"{recovery:.1f} s",
        f"{entry.get('lost', 0):,}",
    ]


def terminal_table(document: dict[str, Any]) -> Any:
    """A rich Table, or None without faults."""
    rows = fault_rows(document)
    if not rows:
        return None
    from rich.table import Table

    table = Table(title="faults (recovery: back within the baseline band)", title_justify="left")
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "fault" else "right")
    for row in rows:
        table.add_row(*row)
    return table


def markdown_lines(document: dict[str, Any], cell: Any) -> list[str]:
    rows = fault_rows(document)
    if not rows:
        return []
    lines = ["", "| " + " | ".join(HEADERS) + " |", "|---" + "|---:" * (len(HEADERS) - 1) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def spans(document: dict[str, Any]) -> list[tuple[float, float, str]]:
    """(start, end, label) of each fault window, for shading the time-series charts."""
    faults = document.get("summary", {}).get("faults") or []
    return [(float(f["start_s"]), float(f["end_s"]), str(f["fault"])) for f in faults]


def html_table(document: dict[str, Any]) -> str:
    rows = fault_rows(document)
    if not rows:
        return ""
    import html

    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(value)}</td>" for value in row) + "</tr>"
        for row in rows
    )
    note = (
        "<p class='muted'>shaded in the charts; recovery: until p99 and the error rate are "
        "back within the baseline band for 3 s (docs/faults.md)</p>"
    )
    return f"<h2>Faults</h2><table><tr>{head}</tr>{body}</table>{note}"
