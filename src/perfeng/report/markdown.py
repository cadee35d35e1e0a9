"""A Markdown summary of a run, for pull-request comments. Renders; computes nothing."""

from __future__ import annotations

from typing import Any

from perfeng.report.faults import markdown_lines
from perfeng.report.findings import markdown as findings_markdown
from perfeng.report.patterns import pattern_lines
from perfeng.units import human_ms

_COLUMNS = ("p50", "p90", "p99", "p99_9", "max")


def _cell(text: str) -> str:
    """Text from users or targets, made safe inside a Markdown table cell."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for char in "<>*_`[]":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _row(name: str, entry: dict[str, Any]) -> str:
    latency = entry["latency_ms"]
    cells = [
        _cell(name),
        f"{entry['requests']:,}",
        f"{entry['errors']:,}",
        f"{entry['throughput_rps']:,.1f}",
        *(_ms(latency.get(k)) for k in _COLUMNS),
    ]
    return "| " + " | ".join(cells) + " |"


def _verdicts(summary: dict[str, Any]) -> list[str]:
    lines = []
    for verdict in summary["thresholds"]:
        mark = "✅" if verdict["pass"] else "❌"
        observed = "no data" if verdict["observed"] is None else f"{verdict['observed']:g}"
        lines.append(
            f"- {mark} `{verdict['expression'].replace('`', '')}`: observed "
            f"{observed} {verdict.get('unit', '')}"
        )
    return lines


def render(document: dict[str, Any]) -> str:
    summary = document["summary"]
    verdicts = summary["thresholds"]
    passed = all(v["pass"] for v in verdicts)
    banner = (
        "**PASS**: every threshold held"
        if passed and verdicts
        else "**FAIL**: a threshold failed"
        if verdicts
        else "no thresholds"
    )
    lines = [
        "## perfeng load test",
        "",
        f"{banner}. {summary['requests']:,} requests, {summary['errors']:,} errors "
        f"({summary['error_rate']:.2%}), {summary['dropped']:,} dropped, "
        f"{summary['throughput_rps']:,.1f} req/s.",
        "",
        "| name | requests | errors | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(name, entry) for name, entry in summary["by_name"].items()),
    ]
    phases = summary.get("phases_ms") or {}
    if phases:
        lines += [
            "",
            "Phases, p50: "
            + ", ".join(f"{p} {human_ms(stats['p50'] or 0.0)}" for p, stats in phases.items())
            + ".",
        ]
    if verdicts:
        lines += ["", *_verdicts(summary)]
    for line in pattern_lines(document):
        lines += ["", f"**{_cell(line)}**"]
    lines += markdown_lines(document, _cell)
    for warning in document.get("generator", {}).get("warnings", []):
        lines += ["", f"> ⚠️ {_cell(warning)}"]
    lines += findings_markdown(document.get("findings") or [], _cell)
    meta = document["metadata"]
    lines += [
        "",
        f"<sub>perfeng {meta['perfeng_version']}, {meta['start_utc']}, "
        f"host {_cell(str(meta['host']))}, commit {meta.get('git_commit') or 'none'}</sub>",
        "",
    ]
    return "\n".join(lines)
