"""``capacity find`` as a library call: open-model steps (analysis/capacity.py decides the
next rate), each judged on its steady part against the SLOs. With a watched target each step
also records the target's CPU and, by the utilisation law (U = X D, Denning and Buzen 1978),
its CPU time per request: the service demand.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from perfeng.analysis.capacity import Search, Step, knee
from perfeng.workflows.load import LoadSettings, Target, run_load

WARMUP = 0.2  # share of each step discarded before judging it
DROP_LIMIT = 0.01  # a step that drops more of its arrivals than this is overloaded


@dataclass
class FindSettings:
    slos: Sequence[str]
    start: float
    maximum: float
    resolution: float
    step_s: float
    on_step: Callable[[Step, dict[str, Any]], None] | None = None
    argv: Sequence[str] = ()
    deadline: float | None = None  # time.monotonic() by which no new step starts
    step_limit: int = 64
    target: str = ""  # as the user gave it (a URL or a scenario file), for the document


@dataclass
class Found:
    """The search's outcome: the ``capacity`` section of a perfeng-capacity document."""

    section: dict[str, Any]
    steps: list[Step]
    stop_reason: str | None
    step_documents: list[dict[str, Any]] = field(default_factory=list)


def steady(document: dict[str, Any], warmup_s: float) -> dict[str, Any]:
    """A summary of a step's steady part: the whole seconds after the warm-up."""
    from perfeng.model import histogram as hdr

    entries = [
        e
        for e in document["summary"]["timeseries"]
        if e["elapsed_s"] >= warmup_s and e["duration_s"] >= 0.999
    ]
    if not entries:
        entries = document["summary"]["timeseries"]
    latency = hdr.merged([hdr.decode(e["histogram"]) for e in entries])
    requests = sum(e["requests"] for e in entries)
    errors = sum(e["errors"] for e in entries)
    seconds = sum(e["duration_s"] for e in entries) or 1.0
    stats = hdr.stats_ms(latency)
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": errors / requests if requests else 0.0,
        "dropped": sum(e["dropped"] for e in entries),
        "throughput_rps": requests / seconds,
        "latency_ms": stats,
        "service_time_ms": stats,
        "by_name": {},
        "histograms": {
            "all": {"latency": hdr.encode(latency), "service_time": hdr.encode(latency)}
        },
        "times": {int(e["time"]) for e in entries},
    }


def target_cpu(document: dict[str, Any], times: set[int]) -> float | None:
    """Mean CPU (% of one core) of the watched trees over the given seconds."""
    per_second: dict[int, float] = {}
    for tree in (document.get("resources") or {}).get("trees", []):
        for sample in tree["samples"]:
            if sample["time"] in times and sample["cpu_pct"] is not None:
                per_second[sample["time"]] = per_second.get(sample["time"], 0.0) + float(
                    sample["cpu_pct"]
                )
    return round(statistics.mean(per_second.values()), 2) if per_second else None


def run_step(
    scenario: Any, rate: float, settings: FindSettings, watched: Target | None
) -> tuple[Step, dict[str, Any], str | None]:
    from perfeng.engine.workloads import ConstantRate
    from perfeng.gates import evaluate_all, parse_thresholds

    workload = ConstantRate(rate=rate, duration_s=settings.step_s, name="capacity-step")
    step_scenario = dataclasses.replace(scenario, workloads=(workload,), thresholds=())
    load = LoadSettings(grace_s=2.0, argv=settings.argv, diagnose=False)
    outcome = run_load(step_scenario, (), load, watched)
    summary = steady(outcome.document, settings.step_s * WARMUP)
    verdicts = evaluate_all(parse_thresholds(list(settings.slos)), summary)
    arrivals = summary["requests"] + summary["dropped"]
    dropping = arrivals > 0 and summary["dropped"] / arrivals > DROP_LIMIT
    latency = summary["latency_ms"]
    step = Step(
        rate,
        summary["throughput_rps"],
        latency["p50"],
        latency["p90"],
        latency["p99"],
        latency["mean"],
        summary["error_rate"],
        passed=all(v.passed for v in verdicts) and not dropping,
    )
    extra = {"target_cpu_pct": target_cpu(outcome.document, summary["times"])}
    return step, {**extra, "document": outcome.document}, outcome.stop_reason


def step_entry(step: Step, extra: dict[str, Any]) -> dict[str, Any]:
    cpu = extra.get("target_cpu_pct")
    demand = (
        round(cpu / 100 / step.achieved_rps * 1000, 4)
        if cpu is not None and step.achieved_rps
        else None
    )
    return {
        "target_rate": step.target_rate,
        "achieved_rps": step.achieved_rps,
        "p50_ms": step.p50_ms,
        "p90_ms": step.p90_ms,
        "p99_ms": step.p99_ms,
        "mean_ms": step.mean_ms,
        "error_rate": step.error_rate,
        "concurrency": step.concurrency,
        "pass": step.passed,
        "target_cpu_pct": cpu,
        "cpu_ms_per_request": demand,  # the utilisation law: D = U / X
    }


def find_capacity(scenario: Any, settings: FindSettings, watched: Target | None = None) -> Found:
    search = Search(settings.start, settings.maximum, settings.resolution)
    steps: list[Step] = []
    entries: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    stop = None
    while (rate := search.next_rate()) is not None and len(steps) < settings.step_limit:
        if settings.deadline is not None and time.monotonic() + settings.step_s > settings.deadline:
            stop = "budget"
            break
        step, extra, stop = run_step(scenario, rate, settings, watched)
        steps.append(step)
        documents.append(extra.pop("document"))
        entries.append(step_entry(step, extra))
        search.record(step)
        if settings.on_step is not None:
            settings.on_step(step, entries[-1])
        if stop is not None or (step.saturated and search.best is None):
            break
    section = {
        "slos": list(settings.slos),
        "target": settings.target or scenario.base_url,
        "max_sustainable_rps": search.best,
        "first_failing_rps": search.worst,
        "knee_rps": knee(steps),
        "steps": entries,
    }
    return Found(section, steps, stop, documents)
