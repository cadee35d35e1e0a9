"""Two runs in one HTML report: their charts overlaid and the change of each key number."""

from __future__ import annotations

from typing import Any

from perfeng.report import charts
from perfeng.report.html import Spectrum, _banner, _e, _metadata, _page

_KEYS: tuple[tuple[str, str, bool], ...] = (
    # label, path into the summary, whether higher is better
    ("throughput (req/s)", "throughput_rps", True),
    ("requests", "requests", True),
    ("error rate", "error_rate", False),
    ("dropped", "dropped", False),
    ("p50 latency (ms)", "latency_ms.p50", False),
    ("p90 latency (ms)", "latency_ms.p90", False),
    ("p99 latency (ms)", "latency_ms.p99", False),
    ("max latency (ms)", "latency_ms.max", False),
)


def _get(summary: dict[str, Any], path: str) -> float | None:
    value: Any = summary
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if value is None else float(value)


def _change(base: float | None, head: float | None, higher_is_better: bool) -> str:
    if base is None or head is None:
        return "–"
    if base == 0:
        return "=" if head == 0 else "new"
    change = (head - base) / base
    better = change > 0 if higher_is_better else change < 0
    mark = "better" if better and abs(change) > 0.001 else ("worse" if abs(change) > 0.001 else "")
    return f"{change:+.1%} {mark}".strip()


def _table(base: dict[str, Any], head: dict[str, Any]) -> str:
    rows = []
    for label, path, higher in _KEYS:
        a, b = _get(base, path), _get(head, path)
        rows.append(
            f"<tr><td>{_e(label)}</td><td>{'–' if a is None else f'{a:,.3f}'}</td>"
            f"<td>{'–' if b is None else f'{b:,.3f}'}</td>"
            f"<td>{_e(_change(a, b, higher))}</td></tr>"
        )
    return (
        "<h2>Key numbers</h2><table><tr><th></th><th>base</th><th>head</th><th>change</th>"
        f"</tr>{''.join(rows)}</table>"
    )


def _overlay(base: dict[str, Any], head: dict[str, Any], key: str, title: str, unit: str) -> str:
    series = []
    for label, summary in (("base", base), ("head", head)):
        points = summary["timeseries"]
        start = points[0]["elapsed_s"] if points else 0.0
        series.append(
            (label, [p["elapsed_s"] - start for p in points], [p.get(key) for p in points])
        )
    return charts.lines(title, series, "seconds", unit)


def render(
    base: dict[str, Any], head: dict[str, Any], base_spectrum: Spectrum, head_spectrum: Spectrum
) -> str:
    a, b = base["summary"], head["summary"]
    figures = [
        _overlay(a, b, "achieved_rate", "Throughput", "requests/s"),
        _overlay(a, b, "p99_ms", "p99 latency over time", "ms"),
        charts.percentile_distribution(
            "Latency by percentile", [("base", base_spectrum), ("head", head_spectrum)]
        ),
    ]
    body = (
        "<h1>perfeng: two runs compared</h1>"
        f"<div class='muted'>base {_e(base['metadata'].get('start_utc'))} · head "
        f"{_e(head['metadata'].get('start_utc'))}</div>"
        + "<h2>Head's thresholds</h2>"
        + _banner(b)
        + _table(a, b)
        + "".join(f"<figure>{svg}</figure>" for svg in figures)
        + _metadata(head)
    )
    return _page("perfeng comparison", body)
