"""``perfeng page URL``: load a page several times in headless Chromium, each time in a fresh
browser and profile, and keep every run, the median run's vitals, verdicts and findings."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from perfeng.analysis.page import findings_of, run_of, summary_of
from perfeng.browser.cdp import Browser, chromium_path
from perfeng.browser.measure import PRESETS, Stopped, measure
from perfeng.errors import UsageError
from perfeng.gates.evaluate import Verdict
from perfeng.gates.page import evaluate_page, load_budget, parse_page_threshold
from perfeng.gates.parser import Threshold
from perfeng.model.page import PageDocument, Run, Settings, as_dict
from perfeng.workflows import metadata


@dataclass(frozen=True)
class PagePlan:
    url: str
    runs: int = 5
    throttle: str = "none"
    cpu_slowdown: float = 1.0
    timeout_s: float = 30.0
    quiet_s: float = 1.0
    thresholds: tuple[str, ...] = ()
    budget: str | None = None
    argv: list[str] = field(default_factory=list)


def check_plan(plan: PagePlan) -> list[Threshold]:
    """Every bad option fails before a browser starts; the thresholds to judge by."""
    if not plan.url.startswith(("http://", "https://", "file://")):
        raise UsageError(f"{plan.url!r} is not a URL (http://, https:// or file://)")
    if plan.runs < 1:
        raise UsageError("--runs must be at least 1")
    if plan.throttle not in PRESETS:
        raise UsageError(f"--throttle must be one of {', '.join(PRESETS)}, not {plan.throttle!r}")
    if not 1 <= plan.cpu_slowdown <= 20:
        raise UsageError("--cpu-slowdown must be between 1 (none) and 20")
    if plan.timeout_s <= 0 or plan.quiet_s < 0:
        raise UsageError("--timeout must be above 0 and --quiet-window at least 0")
    thresholds = [parse_page_threshold(text) for text in plan.thresholds]
    if plan.budget is not None:
        thresholds += load_budget(plan.budget, plan.url)
    return thresholds


def run_page(
    plan: PagePlan, progress: Callable[[int, Run], None] = lambda _i, _r: None
) -> tuple[dict[str, Any], list[Verdict]]:
    """The page document and its verdicts. A run that did not settle in time is kept (marked
    ``timed_out``); a page that does not load at all raises ``TargetUnreachable``."""
    thresholds = check_plan(plan)
    executable = chromium_path()
    throttle = PRESETS[plan.throttle]
    start = time.time()
    runs: list[Run] = []
    try:
        with _signals_stop() as asked:
            for index in range(plan.runs):
                with Browser(executable) as browser:  # closed and reaped however this ends
                    observed = measure(
                        browser,
                        plan.url,
                        throttle=throttle,
                        cpu_slowdown=plan.cpu_slowdown,
                        timeout_s=plan.timeout_s,
                        quiet_s=plan.quiet_s,
                        stop=asked,
                    )
                runs.append(run_of(observed))
                progress(index, runs[-1])
                if asked():
                    raise Stopped(str(asked()))
    except Stopped as stop:
        if not runs:
            raise KeyboardInterrupt(stop.signal) from None
        document, verdicts = build_document(plan, runs, thresholds, start, time.time())
        document["interrupted"] = stop.signal
        return document, verdicts
    return build_document(plan, runs, thresholds, start, time.time())


@contextmanager
def _signals_stop() -> Iterator[Callable[[], str | None]]:
    """SIGINT and SIGTERM ask the runs to stop; the measurement stops where the browser can be
    closed and reaped (never between starting a browser and holding it), and the runs done so
    far are kept. Yields the question "was a stop asked, and by which signal?"."""
    asked: list[str] = []

    def stop(signum: int, _frame: object) -> None:
        asked.append(signal.Signals(signum).name)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: asked[0] if asked else None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def build_document(
    plan: PagePlan, runs: list[Run], thresholds: list[Threshold], start_s: float, end_s: float
) -> tuple[dict[str, Any], list[Verdict]]:
    summary = summary_of(runs)
    median = runs[summary.median_run]
    verdicts = evaluate_page(thresholds, median)
    throttle = PRESETS[plan.throttle]
    document = PageDocument(
        url=plan.url,
        metadata=metadata.collect(start_s, end_s, plan.argv),
        settings=Settings(
            runs=plan.runs,
            throttle=plan.throttle,
            cpu_slowdown=plan.cpu_slowdown,
            timeout_s=plan.timeout_s,
            quiet_s=plan.quiet_s,
            latency_ms=throttle.latency_ms,
            download_kbps=throttle.download_kbps,
            upload_kbps=throttle.upload_kbps,
        ),
        summary=summary,
        runs=runs,
        findings=findings_of(median),
    )
    built = as_dict(document)
    built["summary"]["thresholds"] = [v.to_dict() for v in verdicts]
    return built, verdicts
