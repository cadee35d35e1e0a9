"""The terminal summary of a page document: the median run's vitals with their bands, the
resources by type, the verdicts and the findings. Renders; computes nothing but the bands'
labels."""

from __future__ import annotations

from typing import Any

from perfeng.analysis.page import band
from perfeng.units import human_ms

_ROWS = (
    ("TTFB", "ttfb_ms"),
    ("First Contentful Paint", "fcp_ms"),
    ("Largest Contentful Paint", "lcp_ms"),
    ("Cumulative Layout Shift", "cls"),
    ("Total Blocking Time", "tbt_ms"),
    ("DOMContentLoaded", "dom_content_loaded_ms"),
    ("load", "load_ms"),
)


def value_text(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if key == "cls" else human_ms(value)


def render(document: dict[str, Any]) -> str:
    summary = document["summary"]
    runs = document["runs"]
    median = runs[summary["median_run"]]
    settings = document["settings"]
    lines = [
        f"page {document['url']}: {len(runs)} run(s), median run #{summary['median_run'] + 1}"
        f" ({settings['throttle']} network, CPU x{settings['cpu_slowdown']:g})"
    ]
    for label, key in _ROWS:
        verdict = band(key, summary[key])
        lines.append(
            f"  {label:<26}{value_text(key, summary[key]):>12}"
            + (f"  {verdict}" if verdict else "")
        )
    if summary.get("lcp_element"):
        lines.append(f"  LCP element: {summary['lcp_element']}")
    totals = median["by_type"]
    shown = ", ".join(
        f"{kind} {t['requests']} ({t['transfer_kb']:,.1f} KB)"
        for kind, t in totals.items()
        if t["requests"] and kind != "total"
    )
    lines.append(
        f"  requests {summary['requests']}, {summary['transfer_kb']:,.1f} KB: {shown or 'none'}"
    )
    if any(r.get("timed_out") for r in runs):
        lines.append("  note: a run did not settle before the timeout: what it measured is kept")
    for verdict in summary.get("thresholds") or []:
        mark = "✓" if verdict["pass"] else "✗"
        shown_value = "-" if verdict["observed"] is None else f"{verdict['observed']:g}"
        lines.append(f"{mark} {verdict['expression']}  (observed {shown_value} {verdict['unit']})")
    findings = document.get("findings") or []
    if findings:
        lines.append("Findings, highest impact first:")
        for index, finding in enumerate(findings, 1):
            lines.append(f"{index}. {finding['severity']:<7} {finding['title']}")
            lines += [f"   - {line}" for line in finding["evidence"]]
            lines.append(f"   next: {finding['next_step']}")
    return "\n".join(lines) + "\n"
