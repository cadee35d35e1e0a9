"""``perfeng load``: build the scenario, run it, gate it, write and show the result."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from perfeng.errors import ExitCode, UsageError

CHECKPOINT_EVERY_S = 10  # with --out, the partial result is rewritten this often


def _flags(args: argparse.Namespace) -> Any:
    from perfeng.scenario.quick import LoadFlags

    return LoadFlags(
        rate=args.rate,
        users=args.users,
        duration=args.duration,
        stages=args.stages,
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        insecure=args.insecure,
        follow_redirects=args.follow_redirects,
        max_in_flight=args.max_in_flight,
        think_time=args.think_time,
        thresholds=tuple(args.threshold),
    )


def build_scenario(args: argparse.Namespace) -> Any:
    """A URL, a .toml file or a .py file; load flags given on the command line win."""
    target: str = args.target
    flags = _flags(args)
    if target.endswith(".toml"):
        from perfeng.scenario.toml_loader import load_toml_scenario

        return _override(load_toml_scenario(target), flags)
    if target.endswith(".py"):
        from perfeng.scenario.python_loader import load_python_scenario

        return load_python_scenario(target, flags, args.base_url)
    if "://" not in target:
        raise UsageError(
            f"invalid target {target!r}: give a URL (http://...), a .toml "
            "scenario or a .py flows file"
        )
    from perfeng.scenario.quick import quick_scenario

    return quick_scenario(target, args.method, args.header, args.body, flags)


def _override(scenario: Any, flags: Any) -> Any:
    """Command-line load flags replace a file's workloads; thresholds add up."""
    import dataclasses

    from perfeng.scenario.quick import workload_from_flags

    workload = workload_from_flags(flags)
    changes: dict[str, Any] = {"thresholds": scenario.thresholds + flags.thresholds}
    if workload is not None:
        changes["workloads"] = (workload,)
    return dataclasses.replace(scenario, **changes)


