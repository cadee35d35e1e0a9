"""HTML pages for capacity results: the search's steps, and a scalability fit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perfeng.report import charts
from perfeng.report.html import _e, _page


def _steps_table(steps: list[dict[str, Any]]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "offered /s",
            "achieved /s",
            "p50 ms",
            "p99 ms",
            "errors",
            "in system (N = X·R)",
            "verdict",
        )
    )

    def cell(value: float | None, spec: str) -> str:
        return "–" if value is None else format(value, spec)

    rows = "".join(
        f"<tr><td>{s['target_rate']:,.1f}</td><td>{s['achieved_rps']:,.1f}</td>"
        f"<td>{cell(s['p50_ms'], '.2f')}</td><td>{cell(s['p99_ms'], '.2f')}</td>"
        f"<td>{s['error_rate']:.2%}</td><td>{cell(s['concurrency'], '.1f')}</td>"
        f"<td>{'pass' if s['pass'] else 'fail'}</td></tr>"
        for s in sorted(steps, key=lambda s: s["target_rate"])
    )
    return f"<h2>Steps</h2><table><tr>{head}</tr>{rows}</table>"


def render_find(document: dict[str, Any]) -> str:
    result = document["capacity"]
    best = result.get("max_sustainable_rps")
    banner = f"Max sustainable rate: {best:,.1f} req/s" if best else "No rate met the SLOs"
    body = (
        f"<h1>perfeng capacity</h1><div class='muted'>{_e(result.get('target'))} · SLOs: "
        f"{_e(', '.join(result.get('slos', [])))}</div>"
        f"<div class='banner {'pass' if best else 'fail'}'>{_e(banner)}; first failing: "
        f"{_e(result.get('first_failing_rps'))}; knee: {_e(result.get('knee_rps'))}</div>"
        + capacity_sections(result)
    )
    return _page("perfeng capacity", body)


def capacity_sections(result: dict[str, Any]) -> str:
    """The steps' charts and table."""
    steps = sorted(result["steps"], key=lambda s: s["target_rate"])
    offered = [s["target_rate"] for s in steps]
    throughput = charts.points_and_curves(
        "Throughput against offered load",
        [(s["target_rate"], s["achieved_rps"]) for s in steps],
        [("offered = achieved", offered, offered)],
        "offered load (req/s)",
        "throughput (req/s)",
        dashed=("offered = achieved",),
        marker_x=result.get("max_sustainable_rps"),
        marker_label="max sustainable",
    )
    latency = charts.lines(
        "Latency against offered load",
        [
            ("p50", offered, [s["p50_ms"] for s in steps]),
            ("p99", offered, [s["p99_ms"] for s in steps]),
        ],
        "offered load (req/s)",
        "ms",
        log_y=True,
    )
    if not steps:
        return ""
    return f"<figure>{throughput}</figure><figure>{latency}</figure>" + _steps_table(steps)


def render_fit(
    points: list[tuple[float, float]],
    usl: Callable[[float], float],
    amdahl: Callable[[float], float],
    lam: float,
    n_star: float | None,
    summary: str,
) -> str:
    top = max(n for n, _ in points)
    right = max(top, n_star or 0) * 1.2
    xs = [right * i / 200 for i in range(1, 201)]
    chart = charts.points_and_curves(
        "Throughput against concurrency",
        points,
        [
            ("USL", xs, [usl(x) for x in xs]),
            ("Amdahl", xs, [amdahl(x) for x in xs]),
            ("linear", xs, [lam * x for x in xs]),
        ],
        "concurrency (N)",
        "throughput",
        dashed=("linear",),
        marker_x=n_star,
        marker_label="N*",
    )
    body = f"<h1>perfeng scalability fit</h1><pre>{_e(summary)}</pre><figure>{chart}</figure>"
    return _page("perfeng scalability fit", body)
