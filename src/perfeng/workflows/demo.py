"""The demo as a lesson: each endpoint of the embedded service alone under a rising open-model
load, watched (resources and a py-spy profile), and diagnosed. Callable from Python; the CLI
(``perfeng demo``) only prints what ``on_event`` says and writes the files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from msgspec.structs import replace

from perfeng.model.assessment import Assessment, Lesson, Phase
from perfeng.model.findings import Finding, read_findings
from perfeng.units import human_rate, human_seconds
from perfeng.workflows.load import LoadSettings, Target, Watching, run_load

START_RATE = 20.0
PEAK_RATE = 600.0  # past /cpu's, /lock's and /pool's limits; well within /fast's and /io's
MAX_IN_FLIGHT = 200  # a bounded queue: an overloaded endpoint drops arrivals, and recovers fast
SLOS = ("p99<100ms", "error_rate<1%")
DEFAULT_S = 11.0  # per endpoint: make demo stays under two minutes
QUICK_S = 5.5
QUICK_ENDPOINTS = ("/io", "/cpu", "/lock", "/flaky", "/leak")  # one of each lesson
UNLOADED_S = 1.0  # each endpoint starts with a second at the start rate: its unloaded latency
RAMP_SHARE = 0.6  # of the rest rising to the peak; then the peak is held
GRACE_S = 0.3  # an overloaded endpoint's queue is not worth waiting for
IDLE_WAIT_S = 8.0  # at most this long for the service to finish an overload's backlog

# What each endpoint models, in the order the lesson goes.
ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("/fast", "about 1 ms of waiting per request"),
    ("/io", "20 ms waiting on I/O per request"),
    ("/cpu", "5 ms of pure-Python CPU work per request"),
    ("/lock", "a 5 ms write under one global lock, on worker threads"),
    ("/pool", "a pool of 4 connections, each held 10 ms"),
    ("/flaky", "8 slots of 20 ms, and 503 when all are taken"),
    ("/leak", "1 KiB kept for ever by every request"),
)

LESSONS = {
    "cpu_saturation": "Work that computes is bounded by the CPU: one Python process uses one "
    "core at a time, so throughput stops near 1 / (CPU time per request) and the queue grows. "
    "The profile names the function to make cheaper; more processes add cores.",
    "serialisation": "Work that must pass one request at a time is bounded by 1 / (time inside), "
    "while the CPU idles: more CPU does nothing. Shorten or split the critical section.",
    "pool_limit": "A pool of N held S seconds each serves at most N / S requests a second "
    "(Little's law); past it requests queue for the pool and latency climbs.",
    "errors_under_load": "A server that refuses work past a fixed number in flight is fine at "
    "low load and fails more as load grows: errors are a capacity limit too.",
    "memory_growth": "Memory kept per request grows with traffic: the slope per request says how "
    "soon it runs out, and the run says it before production does.",
    "no_bottleneck": "Cheap work, or work that waits without holding anything, scales with "
    "concurrency: nothing limited it in the range tried.",
}
TARGET_FINDINGS = frozenset(LESSONS) | {"throughput_limit", "errors", "fd_growth"}


@dataclass
class DemoSettings:
    seconds: float = DEFAULT_S
    on_event: Callable[[str], None] = print
    on_progress: Callable[[Any], None] | None = None
    argv: list[str] = field(default_factory=list)
    profile_rate: int = 100
    endpoints: tuple[str, ...] = tuple(path for path, _ in ENDPOINTS)


def scenario_for(url: str, path: str, seconds: float) -> Any:
    from perfeng.engine.workloads import RampingRate
    from perfeng.scenario.model import RequestSpec, Scenario

    ramp = round((seconds - UNLOADED_S) * RAMP_SHARE, 3)
    hold = round(seconds - UNLOADED_S - ramp, 3)
    workload = RampingRate(
        stages=((UNLOADED_S, START_RATE), (ramp, PEAK_RATE), (hold, PEAK_RATE)),
        start_rate=START_RATE,
        max_in_flight=MAX_IN_FLIGHT,
        name=f"ramp {path}",
    )
    return Scenario(
        base_url=url,
        requests=(RequestSpec(name=path, url=path),),
        workloads=(workload,),
        thresholds=SLOS,
        source="perfeng demo",
    )


def pin_apart(service_pid: int) -> str | None:
    """On a machine with two CPUs or more, the service on the last one and this generator on
    the first, as a lab bench does: the service's own CPU limit is what the demo teaches, and
    the generator's timing must not suffer from sharing a core with it."""
    import os

    import psutil

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return None
    try:
        for thread in psutil.Process(service_pid).threads():
            os.sched_setaffinity(thread.id, {cpus[-1]})
        os.sched_setaffinity(0, set(cpus[:-1]))
    except (OSError, psutil.Error):
        return None
    return f"the service runs on CPU {cpus[-1]}, the load generator on the others"


