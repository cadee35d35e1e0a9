"""``perfeng assess``: the whole job in one call, inside a time budget.

1. an unloaded baseline (a low constant rate): what one request costs when nothing queues;
2. ``capacity find`` under the SLOs (workflows/capacity.py), steps sized to the budget;
3. a diagnosis run with resources and a profile: a ramp from half the sustainable rate to a
   fifth past the first failing one, then held there, so that what limits the target shows;
4. a USL fit of the steps (analysis/scalability.py) and the ranked findings of the diagnosis
   run, judged against the SLOs and the unloaded baseline; a one-line verdict.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from perfeng.analysis.diagnose import Context, diagnose
from perfeng.analysis.seconds import Baseline
from perfeng.model.assessment import Assessment, Phase
from perfeng.model.findings import Finding
from perfeng.model.watch import to_builtins
from perfeng.units import human_ms, human_rate, human_seconds
from perfeng.workflows.capacity import FindSettings, find_capacity, steady
from perfeng.workflows.load import LoadSettings, Target, run_load

PHASES = 4
BASELINE_RATE = 5.0  # requests a second: light enough that nothing queues
CLOSING_S = 4.0  # kept for the last run's drain, the report and stopping the target


@dataclass
class AssessSettings:
    slos: Sequence[str]
    budget_s: float = 300.0
    start: float = 10.0
    maximum: float = 100_000.0
    resolution: float = 0.1
    on_event: Callable[[str], None] = print
    on_progress: Callable[[Any], None] | None = None
    argv: Sequence[str] = ()
    target: str = ""


@dataclass
class Plan:
    """How the budget is shared out (seconds)."""

    baseline_s: float
    step_s: float
    diagnosis_s: float

    @classmethod
    def of(cls, budget_s: float) -> Plan:
        baseline = min(max(0.05 * budget_s, 4.0), 20.0)
        diagnosis = min(max(0.25 * budget_s, 10.0), 120.0)
        capacity = max(budget_s - baseline - diagnosis, 0.0) * 0.85  # the rest: overheads
        return cls(baseline, min(max(capacity / 8, 3.0), 30.0), diagnosis)


@dataclass
class Progress:
    settings: AssessSettings
    started: float = field(default_factory=time.monotonic)
    phases: list[Phase] = field(default_factory=list)

    def left_s(self) -> float:
        return max(self.settings.budget_s - (time.monotonic() - self.started), 0.0)

    def say(self, number: int, text: str) -> None:
        self.settings.on_event(
            f"[{number}/{PHASES}] {text} ({human_seconds(self.left_s())} of the budget left)"
        )

    def done(self, name: str, began: float, status: Any = "done", note: str | None = None) -> None:
        self.phases.append(
            Phase(
                name=name,
                started_s=round(began - self.started, 1),
                seconds=round(time.monotonic() - began, 1),
                status=status,
                note=note,
            )
        )


def _constant(scenario: Any, rate: float, seconds: float) -> Any:
    from perfeng.engine.workloads import ConstantRate

    workload = ConstantRate(rate=rate, duration_s=seconds, name="baseline")
    return dataclasses.replace(scenario, workloads=(workload,), thresholds=())


def _ramp(scenario: Any, low: float, high: float, seconds: float, slos: Sequence[str]) -> Any:
    from perfeng.engine.workloads import RampingRate

    stages = ((round(0.5 * seconds, 3), high), (round(0.5 * seconds, 3), high))
    workload = RampingRate(stages=stages, start_rate=low, name="diagnosis")
    return dataclasses.replace(scenario, workloads=(workload,), thresholds=tuple(slos))


def slo_context(thresholds: Sequence[Any], baseline: Baseline | None) -> Context:
    """What the findings judge against: the tightest latency SLO, the error-rate SLO."""
    latency = [t for t in thresholds if t.unit == "ms"]
    errors = [t for t in thresholds if t.metric == "error_rate" and t.operator in ("<", "<=")]
    tightest = min(latency, key=lambda t: t.limit, default=None)
    return Context(
        latency_limit_ms=tightest.limit if tightest else None,
        latency_slo=tightest.expression if tightest else None,
        error_limit=min((t.limit for t in errors), default=None),
        baseline=baseline,
    )


def measure_baseline(
    scenario: Any, plan: Plan, settings: AssessSettings, watched: Target | None
) -> tuple[dict[str, Any], Baseline | None, str | None]:
    rate = min(BASELINE_RATE, settings.start)
    load = LoadSettings(
        grace_s=2.0, argv=settings.argv, on_progress=settings.on_progress, diagnose=False
    )
    outcome = run_load(_constant(scenario, rate, plan.baseline_s), (), load, watched)
    summary = steady(outcome.document, min(1.0, plan.baseline_s * 0.2))
    latency = summary["latency_ms"]
    base = None
    if latency["p50"] is not None:
        base = Baseline(
            p50_ms=float(latency["p50"]),
            p99_ms=float(latency["p99"]),
            mean_ms=float(latency["p50"]),
            source="unloaded run",
        )
    return outcome.document, base, outcome.stop_reason


def _usl(steps: list[dict[str, Any]]) -> dict[str, Any]:
    from perfeng.analysis.scalability import FitError, fit_usl

    points = sorted(
        (float(s["concurrency"]), float(s["achieved_rps"]))
        for s in steps
        if s.get("concurrency") and s.get("achieved_rps")
    )
    try:
        fit = fit_usl(points)
    except FitError as exc:
        return {"error": str(exc), "points": len(points)}
    return {**fit.to_dict(), "points": len(points)}


def diagnosis_rates(section: dict[str, Any], start: float) -> tuple[float, float]:
    best, worst = section["max_sustainable_rps"], section["first_failing_rps"]
    # A little past the first failing rate, so that what limits the target shows for long
    top = worst * 1.2 if worst is not None else (best * 1.25 if best else start)
    low = (best or start) * 0.5
    return max(low, 1.0), max(top, low * 1.5, 2.0)


def run_diagnosis(
    scenario: Any,
    low: float,
    high: float,
    seconds: float,
    settings: AssessSettings,
    context: Context,
    watched: Target | None,
) -> tuple[dict[str, Any], str | None]:
    from perfeng.gates import parse_thresholds

    load = LoadSettings(
        grace_s=2.0, argv=settings.argv, on_progress=settings.on_progress, context=context
    )
    diagnosis = _ramp(scenario, low, high, seconds, settings.slos)
    outcome = run_load(diagnosis, parse_thresholds(list(settings.slos)), load, watched)
    return outcome.document, outcome.stop_reason


def verdict(section: dict[str, Any] | None, slos: Sequence[str], top: Finding | None) -> str:
    slo = " and ".join(slos)
    best = section["max_sustainable_rps"] if section else None
    if best is None:
        first = f"does not meet {slo} even at the lowest rate tried"
    else:
        first = f"sustains {human_rate(best)} within {slo}"
    if top is None or top.id == "no_bottleneck":
        return f"{first}; no bottleneck was found in the range tried."
    cause = _cause(top)
    return f"{first}; {cause}; fix that first."


def _cause(top: Finding) -> str:
    where = top.where[0] if top.where else None
    if top.id == "cpu_saturation":
        if where is None:
            return "limited by CPU"
        return f"limited by CPU in `{where.function}` ({where.own_share:.0%} of samples)"
    if top.id == "serialisation":
        place = f" at {where.file}:{where.line} in `{where.function}`" if where else ""
        return f"limited by serialisation{place}: requests pass one at a time"
    if top.id == "pool_limit":
        n = top.figures.get("in_service")
        return f"limited by a pool of about {round(float(n or 0))} requests in service"
    if top.id == "errors_under_load":
        n = top.figures.get("in_flight_at_onset")
        return (
            f"failing above about {n:.0f} requests in flight"
            if isinstance(n, float | int)
            else "failing more as load grows"
        )
    return _lower(top.title)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def top_target_finding(findings: list[Finding]) -> Finding | None:
    skip = {"generator", "watch_unavailable"}
    return next((f for f in findings if f.id not in skip), None)


def assess(scenario: Any, settings: AssessSettings, watched: Target | None = None) -> Assessment:
    from perfeng.workflows.metadata import collect

    wall_start = time.time()
    plan, progress = Plan.of(settings.budget_s), Progress(settings)
    runs: dict[str, dict[str, Any]] = {}
    progress.say(
        1,
        f"unloaded baseline: {human_rate(min(BASELINE_RATE, settings.start))} for "
        f"{human_seconds(plan.baseline_s)}",
    )
    began = time.monotonic()
    runs["baseline"], base, stop = measure_baseline(scenario, plan, settings, watched)
    progress.done("baseline", began)
    if base is not None:
        settings.on_event(
            f"      unloaded: p50 {human_ms(base.p50_ms)}, p99 {human_ms(base.p99_ms)}"
        )
    section: dict[str, Any] | None = None
    findings: list[Finding] = []
    if stop is None:
        section, stop = _capacity(scenario, plan, settings, watched, progress)
    usl = _usl(section["steps"]) if section else None
    if stop is None and section is not None:
        findings, stop = _diagnose(scenario, section, base, plan, settings, watched, progress, runs)
    top = top_target_finding(findings)
    return Assessment(
        kind="assess",
        metadata=collect(wall_start, time.time(), list(settings.argv)),
        target=settings.target or scenario.base_url,
        slos=list(settings.slos),
        verdict=verdict(section, settings.slos, top),
        sustainable_rps=section["max_sustainable_rps"] if section else None,
        first_failing_rps=section["first_failing_rps"] if section else None,
        knee_rps=section["knee_rps"] if section else None,
        baseline=None
        if base is None
        else dataclasses.asdict(base) | {"rate": min(BASELINE_RATE, settings.start)},
        capacity=section,
        usl=usl,
        phases=progress.phases,
        findings=findings,
        runs=runs,
        budget_s=settings.budget_s,
        interrupted=stop if stop not in (None, "budget") else None,
    )


def _capacity(
    scenario: Any, plan: Plan, settings: AssessSettings, watched: Target | None, progress: Progress
) -> tuple[dict[str, Any], str | None]:
    progress.say(
        2,
        f"capacity under {', '.join(settings.slos)}: steps of {human_seconds(plan.step_s)} "
        f"from {human_rate(settings.start)}",
    )
    began = time.monotonic()
    find = FindSettings(
        slos=list(settings.slos),
        start=settings.start,
        maximum=settings.maximum,
        resolution=settings.resolution,
        step_s=plan.step_s,
        on_step=lambda step, entry: settings.on_event(
            f"      {human_rate(step.target_rate)} offered: {human_rate(step.achieved_rps)}, "
            f"p99 {human_ms(step.p99_ms)}, errors {step.error_rate:.1%}: "
            + ("pass" if step.passed else "FAIL")
        ),
        argv=settings.argv,
        deadline=progress.started + settings.budget_s - plan.diagnosis_s - CLOSING_S,
        target=settings.target,
    )
    found = find_capacity(scenario, find, watched)
    note = "stopped at the budget" if found.stop_reason == "budget" else None
    progress.done("capacity", began, "stopped" if found.stop_reason else "done", note)
    stop = None if found.stop_reason == "budget" else found.stop_reason
    return found.section, stop


def _diagnose(
    scenario: Any,
    section: dict[str, Any],
    base: Baseline | None,
    plan: Plan,
    settings: AssessSettings,
    watched: Target | None,
    progress: Progress,
    runs: dict[str, dict[str, Any]],
) -> tuple[list[Finding], str | None]:
    low, high = diagnosis_rates(section, settings.start)
    seconds = max(min(plan.diagnosis_s, progress.left_s() - CLOSING_S), 5.0)
    progress.say(
        3,
        f"diagnosis: {human_rate(low)} rising to {human_rate(high)}, watched and profiled, "
        f"for {human_seconds(seconds)}",
    )
    began = time.monotonic()
    from perfeng.gates import parse_thresholds

    context = slo_context(parse_thresholds(list(settings.slos)), base)
    document, stop = run_diagnosis(scenario, low, high, seconds, settings, context, watched)
    runs["diagnosis"] = document
    progress.done("diagnosis", began, "stopped" if stop else "done")
    progress.say(4, "findings and the USL fit")
    return diagnose(document, context), stop


def document_of(assessment: Assessment) -> dict[str, Any]:
    data = to_builtins(assessment)
    assert isinstance(data, dict)
    return data