def describe_plan(scenario: Any) -> str:
    from perfeng.engine.schedule import count_arrivals

    lines = [f"scenario: {scenario.source} -> {scenario.base_url}"]
    for workload in scenario.workloads:
        plan = workload.plan()
        expected = count_arrivals(plan) if plan.model == "open" else None
        lines.append(
            f"workload {workload.name} ({workload.type}, {plan.model} model), {plan.duration_s:g}s:"
        )
        for stage in plan.stages:
            lines.append(f"  {stage.duration_s:g}s: {stage.start:g} -> {stage.end:g} {plan.unit}")
        lines.append(
            "  expected requests: "
            + (f"{expected:,}" if expected is not None else "depends on the target (closed model)")
        )
    for request in scenario.requests:
        lines.append(
            f"request {request.name!r}: {request.method} {request.url} (weight {request.weight:g})"
        )
    if scenario.flow is not None:
        lines.append(f"flow: {scenario.flow.__name__} (Python)")
    for threshold in scenario.thresholds:
        lines.append(f"threshold: {threshold}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from perfeng.cli.history import check_save_flags
    from perfeng.cli.output import check_writable

    check_save_flags(args)
    if args.out:
        check_writable(args.out)
    scenario = build_scenario(args)
    if args.dry_run:
        from perfeng.gates import parse_thresholds

        parse_thresholds(scenario.thresholds)
        print(describe_plan(scenario))
        return int(ExitCode.OK)
    return run_prepared(args, scenario)


def run_prepared(args: argparse.Namespace, scenario: Any) -> int:
    """Run a scenario; ``args`` needs ``grace``, ``seed``, ``out``, ``quiet`` and ``json``."""
    from perfeng.gates import parse_thresholds
    from perfeng.units import parse_duration_s

    thresholds = parse_thresholds(scenario.thresholds)
    grace = parse_duration_s(args.grace)
    document, stop_reason = execute(args, scenario, thresholds, grace)
    return finish(args, document, stop_reason)


def execute(
    args: argparse.Namespace, scenario: Any, thresholds: Any, grace: float
) -> tuple[dict[str, Any], str | None]:
    from perfeng.cli.live import LiveProgress
    from perfeng.clock import MonotonicClock
    from perfeng.engine.runner import Engine, RunOptions

    clock = MonotonicClock()
    show = not (args.quiet or args.json)
    live = LiveProgress(sys.stderr, enabled=show)
    cache: dict[int, dict[str, Any]] = {}
    engine: Any = None

    def progress(update: Any) -> None:
        live.update(update)
        if args.out and int(update.elapsed_s) % CHECKPOINT_EVERY_S == 0 and update.elapsed_s > 1:
            # Partial results as the run goes: even a killed run leaves what it measured.
            partial = _document(scenario, thresholds, engine, engine.snapshot(), cache)
            _write_result(args.out, partial)

    options = RunOptions(
        grace_s=grace,
        seed=args.seed,
        on_progress=progress,
        should_abort=_abort_check(thresholds),
    )
    engine = Engine(scenario, clock, options)
    from perfeng.cli.metadata import collect

    collect(0.0, 0.0, sys.argv[1:])  # reads git once now, not in the middle of the load
    with live:
        measurements = _run_loop(engine)
    return _document(scenario, thresholds, engine, measurements, cache), engine.stop_reason


def _write_result(path: str, document: dict[str, Any]) -> None:
    from perfeng.cli.output import write_json

    write_json(path, document)


def _run_loop(engine: Any) -> Any:
    loop = _new_loop()
    try:
        for signum, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
            loop.add_signal_handler(signum, engine.request_stop, name)
        return loop.run_until_complete(engine.run())
    finally:
        loop.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def _abort_check(thresholds: Any) -> Any:
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
    thresholds: Any,
    engine: Any,
    measurements: Any,
    cache: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    from perfeng.cli.metadata import collect
    from perfeng.gates import evaluate_all
    from perfeng.model.result import build_document

    workloads = [{**w.to_dict(), "plan": w.plan().to_dict()} for w in scenario.workloads]
    models = {w["plan"]["model"] for w in workloads}
    notes = []
    if "closed" in models:
        notes.append(
            "closed model: latency equals service time (each user waits for its "
            "response before the next request)"
        )
    document = build_document(
        metadata=collect(measurements.wall_start_s, measurements.wall_end_s, sys.argv[1:]),
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
    summary["thresholds"] = [v.to_dict() for v in evaluate_all(thresholds, summary)]
    return document


def _masked(description: dict[str, Any]) -> dict[str, Any]:
    from perfeng.cli.metadata import mask_secret

    text = json.dumps(description)
    return dict(json.loads(mask_secret(text)))


def finish(args: argparse.Namespace, document: dict[str, Any], stop_reason: str | None) -> int:
    from perfeng.cli.output import write_json

    if args.out:
        write_json(args.out, document)  # checked before the run; a failure now is rare
    if args.json:
        json.dump(document["summary"], sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif not args.quiet:
        from perfeng.report.terminal import print_summary

        print_summary(document, sys.stdout, out_path=args.out)
    code = exit_code_for(document, stop_reason)
    if getattr(args, "save", False):
        _save(document, args, code)
    return int(code)


def _save(document: dict[str, Any], args: argparse.Namespace, code: ExitCode) -> None:
    """After the result is written and shown, so a store that fails loses nothing measured.
    A stopped run or an unreachable target is not a measurement of the service: keeping it
    would skew baselines and change points, so it stays in its file only."""
    from perfeng.cli.history import save_run

    sys.stdout.flush()
    if code not in (ExitCode.OK, ExitCode.THRESHOLD_FAILED):
        why = "the target was unreachable" if code == ExitCode.UNREACHABLE else "it was stopped"
        print(f"perfeng: not saved to the history: {why}", file=sys.stderr)
        return
    save_run(document, args.store, args.tag)


def exit_code_for(document: dict[str, Any], stop_reason: str | None) -> ExitCode:
    if stop_reason == "SIGINT":
        return ExitCode.INTERRUPTED
    if stop_reason == "SIGTERM":
        return ExitCode.TERMINATED
    summary = document["summary"]
    unreachable = sum(summary["errors_by_class"].get(k, 0) for k in ("connect", "dns", "tls"))
    if summary["requests"] > 0 and unreachable == summary["requests"]:
        print(
            "perfeng: error: the target could not be reached: no request got an answer",
            file=sys.stderr,
        )
        return ExitCode.UNREACHABLE
    if any(not v["pass"] for v in summary["thresholds"]):
        return ExitCode.THRESHOLD_FAILED
    return ExitCode.OK
