"""Page loads: Web Vitals from what the browser observed, the median run, and the findings.

- **CLS** (web.dev/articles/cls, "evolving CLS"): layout shifts without recent input are grouped
  in session windows (a gap under 1 s between shifts, a window no longer than 5 s); CLS is the
  largest window's sum.
- **TBT** (Lighthouse, "Total Blocking Time"): the sum over long tasks (over 50 ms) that start
  after First Contentful Paint of the part beyond 50 ms. Lighthouse ends the sum at Time to
  Interactive; here it ends when the page settled (no long task for the quiet window).
- **Median run** (Lighthouse CI's ``computeMedianRun``): the run closest to the median FCP and
  the median of the last vital (LCP here, where Lighthouse uses TTI), each distance relative to
  its median: min over runs of ((fcp - m_fcp) / m_fcp)^2 + ((lcp - m_lcp) / m_lcp)^2.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from perfeng.model.findings import Finding
from perfeng.model.page import (
    RESOURCE_TYPES,
    LongTask,
    Observation,
    Resource,
    Run,
    Shift,
    Summary,
    TypeTotal,
)
from perfeng.units import human_bytes, human_ms

LONG_TASK_MS = 50.0
SESSION_GAP_MS = 1000.0
SESSION_SPAN_MS = 5000.0


def cls_of(shifts: Sequence[Shift]) -> float:
    """The largest session window's sum of layout-shift scores."""
    best = current = 0.0
    window_start = last = None
    for shift in sorted(shifts, key=lambda s: s.start_ms):
        t = shift.start_ms
        if (
            window_start is None
            or last is None
            or t - last >= SESSION_GAP_MS
            or t - window_start >= SESSION_SPAN_MS
        ):
            window_start, current = t, 0.0
        current += shift.value
        last = t
        best = max(best, current)
    return best


def tbt_of(tasks: Sequence[LongTask], fcp_ms: float | None) -> float:
    """Total Blocking Time: each long task's part beyond 50 ms, after FCP."""
    after = fcp_ms or 0.0
    return sum(
        max(task.duration_ms - LONG_TASK_MS, 0.0) for task in tasks if task.start_ms >= after
    )


def totals_by_type(resources: Sequence[Resource]) -> dict[str, TypeTotal]:
    """Requests and KB for each resource type, third parties, and everything."""
    groups: dict[str, list[Resource]] = {kind: [] for kind in RESOURCE_TYPES}
    for resource in resources:
        groups.setdefault(resource.type, []).append(resource)
    groups["third-party"] = [r for r in resources if r.third_party]
    groups["total"] = list(resources)
    return {
        kind: TypeTotal(
            requests=len(members),
            transfer_kb=round(sum(r.transfer_bytes for r in members) / 1024, 2),
        )
        for kind, members in groups.items()
    }


def run_of(observed: Observation) -> Run:
    by_type = totals_by_type(observed.resources)
    return Run(
        ttfb_ms=observed.ttfb_ms,
        fcp_ms=observed.fcp_ms,
        lcp_ms=observed.lcp_ms,
        lcp_element=observed.lcp_element,
        lcp_url=observed.lcp_url,
        cls=round(cls_of(observed.shifts), 4),
        tbt_ms=round(tbt_of(observed.long_tasks, observed.fcp_ms), 3),
        dom_content_loaded_ms=observed.dom_content_loaded_ms,
        load_ms=observed.load_ms,
        requests=by_type["total"].requests,
        transfer_kb=by_type["total"].transfer_kb,
        by_type=by_type,
        resources=observed.resources,
        shifts=observed.shifts,
        long_tasks=observed.long_tasks,
        timed_out=observed.timed_out,
    )


def median_run(runs: Sequence[Run]) -> int:
    """The index of the median run (see the module's docstring)."""

    def values(key: str) -> list[float]:
        return [float(getattr(r, key) or 0.0) for r in runs]

    fcp, lcp = values("fcp_ms"), values("lcp_ms")
    mid_fcp, mid_lcp = statistics.median(fcp) or 1.0, statistics.median(lcp) or 1.0
    distance = [
        ((f - mid_fcp) / mid_fcp) ** 2 + ((c - mid_lcp) / mid_lcp) ** 2
        for f, c in zip(fcp, lcp, strict=True)
    ]
    return distance.index(min(distance))


def summary_of(runs: Sequence[Run]) -> Summary:
    index = median_run(runs)
    run = runs[index]
    return Summary(
        ttfb_ms=run.ttfb_ms,
        fcp_ms=run.fcp_ms,
        lcp_ms=run.lcp_ms,
        cls=run.cls,
        tbt_ms=run.tbt_ms,
        dom_content_loaded_ms=run.dom_content_loaded_ms,
        load_ms=run.load_ms,
        requests=run.requests,
        transfer_kb=run.transfer_kb,
        median_run=index,
        lcp_element=run.lcp_element,
    )


# ---- "good / needs improvement / poor" (web.dev's thresholds, at the 75th percentile) -------

BANDS: dict[str, tuple[float, float]] = {
    "ttfb_ms": (800.0, 1800.0),
    "fcp_ms": (1800.0, 3000.0),
    "lcp_ms": (2500.0, 4000.0),
    "cls": (0.1, 0.25),
    "tbt_ms": (200.0, 600.0),  # Lighthouse's scoring: 200 ms good, 600 ms poor
}


def band(key: str, value: float | None) -> str | None:
    if value is None or key not in BANDS:
        return None
    good, poor = BANDS[key]
    return "good" if value <= good else "needs improvement" if value <= poor else "poor"