def wait_until_idle(url: str, limit_s: float = IDLE_WAIT_S) -> bool:
    """After an overload the service still works through requests the generator gave up on
    (on the CPU, or queued on a lock); the next endpoint must start on an idle service: one
    whose /stats answers at once and counts no request but itself, twice in a row."""
    import http.client
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    deadline = time.monotonic() + limit_s
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        began = time.monotonic()
        try:
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=2)
            conn.request("GET", "/stats")
            busy = json.loads(conn.getresponse().read()).get("in_flight", 1) > 1
            conn.close()
        except (OSError, ValueError):
            busy = True
        quick = time.monotonic() - began < 0.05
        quiet = quiet + 1 if quick and not busy else 0
        time.sleep(0.1)
    return quiet >= 2


def diagnose_endpoint(url: str, pid: int, path: str, settings: DemoSettings) -> dict[str, Any]:
    """One endpoint's run document, with its findings."""
    from perfeng.gates import parse_thresholds

    scenario = scenario_for(url, path, settings.seconds)
    watched = Target(
        (pid,), Watching(pids=(pid,), profile=True, profile_rate=settings.profile_rate)
    )
    load = LoadSettings(grace_s=GRACE_S, on_progress=settings.on_progress, argv=settings.argv)
    outcome = run_load(scenario, parse_thresholds(SLOS), load, watched)
    document = outcome.document
    if outcome.stop_reason:
        document["interrupted"] = outcome.stop_reason
    return document


def top_finding(findings: list[Finding]) -> Finding | None:
    return next((f for f in findings if f.id in TARGET_FINDINGS), None)


def lesson(path: str, models: str, findings: list[Finding]) -> Lesson:
    top = top_finding(findings)
    kind = top.id if top else "no_bottleneck"
    return Lesson(
        path=path,
        models=models,
        finding=kind,
        title=top.title if top else "nothing was measured",
        lesson=LESSONS.get(kind, ""),
    )


def run_demo(url: str, pid: int, settings: DemoSettings) -> Assessment:
    """Every endpoint in turn; stops early (and says so) when a run is interrupted."""
    import os

    started = time.time()
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    pinned = pin_apart(pid)
    if pinned:
        settings.on_event(pinned + " (so that they do not compete for one)")
    try:
        return _endpoints(url, pid, settings, started)
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)


def _endpoints(url: str, pid: int, settings: DemoSettings, started: float) -> Assessment:
    from perfeng.workflows.metadata import collect

    runs: dict[str, dict[str, Any]] = {}
    phases: list[Phase] = []
    lessons: list[Lesson] = []
    headline: list[Finding] = []
    interrupted = None
    for path, models in ENDPOINTS:
        if path not in settings.endpoints:
            continue
        at = time.time() - started
        settings.on_event(
            f"{path}: {models}; {human_rate(START_RATE)}, rising to {human_rate(PEAK_RATE)} "
            f"over {human_seconds(settings.seconds)}"
        )
        document = diagnose_endpoint(url, pid, path, settings)
        runs[path] = document
        findings = read_findings(document.get("findings", []), path)
        lessons.append(lesson(path, models, findings))
        top = top_finding(findings)
        if top is not None:
            headline.append(replace(top, name=path))
        settings.on_event(f"  -> {lessons[-1].title}")
        phases.append(
            Phase(
                name=path,
                started_s=round(at, 1),
                seconds=round(time.time() - started - at, 1),
                status="stopped" if document.get("interrupted") else "done",
            )
        )
        if document.get("interrupted"):
            interrupted = str(document["interrupted"])
            break
        wait_until_idle(url)
    return Assessment(
        kind="demo",
        metadata=collect(started, time.time(), settings.argv),
        target=url,
        slos=list(SLOS),
        verdict=verdict(lessons),
        phases=phases,
        findings=headline,
        lessons=lessons,
        runs=runs,
        interrupted=interrupted,
    )


def verdict(lessons: list[Lesson]) -> str:
    found = [f"{item.path}: {_lower_first(item.title)}" for item in lessons]
    return "perfeng diagnosed the demo service endpoint by endpoint. " + "; ".join(found) + "."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
