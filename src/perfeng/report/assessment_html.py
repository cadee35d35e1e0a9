"""The assessment's (and the demo's) HTML report: the verdict first, the ranked findings,
then the evidence of each phase. One self-contained file, like every perfeng report."""

from __future__ import annotations

from typing import Any

from perfeng.report.capacity_html import capacity_sections
from perfeng.report.html import _e, _metadata, _page, run_sections
from perfeng.report.watch_html import findings_html


def _ms(value: Any) -> str:
    return "–" if value is None else f"{float(value):,.1f} ms"


def _rate(value: Any) -> str:
    return "–" if value is None else f"{float(value):,.0f} req/s"


def _cards(assessment: dict[str, Any]) -> str:
    base = assessment.get("baseline") or {}
    usl = assessment.get("usl") or {}
    cards = [
        ("sustainable", _rate(assessment.get("sustainable_rps"))),
        ("first failing", _rate(assessment.get("first_failing_rps"))),
        ("knee", _rate(assessment.get("knee_rps"))),
        ("unloaded p50", _ms(base.get("p50_ms"))),
        ("unloaded p99", _ms(base.get("p99_ms"))),
        ("USL peak", _rate(usl.get("x_max"))),
    ]
    body = "".join(f'<div class="card"><span>{_e(k)}</span><b>{_e(v)}</b></div>' for k, v in cards)
    return f'<div class="cards">{body}</div>'


def _lessons(assessment: dict[str, Any]) -> str:
    lessons = assessment.get("lessons") or []
    if not lessons:
        return ""
    rows = "".join(
        f"<tr><td>{_e(item['path'])}</td><td>{_e(item['models'])}</td>"
        f"<td>{_e(item['title'])}</td><td>{_e(item['lesson'])}</td></tr>"
        for item in lessons
    )
    head = (
        "<tr><th>endpoint</th><th>what it models</th><th>what perfeng found</th>"
        "<th>the lesson</th></tr>"
    )
    return f"<h2>The lesson, endpoint by endpoint</h2><table class='lessons'>{head}{rows}</table>"


def _usl(assessment: dict[str, Any]) -> str:
    usl = assessment.get("usl")
    if not usl:
        return ""
    if "error" in usl:
        return f"<h2>Scalability</h2><p>No USL fit: {_e(usl['error'])}</p>"
    return (
        "<h2>Scalability (Universal Scalability Law over the steps)</h2><p>"
        f"contention σ = {usl['sigma']:.4g}, coherency κ = {usl['kappa']:.4g}, one request "
        f"in service gives λ = {usl['lambda']:.4g} req/s; peak {_rate(usl.get('x_max'))} at "
        f"{_e('–' if usl.get('n_star') is None else format(usl['n_star'], '.1f'))} in service "
        f"(R² {usl['r_squared']:.3f}, {usl['points']} steps).</p>"
    )


def _phases(assessment: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(p['name'])}</td><td>{p['started_s']:.0f} s</td><td>{p['seconds']:.0f} s"
        f"</td><td>{_e(p['status'])}{_e(' (' + p['note'] + ')' if p.get('note') else '')}</td></tr>"
        for p in assessment["phases"]
    )
    head = "<tr><th>phase</th><th>started</th><th>took</th><th>status</th></tr>"
    budget = assessment.get("budget_s")
    note = f" within a budget of {budget:.0f} s" if budget else ""
    return f"<h2>Phases{_e(note)}</h2><table>{head}{rows}</table>"


def _runs(assessment: dict[str, Any]) -> str:
    parts = []
    for name, document in assessment.get("runs", {}).items():
        if assessment["kind"] == "assess" and name == "baseline":
            continue
        title = (
            f"{name}: the run under load"
            if assessment["kind"] == "demo"
            else ("The diagnosis run: up to the limit, watched and profiled")
        )
        parts.append(
            f"<section><h2 class='run'>{_e(title)}</h2>{run_sections(document, None)}</section>"
        )
    return "".join(parts)


def render(assessment: dict[str, Any]) -> str:
    demo = assessment["kind"] == "demo"
    heading = "perfeng demo: what limits each endpoint" if demo else "perfeng assessment"
    verdict = assessment["verdict"] if demo else (f"{assessment['target']} {assessment['verdict']}")
    banner_class = "fail" if assessment.get("interrupted") else "pass"
    slos = ", ".join(assessment.get("slos", []))
    body = (
        f"<h1>{_e(heading)}</h1><div class='muted'>{_e(assessment['target'])} · SLOs: "
        f"{_e(slos)}</div><div class='banner {banner_class}'>{_e(verdict)}</div>"
        + ("" if demo else _cards(assessment))
        + findings_html(assessment.get("findings") or [], "What limits it, first things first")
        + _lessons(assessment)
        + (capacity_sections(assessment["capacity"]) if assessment.get("capacity") else "")
        + _usl(assessment)
        + _phases(assessment)
        + _runs(assessment)
        + _metadata(assessment)
    )
    return _page(heading, body)