# ---- findings --------------------------------------------------------------------------------


def findings_of(run: Run) -> list[Finding]:
    """What the median run shows, warnings first, then by impact: the LCP, render-blocking
    resources, the largest resource, layout shifts and long tasks, with their figures."""
    found = [
        f
        for f in (
            _lcp(run),
            _blocking(run),
            _largest(run),
            _shift(run),
            _long_tasks(run),
        )
        if f is not None
    ]
    grade = {"critical": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda f: (grade[f.severity], -f.impact))


def _lcp(run: Run) -> Finding | None:
    verdict = band("lcp_ms", run.lcp_ms)
    if run.lcp_ms is None or verdict == "good":
        return None
    what = run.lcp_element or "an element"
    source = f" ({run.lcp_url})" if run.lcp_url else ""
    return Finding(
        id="page_lcp",
        title=f"Largest Contentful Paint {human_ms(run.lcp_ms)} ({verdict}): {what}",
        severity="warning" if verdict == "poor" else "info",
        impact=round(run.lcp_ms / 2500.0, 4),
        evidence=[f"the largest element painted was {what}{source} at {human_ms(run.lcp_ms)}"],
        figures={"lcp_ms": run.lcp_ms, "lcp_element": run.lcp_element},
        next_step="Make that element arrive sooner: a smaller or preloaded image, no lazy "
        "loading for it, and nothing render-blocking in front of it.",
    )


def _blocking(run: Run) -> Finding | None:
    blocking = [r for r in run.resources if r.render_blocking]
    if not blocking:
        return None
    slowest = max(blocking, key=lambda r: r.end_ms)
    return Finding(
        id="page_render_blocking",
        title=f"{len(blocking)} render-blocking resource(s): the page cannot paint before "
        f"{human_ms(slowest.end_ms)}",
        severity="warning" if run.fcp_ms and slowest.end_ms >= 0.5 * run.fcp_ms else "info",
        impact=round(slowest.end_ms / max(run.fcp_ms or slowest.end_ms, 1.0), 4),
        evidence=[
            f"{r.type} {r.url} loaded by {human_ms(r.end_ms)} ({human_bytes(r.transfer_bytes)})"
            for r in sorted(blocking, key=lambda r: -r.end_ms)[:5]
        ],
        figures={"render_blocking": len(blocking), "last_blocking_ms": slowest.end_ms},
        next_step="Load scripts with defer or async, inline the CSS the first paint needs and "
        "load the rest later.",
    )


def _largest(run: Run) -> Finding | None:
    if not run.resources or run.transfer_kb <= 0:
        return None
    biggest = max(run.resources, key=lambda r: r.transfer_bytes)
    share = biggest.transfer_bytes / (run.transfer_kb * 1024)
    if share < 0.25:
        return None
    return Finding(
        id="page_largest_resource",
        title=f"The largest resource is {share:.0%} of the page's bytes: {biggest.type} "
        f"{human_bytes(biggest.transfer_bytes)}",
        severity="info",
        impact=round(share, 4),
        evidence=[
            f"{biggest.url}: {human_bytes(biggest.transfer_bytes)} of "
            f"{human_bytes(int(run.transfer_kb * 1024))}, loaded from "
            f"{human_ms(biggest.start_ms)} to {human_ms(biggest.end_ms)}"
        ],
        figures={"url": biggest.url, "transfer_bytes": biggest.transfer_bytes},
        next_step="Compress it (a modern image format, the size it is shown at; gzip or brotli "
        "for text) or load it later if it is not needed for the first view.",
    )


def _shift(run: Run) -> Finding | None:
    if run.cls <= 0.0 or not run.shifts:
        return None
    biggest = max(run.shifts, key=lambda s: s.value)
    moved = ", ".join(biggest.sources) or "elements"
    return Finding(
        id="page_layout_shift",
        title=f"Layout shift: CLS {run.cls:.3f} ({band('cls', run.cls)}); the largest shift "
        f"moved {moved}",
        severity="warning" if run.cls > 0.1 else "info",
        impact=round(run.cls / 0.1, 4),
        evidence=[
            f"a shift of {s.value:.3f} at {human_ms(s.start_ms)} moved "
            f"{', '.join(s.sources) or 'elements'}"
            for s in sorted(run.shifts, key=lambda s: -s.value)[:3]
        ],
        figures={"cls": run.cls, "largest_shift": round(biggest.value, 4)},
        next_step="Reserve the space of content that arrives late (width and height on images, "
        "a fixed box for banners and ads) instead of inserting it above what is shown.",
    )


def _long_tasks(run: Run) -> Finding | None:
    if not run.long_tasks:
        return None
    longest = max(run.long_tasks, key=lambda t: t.duration_ms)
    return Finding(
        id="page_long_tasks",
        title=f"{len(run.long_tasks)} long task(s) on the main thread: TBT "
        f"{human_ms(run.tbt_ms)} ({band('tbt_ms', run.tbt_ms)})",
        severity="warning" if run.tbt_ms > 200 else "info",
        impact=round(run.tbt_ms / 200.0, 4),
        evidence=[
            f"the longest ran {human_ms(longest.duration_ms)} from {human_ms(longest.start_ms)}"
        ],
        figures={"long_tasks": len(run.long_tasks), "tbt_ms": run.tbt_ms},
        next_step="Split the work into chunks under 50 ms (yield to the browser between them) "
        "or move it off the main thread (a Web Worker).",
    )
