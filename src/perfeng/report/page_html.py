"""The HTML page of a page document: the median run's vitals against web.dev's "good / needs
improvement / poor" bands, the verdicts, the findings, the waterfall, the biggest resources and
every run. One self-contained file, like the load-test report."""

from __future__ import annotations

from typing import Any

from perfeng.analysis.page import BANDS, band
from perfeng.report import charts
from perfeng.report.html import _e, _page
from perfeng.report.page_text import value_text
from perfeng.report.watch_html import findings_html
from perfeng.units import human_bytes

_VITALS = (
    ("TTFB", "ttfb_ms"),
    ("FCP", "fcp_ms"),
    ("LCP", "lcp_ms"),
    ("CLS", "cls"),
    ("TBT", "tbt_ms"),
    ("DOMContentLoaded", "dom_content_loaded_ms"),
    ("load", "load_ms"),
)
_BAND_CLASS = {"good": "pass", "needs improvement": "warn", "poor": "fail"}
_CSS = (
    ".vital.pass{border-color:#16a34a}.vital.warn{border-color:#d97706}"
    ".vital.fail{border-color:#dc2626}"
)


def _cards(summary: dict[str, Any]) -> str:
    cards = []
    for label, key in _VITALS:
        verdict = band(key, summary[key])
        limits = ""
        if key in BANDS:
            good, poor = BANDS[key]
            limits = f" · good ≤ {value_text(key, good)}, poor > {value_text(key, poor)}"
        cards.append(
            f'<div class="card vital {_BAND_CLASS.get(verdict or "", "")}">'
            f"<b>{_e(value_text(key, summary[key]))}</b><span>{label}"
            f"{' · ' + verdict if verdict else ''}{_e(limits)}</span></div>"
        )
    extra = (
        f'<div class="card"><b>{summary["requests"]}</b><span>requests</span></div>'
        f'<div class="card"><b>{summary["transfer_kb"]:,.1f} KB</b><span>transferred</span></div>'
    )
    return f'<div class="cards">{"".join(cards)}{extra}</div>'


def _verdicts(summary: dict[str, Any]) -> str:
    verdicts = summary.get("thresholds") or []
    if not verdicts:
        return '<div class="banner none">No thresholds or budgets were set.</div>'
    failed = [v for v in verdicts if not v["pass"]]
    head = (
        f'<div class="banner fail">FAIL: {len(failed)} of {len(verdicts)} failed</div>'
        if failed
        else f'<div class="banner pass">PASS: all {len(verdicts)} held</div>'
    )
    rows = "".join(
        f"<tr><td>{_e(v['expression'])}</td><td>{_e(v['observed'])}</td>"
        f"<td>{_e(v['unit'])}</td><td>{'pass' if v['pass'] else 'FAIL'}</td></tr>"
        for v in verdicts
    )
    titles = "<tr><th>threshold</th><th>observed</th><th>unit</th><th></th></tr>"
    return f"{head}<table>{titles}{rows}</table>"


def _label(url: str) -> str:
    tail = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or url
    return tail if len(tail) <= 40 else tail[:37] + "..."


def _waterfall(run: dict[str, Any]) -> str:
    resources = run["resources"][:60]
    if not resources:
        return "<p class='muted'>no requests were recorded</p>"
    svg = charts.waterfall(
        "Waterfall of the median run",
        [(_label(r["url"]), r["type"], r["start_ms"], r["end_ms"]) for r in resources],
        [("FCP", run["fcp_ms"]), ("LCP", run["lcp_ms"]), ("load", run["load_ms"])],
    )
    return f"<figure>{svg}</figure>"


def _biggest(run: dict[str, Any]) -> str:
    biggest = sorted(run["resources"], key=lambda r: -r["transfer_bytes"])[:10]
    rows = "".join(
        f"<tr><td>{_e(r['url'])}</td><td>{_e(r['type'])}</td>"
        f"<td>{_e(human_bytes(r['transfer_bytes']))}</td>"
        f"<td>{r['end_ms'] - r['start_ms']:,.0f}</td>"
        f"<td>{'yes' if r['render_blocking'] else ''}</td></tr>"
        for r in biggest
    )
    head = "<tr><th>resource</th><th>type</th><th>size</th><th>ms</th><th>render-blocking</th></tr>"
    return f"<h2>Biggest resources</h2><table>{head}{rows}</table>"


def _runs(document: dict[str, Any]) -> str:
    keys = [key for _, key in _VITALS] + ["requests", "transfer_kb"]
    head = "<tr><th>run</th>" + "".join(f"<th>{_e(k)}</th>" for k in keys) + "</tr>"
    median = document["summary"]["median_run"]
    rows = "".join(
        f"<tr><td>{i + 1}{' (median)' if i == median else ''}"
        f"{' (timed out)' if run.get('timed_out') else ''}</td>"
        + "".join(f"<td>{_e(run[k] if run[k] is not None else '-')}</td>" for k in keys)
        + "</tr>"
        for i, run in enumerate(document["runs"])
    )
    return f"<h2>Every run</h2><table>{head}{rows}</table>"


def render(document: dict[str, Any]) -> str:
    summary = document["summary"]
    run = document["runs"][summary["median_run"]]
    settings = document["settings"]
    lcp = f" · LCP element {_e(summary['lcp_element'])}" if summary.get("lcp_element") else ""
    body = (
        f"<style>{_CSS}</style><h1>perfeng page</h1>"
        f"<div class='muted'>{_e(document['url'])} · {_e(document['metadata'].get('start_utc'))}"
        f" · {len(document['runs'])} runs, median run {summary['median_run'] + 1} · network "
        f"{_e(settings['throttle'])}, CPU ×{settings['cpu_slowdown']:g}{lcp}</div>"
        + _verdicts(summary)
        + findings_html(document.get("findings") or [])
        + "<h2>Web Vitals of the median run</h2>"
        + _cards(summary)
        + "<h2>Waterfall</h2>"
        + _waterfall(run)
        + _biggest(run)
        + _runs(document)
    )
    return _page("perfeng page report", body)
