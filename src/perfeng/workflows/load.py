"""One load test, callable from Python: run a scenario, optionally watching the target (its
resources each second and a py-spy profile), and build the result document with its
findings. The CLI, ``capacity find``, ``assess`` and the demo all run their loads through
``run_load``; nothing here prints.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from perfeng.analysis.diagnose import Context, context_of, diagnose
from perfeng.errors import UsageError
from perfeng.eventloop import new_loop
from perfeng.model.watch import Profile, Resources, to_builtins
from perfeng.workflows.patterns import AbortClock, note_breakpoint

CHECKPOINT_EVERY_S = 10  # with a checkpoint file, the partial result is rewritten this often


@dataclass(frozen=True)
class Watching:
    """What to watch during a run: running processes and/or a command perfeng starts."""

    pids: tuple[int, ...] = ()
    command: str | None = None
    shell: bool = False
    profile: bool = True
    profile_rate: int = 100
    log: str | None = None  # where the command's output goes
    ready_timeout_s: float = 30.0
    stop_grace_s: float = 10.0

    @property
    def active(self) -> bool:
        return bool(self.pids or self.command)


@dataclass
class LoadSettings:
    grace_s: float = 5.0
    seed: int | None = None
    checkpoint: str | None = None  # a file rewritten with the partial result every 10 s
    on_progress: Callable[[Any], None] | None = None
    argv: Sequence[str] = ()
    context: Context | None = None  # what the findings judge against (SLO, baseline)
    diagnose: bool = True
    shard: Any = None  # engine.shard.Shard: this generator's part of a plan run by several
    start_at_wall_s: float | None = None  # the common start of several generators
    # a worker of --workers checkpoints often: its parent merges the last one if it dies
    checkpoint_every_s: int = CHECKPOINT_EVERY_S
    # where a checkpoint goes besides (or instead of) the file: a cluster shard sends it home
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None
    # asked once a second; a reason stops the run gracefully (a cluster's Ctrl-C)
    stop_requested: Callable[[], str | None] | None = None
    # handed the recorder once a second, after on_progress (a worker's running totals)
    on_recorder: Callable[[Any], None] | None = None
    # workflows.faults.TimedFault: a fault proxy in front of the target (docs/faults.md)
    faults: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Outcome:
    document: dict[str, Any]
    stop_reason: str | None


@dataclass
class Target:
    """The processes a run watches, and the command perfeng started, if any."""

    pids: tuple[int, ...]
    watching: Watching
    process: Any = None  # profile.target.TargetProcess
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        started = self.process is not None
        return {
            "pids": list(self.pids),
            "command": self.watching.command,
            "started_by_perfeng": started,
            "log": str(self.process.log) if started else None,
            "exit_code": self.process.exit_code if started else None,
        }


def target_address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "127.0.0.1", parts.port or default


@contextlib.contextmanager
def target(watching: Watching, base_url: str) -> Iterator[Target]:
    """Start ``--target-cmd`` (waiting for its port) and check ``--target-pid``s; on leaving,
    stop the command (SIGTERM, then SIGKILL after a grace)."""
    from perfeng.profile.session import check_pids
    from perfeng.profile.target import TargetProcess

    check_pids(list(watching.pids))
    process = None
    if watching.command:
        host, port = target_address(base_url)
        log = Path(watching.log or "perfeng-target.log")
        process = TargetProcess.start(
            watching.command,
            shell=watching.shell,
            log=log,
            host=host,
            port=port,
            timeout_s=watching.ready_timeout_s,
        )
    pids = tuple(watching.pids) + ((process.pid,) if process else ())
    try:
        yield Target(pids, watching, process)
    finally:
        if process is not None:
            process.stop(watching.stop_grace_s)


@dataclass
class Observed:
    """What watching the target produced while the load ran elsewhere (``--workers``): the
    parent starts and watches the target, the workers only send."""

    watched: Target | None
    resources: Resources | None = None
    profile: Profile | None = None

    def attach(self, document: dict[str, Any]) -> None:
        """The target, its resources and profile, and the findings, on the merged result."""
        if self.watched is not None:
            _attach(document, self.watched, self.resources, self.profile, LoadSettings())


@contextlib.contextmanager
def watched_elsewhere(watching: Watching | None, base_url: str) -> Iterator[Observed]:
    """Start ``--target-cmd`` and watch the target for as long as the block runs."""
    if watching is None:
        yield Observed(None)
        return
    with target(watching, base_url) as watched:
        observed = Observed(watched)
        watch = _start_watch(watched) if watched.pids else None
        began = time.monotonic()
        try:
            yield observed
        finally:
            if watch is not None:
                observed.resources, observed.profile = watch.stop(time.monotonic() - began)


def run_load(
    scenario: Any,
    thresholds: Sequence[Any],
    settings: LoadSettings,
    watched: Target | None = None,
) -> Outcome:
    """Run ``scenario`` (watching ``watched`` if given) and return its result document."""
    from perfeng.clock import MonotonicClock
    from perfeng.engine.runner import Engine, RunOptions

    cache: dict[int, dict[str, Any]] = {}
    watch = _start_watch(watched) if watched is not None and watched.pids else None
    engine: Any = None
    boundaries = _stage_boundaries(scenario)
    stage = [0]

    def progress(update: Any) -> None:
        if settings.on_progress is not None:
            settings.on_progress(update)
        if settings.on_recorder is not None and engine.recorder is not None:
            settings.on_recorder(engine.recorder)
        if watch is not None:
            _next_stage(watch, boundaries, stage, update.elapsed_s)
        wanted = settings.checkpoint or settings.on_checkpoint
        if wanted and _checkpoint_due(update.elapsed_s, settings.checkpoint_every_s):
            # Partial results as the run goes: even a killed run leaves what it measured.
            partial = _document(scenario, thresholds, engine, engine.snapshot(), cache, settings)
            if watch is not None:
                partial["resources"] = to_builtins(watch.resources())
            if settings.checkpoint:
                _write(settings.checkpoint, partial)
            if settings.on_checkpoint is not None:
                settings.on_checkpoint(partial)
        if settings.stop_requested is not None:
            reason = settings.stop_requested()
            if reason is not None:
                engine.request_stop(reason)

    aborted = AbortClock()  # when an abort threshold fired: where a breakpoint ramp broke
    options = RunOptions(
        grace_s=settings.grace_s,
        seed=settings.seed,
        on_progress=progress,
        should_abort=aborted.wrap(_abort_check(thresholds)),
        shard=settings.shard,
        start_at_wall_s=settings.start_at_wall_s,
    )
    from perfeng.workflows.faults import FaultRun
    from perfeng.workflows.metadata import collect

    faults = FaultRun.start(scenario, settings.faults, settings.seed)
    try:
        engine = Engine(faults.scenario, MonotonicClock(), options)
        collect(0.0, 0.0, list(settings.argv))  # reads git once now, not amid the load
        faults.arm()
        measurements = _run_loop(engine)
    finally:
        resources, profile = _stop_watch(watch, engine)
        faults.stop()
    document = _document(scenario, thresholds, engine, measurements, cache, settings)
    faults.attach(document, thresholds)
    note_breakpoint(document, aborted.at_s)
    _attach(document, watched, resources, profile, settings)
    return Outcome(document, engine.stop_reason)


def _checkpoint_due(elapsed_s: float, every_s: int) -> bool:
    return int(elapsed_s) % every_s == 0 and elapsed_s > 1


def _start_watch(watched: Target) -> Any:
    from perfeng.profile.session import Watch

    return Watch.start(
        list(watched.pids),
        profile=watched.watching.profile,
        rate_hz=watched.watching.profile_rate,
    )


def _stop_watch(watch: Any, engine: Any) -> tuple[Resources | None, Profile | None]:
    if watch is None:
        return None, None
    snapshot = engine.snapshot() if engine is not None else None
    elapsed = (snapshot.end_ns - snapshot.start_ns) / 1e9 if snapshot is not None else 0.0
    resources, profile = watch.stop(elapsed)
    return resources, profile


def _stage_boundaries(scenario: Any) -> list[float]:
    """Where the plan's stages change (seconds from the start), over every workload."""
    edges: set[float] = set()
    for workload in scenario.workloads:
        at = 0.0
        for stage in workload.plan().stages[:-1]:
            at += stage.duration_s
            edges.add(round(at, 3))
    return sorted(edges)


