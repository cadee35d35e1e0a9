"""The self-contained HTML report: one file, no script, no network, charts as inline SVG.

Every string that comes from the user or the target (names, URLs, messages, metadata) goes
through ``html.escape``; secret header values were masked when the result was written.
"""

from __future__ import annotations

import html
from typing import Any

from perfeng.report import charts
from perfeng.report.faults import html_table as faults_html
from perfeng.report.faults import spans as fault_spans
from perfeng.report.values import observed_text
from perfeng.report.watch_html import CSS as WATCH_CSS
from perfeng.report.watch_html import DASHED as WATCH_DASHED
from perfeng.report.watch_html import findings_html, flame_html, resource_panels

Spectrum = list[tuple[float, float]]

_CSS = (
    """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#111827;background:#f9fafb}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.banner{padding:12px 16px;border-radius:8px;font-weight:600;margin:16px 0}
.pass{background:#dcfce7;color:#166534} .fail{background:#fee2e2;color:#991b1b}
.none{background:#e5e7eb;color:#374151} .warn{background:#fef3c7;color:#92400e;padding:8px 12px;
border-radius:6px;margin:6px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px}
.card b{display:block;font-size:20px} .card span{color:#6b7280;font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff} td,th{border:1px solid #e5e7eb;
padding:4px 8px;text-align:right} td:first-child,th:first-child{text-align:left}
figure{margin:8px 0;background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px}
figure svg{width:100%;height:auto} .muted{color:#6b7280;font-size:12px}
"""
    + WATCH_CSS
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _banner(summary: dict[str, Any]) -> str:
    verdicts = summary["thresholds"]
    if not verdicts:
        return '<div class="banner none">No thresholds were set.</div>'
    failed = [v for v in verdicts if not v["pass"]]
    if not failed:
        return f'<div class="banner pass">PASS: all {len(verdicts)} thresholds held.</div>'
    names = ", ".join(_e(v["expression"]) for v in failed)
    counts = f"{len(failed)} of {len(verdicts)}"
    return f'<div class="banner fail">FAIL: {counts} thresholds failed: {names}</div>'


def _cards(summary: dict[str, Any]) -> str:
    latency = summary["latency_ms"]
    cards = [
        ("requests", f"{summary['requests']:,}"),
        ("throughput", f"{summary['throughput_rps']:,.1f}/s"),
        ("error rate", f"{summary['error_rate']:.2%}"),
        ("dropped", f"{summary['dropped']:,}"),
        ("p50 latency", f"{_ms(latency['p50'])} ms"),
        ("p99 latency", f"{_ms(latency['p99'])} ms"),
        ("max latency", f"{_ms(latency['max'])} ms"),
    ]
    body = "".join(f'<div class="card"><span>{_e(k)}</span><b>{_e(v)}</b></div>' for k, v in cards)
    return f'<div class="cards">{body}</div>'


def _thresholds(summary: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{'✓' if v['pass'] else '✗'} {_e(v['expression'])}</td>"
        f"<td>{_e(observed_text(v['observed'], v.get('unit', '')))}</td>"
        f"<td>{_e(v.get('note', ''))}</td></tr>"
        for v in summary["thresholds"]
    )
    if not rows:
        return ""
    head = "<tr><th>threshold</th><th>observed</th><th>note</th></tr>"
    return f"<h2>Thresholds</h2><table>{head}{rows}</table>"


def _names(summary: dict[str, Any]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "name",
            "requests",
            "errors",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
        )
    )
    rows = []
    for name, entry in summary["by_name"].items():
        lat = entry["latency_ms"]
        cells = [
            _e(name),
            f"{entry['requests']:,}",
            f"{entry['errors']:,}",
            f"{entry['throughput_rps']:,.1f}",
            *(_ms(lat[k]) for k in ("p50", "p90", "p99", "p99_9", "max")),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<h2>Requests by name</h2><table><tr>{head}</tr>{''.join(rows)}</table>"


def _phase_ms(value: float | None) -> str:
    from perfeng.units import human_ms

    if value is None:
        return "-"
    return "&lt;0.001 ms" if value < 0.001 else human_ms(value)


def _phases(summary: dict[str, Any]) -> str:
    """Where the time went, per request name: a stacked bar of each phase's part of the
    average answered request, and the figures in a table."""
    from perfeng.analysis.phases import PHASES, breakdowns

    found = breakdowns(summary)
    if not found:
        return ""
    svg = charts.stacked_rows(
        "Where an answered request's time went (mean per request)",
        [(b.name, b.per_request_ms) for b in found],
        "ms",
    )
    head = "".join(f"<th>{h}</th>" for h in ("name", "answered", *PHASES, "new connections"))
    rows = [
        "<tr>"
        + f"<td>{_e(b.name)}</td><td>{b.answered:,}</td>"
        + "".join(f"<td>{_phase_ms(b.per_request_ms.get(p))}</td>" for p in PHASES)
        + f"<td>{b.counts.get('connect', 0):,}</td></tr>"
        for b in found
    ]
    return (
        f"<h2>Where the time went</h2><figure>{svg}</figure>"
        f"<table><tr>{head}</tr>{''.join(rows)}</table>"
        "<p class='muted'>ms per answered request: a phase's mean × the requests that went "
        "through it ÷ the answered requests (connect and TLS only on new connections)</p>"
    )


def _timeseries_panels(summary: dict[str, Any]) -> list[charts.Panel]:
    series = summary["timeseries"]
    xs = [e["elapsed_s"] for e in series]
    classes = sorted({c for e in series for c in e.get("errors_by_class", {})})
    return [
        (
            "Throughput and target rate",
            "requests/s",
            [
                ("achieved", xs, [e["achieved_rate"] for e in series]),
                ("target", xs, [e["target_rate"] for e in series]),
            ],
            False,
        ),
        (
            "Latency over time",
            "ms",
            [
                (key.replace("_ms", ""), xs, [e.get(key) for e in series])
                for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms")
            ],
            True,
        ),
        (
            "Errors by class",
            "errors",
            [(c, xs, [e.get("errors_by_class", {}).get(c, 0) for e in series]) for c in classes],
            False,
        ),
    ]


def _warnings(document: dict[str, Any]) -> str:
    items = list(document.get("generator", {}).get("warnings", []))
    if document.get("interrupted"):
        items.append(f"stopped early: {document['interrupted']}")
    items += [f"note: {n}" for n in document.get("notes", [])]
    return "".join(f'<div class="warn">{_e(w)}</div>' for w in items)


def _metadata(document: dict[str, Any]) -> str:
    meta = document["metadata"]
    keys = (
        "perfeng_version",
        "python_version",
        "host",
        "os",
        "cpu_count",
        "start_utc",
        "end_utc",
        "duration_s",
        "git_commit",
        "event_loop",
    )
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(meta.get(k))}</td></tr>" for k in keys)
    command = " ".join(str(a) for a in meta.get("command_line", []))
    rows += f"<tr><td>command line</td><td>{_e(command)}</td></tr>"
    return f"<h2>Run</h2><table>{rows}</table>"


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def run_sections(document: dict[str, Any], spectrum: Spectrum | None) -> str:
    """Everything about one run below its heading: findings first, then the evidence."""
    summary = document["summary"]
    panels = _timeseries_panels(summary) + resource_panels(document)  # one time axis
    figures = [
        charts.timeline(
            panels,
            dashed=("target", *WATCH_DASHED),
            bars="Errors by class",
            shaded=fault_spans(document),
        )
    ]
    if spectrum is not None:
        figures.append(
            charts.percentile_distribution(
                "Latency by percentile (HdrHistogram style)", [("latency", spectrum)]
            )
        )
    return (
        _banner(summary)
        + findings_html(document.get("findings") or [])
        + _cards(summary)
        + _warnings(document)
        + _thresholds(summary)
        + faults_html(document)
        + "".join(f"<figure>{svg}</figure>" for svg in figures)
        + flame_html(document)
        + _names(summary)
        + _phases(summary)
    )


def render(document: dict[str, Any], spectrum: Spectrum) -> str:
    """One run."""
    body = (
        f"<h1>perfeng load test</h1><div class='muted'>{_e(document['metadata'].get('start_utc'))}"
        f" · {_e(document.get('scenario', {}).get('base_url', ''))}</div>"
        + run_sections(document, spectrum)
        + _metadata(document)
    )
    return _page("perfeng report", body)
