"""Error-budget reports as text, Markdown or a small self-contained HTML page."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from perfeng.gates.budget import BudgetReport
from perfeng.units import human_seconds


def _pct(value: float | None, digits: int = 3) -> str:
    return "no data" if value is None else f"{value:.{digits}g} %"


def _share(value: float | None) -> str:
    return "no data" if value is None else f"{100 * value:.1f} %"


def _when(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _runs_out(report: BudgetReport) -> str:
    if report.budget_remaining is not None and report.budget_remaining <= 0:
        return "the budget is spent"
    if report.exhausted_in_s is None:
        return "not burning now" if report.burn_now == 0 else "no recent data"
    return f"in {human_seconds(report.exhausted_in_s)} at today's burn"


def _span(seconds: float) -> str:
    return human_seconds(round(seconds) if seconds >= 1 else seconds)


def lines(report: BudgetReport) -> list[tuple[str, str]]:
    """The report's rows, label and value, for every format."""
    burn = "no recent data" if report.burn_now is None else f"{report.burn_now:.3g}x"
    rows = [
        ("objective", f"{report.objective:g} % over {_span(report.period_s)}"),
        ("SLI over the period", _pct(report.sli, 6)),
        ("events", f"{report.events:,.0f} ({report.bad:,.0f} bad)"),
        ("budget spent", _share(report.budget_spent)),
        ("budget left", _share(report.budget_remaining)),
        (f"burn rate now (last {_span(report.burn_window_s)})", burn),
        ("budget runs out", _runs_out(report)),
        ("data covers", f"{_span(report.covered_s)} of the period"),
    ]
    for bucket in report.worst:
        ratio = (bucket.bad or (bucket.ratio or 0) * bucket.total) / bucket.total
        rows.append(
            (
                "worst window",
                f"{_when(bucket.start_s)} for {_span(bucket.end_s - bucket.start_s)}: "
                f"{100 * ratio:.3g} % bad",
            )
        )
    return rows


def text(reports: list[BudgetReport]) -> str:
    out = []
    for report in reports:
        out.append(f"{report.name} (from {report.source})")
        out.extend(f"  {label:<34} {value}" for label, value in lines(report))
    return "\n".join(out)


def markdown(reports: list[BudgetReport]) -> str:
    out = ["# Error budgets", ""]
    for report in reports:
        out += [f"## {report.name}", "", "| | |", "|---|---|"]
        out += [f"| {label} | {value} |" for label, value in lines(report)]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def page(reports: list[BudgetReport]) -> str:
    sections = []
    for report in reports:
        left = max(min(report.budget_remaining or 0.0, 1.0), 0.0)
        rows = "".join(
            f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
            for label, value in lines(report)
        )
        sections.append(
            f"<section><h2>{html.escape(report.name)}</h2>"
            f'<div class="bar" title="budget left">'
            f'<div style="width:{100 * left:.1f}%"></div></div>'
            f"<table>{rows}</table></section>"
        )
    style = (
        "body{font:15px system-ui,sans-serif;max-width:52rem;margin:2rem auto;color:#222}"
        "th{text-align:left;font-weight:normal;color:#555;padding-right:2rem}"
        ".bar{height:.8rem;background:#f3d3d3;border-radius:.4rem;margin:.5rem 0 1rem}"
        ".bar div{height:100%;background:#3a7;border-radius:.4rem}"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Error budgets</title>"
        f"<style>{style}</style></head><body><h1>Error budgets</h1>{''.join(sections)}"
        "</body></html>\n"
    )