def _next_stage(watch: Any, boundaries: list[float], stage: list[int], elapsed_s: float) -> None:
    reached = sum(1 for edge in boundaries if elapsed_s + 0.5 >= edge)
    if reached > stage[0]:
        stage[0] = reached
        watch.stage(reached, elapsed_s)


def _attach(
    document: dict[str, Any],
    watched: Target | None,
    resources: Resources | None,
    profile: Profile | None,
    settings: LoadSettings,
) -> None:
    if watched is not None:
        document["target"] = watched.describe()
    if resources is not None:
        document["resources"] = to_builtins(resources)
    if profile is not None:
        document["profile"] = to_builtins(profile)
    if settings.diagnose:
        context = settings.context or context_of(document)
        document["findings"] = [to_builtins(f) for f in diagnose(document, context)]


def _write(path: str, document: dict[str, Any]) -> None:
    from perfeng.workflows.output import write_json

    write_json(path, document)


def _run_loop(engine: Any) -> Any:
    import threading

    loop = new_loop()
    try:
        # signals reach the main thread only; a run on a cluster worker's thread is stopped
        # through settings.stop_requested instead
        in_main = threading.current_thread() is threading.main_thread()
        for signum, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
            if in_main:
                loop.add_signal_handler(signum, engine.request_stop, name)
        return loop.run_until_complete(engine.run())
    finally:
        loop.close()


