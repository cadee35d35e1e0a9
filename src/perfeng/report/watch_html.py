"""The HTML parts of what watching the target found: the ranked findings, the resource
charts on the latency charts' time axis, and the profile's flame graph. Renders only."""

from __future__ import annotations

import html
from typing import Any

from perfeng.report import charts

SEVERITY_CLASS = {"critical": "fail", "warning": "warnbox", "info": "none"}
CSS = """
.finding{background:#fff;border:1px solid #e5e7eb;border-left-width:6px;border-radius:8px;
padding:10px 14px;margin:10px 0} .finding h3{font-size:15px;margin:0 0 6px}
.finding.critical{border-left-color:#dc2626} .finding.warning{border-left-color:#d97706}
.finding.info{border-left-color:#2563eb} .finding ul{margin:4px 0 6px 18px;padding:0}
.finding .next{font-weight:600} .tag{font-size:11px;padding:1px 6px;border-radius:4px;
background:#e5e7eb;margin-right:6px;text-transform:uppercase}
code{background:#f3f4f6;padding:0 3px;border-radius:3px}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _where(where: dict[str, Any]) -> str:
    place = where["file"] + (f":{where['line']}" if where.get("line") else "")
    code = f" <code>{_e(where['code'])}</code>" if where.get("code") else ""
    if where["kind"] == "waiting":
        share = f"{where['own_share']:.0%} of the waiting"
    else:
        share = f"{where['own_share']:.0%} own, {where['total_share']:.0%} total of CPU samples"
    return f"<li>where: <code>{_e(where['function'])}</code> ({_e(place)}){code}: {share}</li>"


def findings_html(findings: list[dict[str, Any]], heading: str = "Findings") -> str:
    if not findings:
        return ""
    parts = [f"<h2>{_e(heading)}</h2>"]
    for number, finding in enumerate(findings, 1):
        certainty = " (less certain)" if finding.get("certainty") == "low" else ""
        name = f" · {_e(finding['name'])}" if finding.get("name") else ""
        items = "".join(f"<li>{_e(item)}</li>" for item in finding["evidence"])
        items += "".join(_where(w) for w in finding.get("where", [])[:3])
        parts.append(
            f'<div class="finding {_e(finding["severity"])}">'
            f'<h3><span class="tag">{_e(finding["severity"])}</span>{number}. '
            f"{_e(finding['title'])}{name}{_e(certainty)}</h3><ul>{items}</ul>"
            f'<div class="next">Next: {_e(finding["next_step"])}</div></div>'
        )
    return "".join(parts)


def _elapsed_of(document: dict[str, Any]) -> tuple[float, float]:
    """(epoch second, elapsed seconds) of one timeseries entry: the offset between clocks."""
    series = document["summary"]["timeseries"]
    if series:
        return float(series[0]["time"]), float(series[0]["elapsed_s"])
    return float(document["metadata"].get("start_epoch_s") or 0), 0.0


DASHED = ("machine (all CPUs)", "load generator")


def resource_panels(document: dict[str, Any]) -> list[charts.Panel]:
    """Target CPU and memory, for the latency charts' time axis (seconds from the start)."""
    resources = document.get("resources")
    if not resources or not resources.get("system"):
        return []
    t0, e0 = _elapsed_of(document)

    def x(time: int) -> float:
        return time - t0 + e0 + 0.5  # a sample covers [time, time + 1): plot its middle

    system = resources["system"]
    cpu: list[charts.Series] = [
        (
            f"PID {tree['pid']}",
            [x(s["time"]) for s in tree["samples"]],
            [s["cpu_pct"] for s in tree["samples"]],
        )
        for tree in resources["trees"]
    ]
    cpu.append((DASHED[0], [x(s["time"]) for s in system], [s["cpu_pct"] for s in system]))
    cpu.append(
        (DASHED[1], [x(s["time"]) for s in system], [s["generator_cpu_pct"] for s in system])
    )
    memory: list[charts.Series] = [
        (
            f"PID {tree['pid']} RSS",
            [x(s["time"]) for s in tree["samples"]],
            [None if s["rss_bytes"] is None else s["rss_bytes"] / 2**20 for s in tree["samples"]],
        )
        for tree in resources["trees"]
    ]
    return [
        ("Target CPU (% of one core) and the machine's (%)", "% CPU", cpu, False),
        ("Target memory (RSS)", "MiB", memory, False),
    ]


def flame_html(document: dict[str, Any]) -> str:
    """The CPU flame graph, and the waiting one where threads wait in request code."""
    data = document.get("profile")
    if not data or data.get("status") in ("unavailable", "off"):
        reason = (data or {}).get("reason")
        return f'<div class="warn">No profile: {_e(reason)}</div>' if reason else ""
    from perfeng.model.watch import ShapeError, read_profile
    from perfeng.report.flamegraph import render

    try:
        profile = read_profile(data, "profile")
    except ShapeError as exc:
        return f'<div class="warn">The profile is damaged: {_e(exc)}</div>'
    parts = []
    for kind, title in (
        ("cpu", "Where the CPU goes (py-spy, on-CPU samples)"),
        ("wall", "Where the time goes, waiting included (py-spy --idle)"),
    ):
        svg = render(profile, kind=kind, title=title)
        if svg:
            parts.append(f"<figure>{svg}</figure>")
    if not parts:
        return ""
    return (
        "<h2>Profile</h2><div class='muted'>Each bar is a function, as wide as its share of "
        "the samples; what it calls sits on top. Your code is in warm colours, the standard "
        "library and installed packages in grey.</div>" + "".join(parts)
    )
