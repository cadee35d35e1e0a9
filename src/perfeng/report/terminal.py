"""The end-of-run summary on the terminal (rich)."""

from __future__ import annotations

from typing import Any, TextIO

from perfeng.report.faults import terminal_table
from perfeng.report.patterns import pattern_lines
from perfeng.report.values import observed_text
from perfeng.units import format_ms, human_ms

_COLUMNS = ("p50", "p90", "p99", "p99_9", "max")


def _latency_row(stats: dict[str, Any]) -> list[str]:
    return [format_ms(stats.get(k)) for k in _COLUMNS]


def _table(summary: dict[str, Any], closed: bool) -> Any:
    from rich.table import Table

    what = "latency = service time" if closed else "latency from intended start"
    table = Table(title=f"requests ({what}, ms)", title_justify="left")
    for header in ("name", "requests", "errors", "req/s"):
        table.add_column(header, justify="left" if header == "name" else "right")
    for header in _COLUMNS:
        table.add_column(header.replace("_", "."), justify="right")
    for name, entry in summary["by_name"].items():
        table.add_row(
            _escape(name),
            f"{entry['requests']:,}",
            f"{entry['errors']:,}",
            f"{entry['throughput_rps']:,.1f}",
            *_latency_row(entry["latency_ms"]),
        )
    if len(summary["by_name"]) != 1:
        table.add_row(
            "[b]all[/b]",
            f"{summary['requests']:,}",
            f"{summary['errors']:,}",
            f"{summary['throughput_rps']:,.1f}",
            *_latency_row(summary["latency_ms"]),
        )
    return table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _lines(document: dict[str, Any], closed: bool) -> list[str]:
    summary = document["summary"]
    lines = [
        f"requests {summary['requests']:,}  errors {summary['errors']:,} "
        f"({summary['error_rate']:.2%})  dropped {summary['dropped']:,}  "
        f"throughput {summary['throughput_rps']:,.1f} req/s",
    ]
    if not closed:
        service = summary["service_time_ms"]
        lines.append(
            f"service time (from actual send): p50 {format_ms(service['p50'])} ms, "
            f"p99 {format_ms(service['p99'])} ms"
        )
    phases = summary.get("phases_ms") or {}
    if phases:
        lines.append(
            "phases p50: "
            + " · ".join(f"{p} {human_ms(stats['p50'] or 0.0)}" for p, stats in phases.items())
        )
    errors = {k: v for k, v in summary["errors_by_class"].items() if v}
    if errors:
        lines.append("errors: " + ", ".join(f"{k} {v:,}" for k, v in errors.items()))
    return lines


def print_summary(document: dict[str, Any], stream: TextIO, *, out_path: str | None) -> None:
    from rich.console import Console

    console = Console(file=stream, highlight=False)
    summary = document["summary"]
    closed = "closed" in document.get("model", "") and "open" not in document.get("model", "")
    console.print(_table(summary, closed))
    for line in _lines(document, closed):
        console.print(_escape(line))
    for note in document.get("notes", []):
        console.print(f"[dim]note: {_escape(note)}[/dim]")
    for verdict in summary["thresholds"]:
        mark = "[green]✓[/green]" if verdict["pass"] else "[red]✗[/red]"
        shown = observed_text(verdict["observed"], verdict.get("unit", ""))
        console.print(f"{mark} {_escape(verdict['expression'])}  (observed {shown})")
    for line in pattern_lines(document):
        console.print(f"[b]{_escape(line)}[/b]")
    faults = terminal_table(document)
    if faults is not None:
        console.print(faults)
    for warning in document.get("generator", {}).get("warnings", []):
        console.print(f"[yellow]warning: {_escape(warning)}[/yellow]")
    if document.get("interrupted"):
        console.print(f"[yellow]stopped early: {_escape(str(document['interrupted']))}[/yellow]")
    if out_path:
        console.print(f"result written to {_escape(out_path)}")


def print_findings(document: dict[str, Any], stream: TextIO) -> None:
    from rich.console import Console

    from perfeng.report.findings import finding_lines

    findings = document.get("findings") or []
    if not findings:
        return
    console = Console(file=stream, highlight=False)
    colours = {"critical": "red", "warning": "yellow", "info": "cyan"}
    console.print("[b]Findings, highest impact first:[/b]")
    for number, finding in enumerate(findings, 1):
        head, *rest = finding_lines(finding, number)
        console.print(f"[{colours[finding['severity']]}]{_escape(head)}[/]")
        for line in rest:
            console.print(_escape(line))