def _abort_check(thresholds: Sequence[Any]) -> Any:
    from perfeng.gates import AbortWatch

    aborting = [t for t in thresholds if t.abort]
    if not aborting:
        return None
    watch = AbortWatch(aborting)

    def check(recorder: Any, elapsed_s: float) -> str | None:
        from perfeng.model.result import Totals, summarize

        names = recorder.flushed_names()
        totals = Totals(
            recorder.wall_start_s, recorder.wall_start_s + elapsed_s, names, (), recorder.dropped
        )
        verdict = watch.update(elapsed_s, summarize(totals))
        return None if verdict is None else f"abort: {verdict.describe()}"

    return check


def _document(
    scenario: Any,
    thresholds: Sequence[Any],
    engine: Any,
    measurements: Any,
    cache: dict[int, dict[str, Any]],
    settings: LoadSettings,
) -> dict[str, Any]:
    from perfeng.gates import evaluate_all
    from perfeng.model.result import build_document
    from perfeng.workflows.metadata import collect

    workloads = [{**w.to_dict(), "plan": w.plan().to_dict()} for w in scenario.workloads]
    models = {w["plan"]["model"] for w in workloads}
    notes = []
    if "closed" in models:
        notes.append(
            "closed model: latency equals service time (each user waits for its "
            "response before the next request)"
        )
    document = build_document(
        metadata=collect(measurements.wall_start_s, measurements.wall_end_s, list(settings.argv)),
        workloads=workloads,
        measurements=measurements,
        thresholds=[],
        cache=cache,
        extra={
            "scenario": _masked(scenario.describe()),
            "model": "/".join(sorted(models)),
            "notes": notes,
            "interrupted": engine.stop_reason,
            "partial": bool(measurements.generator.get("partial")),
        },
    )
    summary = document["summary"]
    summary["thresholds"] = [v.to_dict() for v in evaluate_all(list(thresholds), summary)]
    return document


def _masked(description: dict[str, Any]) -> dict[str, Any]:
    from perfeng.workflows.metadata import mask_secret

    text = json.dumps(description)
    return dict(json.loads(mask_secret(text)))


def check_watching(watching: Watching) -> None:
    """Refuse impossible watch options before anything starts."""
    if watching.profile_rate < 1 or watching.profile_rate > 1000:
        raise UsageError(f"--profile-rate {watching.profile_rate}: use 1 to 1000 samples a second")
    if watching.command is not None and not watching.command.strip():
        raise UsageError("--target-cmd is empty")
