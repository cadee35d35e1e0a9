"""``perfeng load``: build the scenario, run it, gate it, write and show the result."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfeng.errors import ExitCode, UsageError
from perfeng.units import parse_duration_s


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
        pattern=getattr(args, "pattern", None),
        peak=getattr(args, "peak", None),
    )


def faults_of(args: argparse.Namespace) -> tuple[Any, ...]:
    """``--fault`` with ``--fault-at``/``--fault-for`` (a scenario's [[faults]] come with it)."""
    from perfeng.proxy.timeline import timed_faults

    specs = getattr(args, "fault", None) or []
    return timed_faults(specs, getattr(args, "fault_at", None), getattr(args, "fault_for", None))


def build_scenario(args: argparse.Namespace) -> Any:
    """A URL, a .toml file or a .py file; load flags given on the command line win."""
    from perfeng.scenario.patterns import with_pattern_thresholds

    return with_pattern_thresholds(_scenario_of(args))


def _scenario_of(args: argparse.Namespace) -> Any:
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
        # a pattern's plan knows its count (the integral): a soak's millions at once
        counted = plan.model == "open" and workload.type != "pattern"
        expected = count_arrivals(plan) if counted else plan.expected_requests
        lines.append(
            f"workload {workload.name} ({workload.type}, {plan.model} model), {plan.duration_s:g}s:"
        )
        if workload.type == "pattern":
            lines += workload.describe()
        for stage in plan.stages if workload.type != "pattern" else ():
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
    for fault in getattr(scenario, "faults", ()):
        lasting = "to the end" if fault.for_s is None else f"for {fault.for_s:g}s"
        lines.append(f"fault: {fault.spec.text} at {fault.at_s:g}s {lasting}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from perfeng.cli.history import check_save_flags
    from perfeng.workflows.output import check_writable

    check_save_flags(args)
    if args.out:
        check_writable(args.out)
    scenario = build_scenario(args)
    faults = faults_of(args) + tuple(getattr(scenario, "faults", ()))
    if faults and (getattr(args, "cluster", None) or getattr(args, "workers", None)):
        raise UsageError("faults need one generator: drop --workers/--cluster (docs/faults.md)")
    if getattr(args, "cluster", None) and not args.dry_run:
        return run_cluster(args, scenario)
    if getattr(args, "workers", None) and not args.dry_run:
        return run_workers(args, scenario)
    if args.dry_run:
        from perfeng.gates import parse_thresholds

        parse_thresholds(scenario.thresholds)
        print(describe_plan(dataclasses.replace(scenario, faults=faults)))
        return int(ExitCode.OK)
    return run_prepared(args, scenario)


def watching_of(args: argparse.Namespace, log: str | None = None) -> Any:
    """The --target-* and --profile flags, or None when nothing is to be watched."""
    from perfeng.workflows.load import Watching, check_watching

    pids = tuple(getattr(args, "target_pid", None) or ())
    command = getattr(args, "target_cmd", None)
    if not pids and command is None:
        if getattr(args, "profile", None):
            raise UsageError("--profile needs a target to watch: --target-pid or --target-cmd")
        return None
    out = getattr(args, "out", None)
    if log is None:
        log = str(Path(out).with_suffix(".target.log")) if out else "perfeng-target.log"
    watching = Watching(
        pids=pids,
        command=command,
        shell=bool(getattr(args, "target_shell", False)),
        profile=getattr(args, "profile", None) is not False,
        profile_rate=int(getattr(args, "profile_rate", 100)),
        log=log,
        ready_timeout_s=parse_duration_s(getattr(args, "target_timeout", None) or "30s"),
    )
    check_watching(watching)
    return watching


def run_prepared(args: argparse.Namespace, scenario: Any) -> int:
    """Run a scenario; ``args`` needs ``grace``, ``seed``, ``out``, ``quiet`` and ``json``."""
    from perfeng.gates import parse_thresholds

    thresholds = parse_thresholds(scenario.thresholds)
    grace = parse_duration_s(args.grace)
    document, stop_reason = execute(args, scenario, thresholds, grace, watching_of(args))
    return finish(args, document, stop_reason)


def execute(
    args: argparse.Namespace,
    scenario: Any,
    thresholds: Any,
    grace: float,
    watching: Any = None,
) -> tuple[dict[str, Any], str | None]:
    from perfeng.cli.live import LiveProgress
    from perfeng.workflows.load import LoadSettings, run_load, target

    show = not (args.quiet or args.json)
    live = LiveProgress(sys.stderr, enabled=show)
    lines = _WorkerLines(any(t.abort for t in thresholds))
    worker = bool(getattr(args, "progress_lines", False))
    if worker:  # the parent judges abort thresholds on the merged figures
        thresholds = [dataclasses.replace(t, abort=False) for t in thresholds]
    settings = LoadSettings(
        grace_s=grace,
        seed=args.seed,
        checkpoint=args.out,
        on_progress=lines.progress if worker else live.update,
        on_recorder=lines.recorder if worker and lines.totals else None,
        argv=sys.argv[1:],
        faults=faults_of(args),
        **_shard_settings(args),
    )
    if watching is None:
        with live:
            outcome = run_load(scenario, thresholds, settings)
        return outcome.document, outcome.stop_reason
    with target(watching, scenario.base_url) as watched:
        if show:
            say_watching(watched)
        with live:
            outcome = run_load(scenario, thresholds, settings, watched)
    outcome.document["target"] = watched.describe()  # now with the command's exit code
    return outcome.document, outcome.stop_reason


def _shard_settings(args: argparse.Namespace) -> dict[str, Any]:
    """A worker's --shard and --start-at (set by the parent of --workers)."""
    if not getattr(args, "shard", None):
        return {}
    from perfeng.engine.shard import Shard

    try:
        start_at = float(args.start_at) if args.start_at else None
    except ValueError:
        raise UsageError(f"invalid --start-at {args.start_at!r}: an epoch second") from None
    return {"shard": Shard.parse(args.shard), "start_at_wall_s": start_at, "checkpoint_every_s": 2}


class _WorkerLines:
    """A worker's figures for its parent, once a second, one JSON object a line; with abort
    thresholds, its running totals too (each name's counts and encoded histograms), so the
    parent can judge them on the merged figures."""

    def __init__(self, totals: bool) -> None:
        self.totals = totals
        self.line: dict[str, Any] = {}

    def progress(self, update: Any) -> None:
        self.line = {
            "elapsed_s": round(update.elapsed_s, 3),
            "duration_s": update.duration_s,
            "requests": update.requests,
            "errors": update.errors,
            "dropped": update.dropped,
            "in_flight": update.in_flight,
        }
        if not self.totals:
            print(json.dumps(self.line), flush=True)

    def recorder(self, recorder: Any) -> None:
        from perfeng.workflows.workers import running_totals

        self.line["names"] = running_totals(recorder)
        print(json.dumps(self.line), flush=True)


def worker_count(text: str, target_started: bool = False) -> int:
    """``auto``: every core this process may use, less one for a ``--target-cmd``."""
    import os

    if text == "auto":
        return max(len(os.sched_getaffinity(0)) - int(target_started), 1)
    from perfeng.units import parse_positive_int

    count = parse_positive_int(text, "--workers")
    if count > 256:
        raise UsageError(f"invalid --workers {text!r}: at most 256")
    return count


def run_workers(args: argparse.Namespace, scenario: Any) -> int:
    """``--workers N``: N processes, each its share of the plan, merged into one result. A
    ``--target-*`` is started and watched here, in the parent."""
    import tempfile

    from perfeng.workflows import workers as pool
    from perfeng.workflows.load import watched_elsewhere

    thresholds = _check_shardable(args, scenario, watch_allowed=True)
    watching = watching_of(args)
    count = worker_count(args.workers, watching is not None and watching.command is not None)
    show = not (args.quiet or args.json)
    if show:
        print(f"perfeng: {count} workers, each with its share of the plan", file=sys.stderr)
    from perfeng.workflows.patterns import AbortClock

    folder = Path(tempfile.mkdtemp(prefix="perfeng-workers-"))
    clock = AbortClock()  # when the merged figures aborted: where a breakpoint ramp broke
    with watched_elsewhere(watching, scenario.base_url) as observed:
        outcome = pool.run_workers(
            worker_args(sys.argv[2:]),
            count,
            folder,
            _show_workers if show else lambda _l: None,
            clock.wrap(_abort_judge(thresholds)),
        )
    if show:
        print(file=sys.stderr)
    if not outcome.documents:
        raise UsageError(f"no worker wrote a result; see the logs in {folder}")
    return _finish_shards(
        args, outcome, _planned(scenario), thresholds, {}, observed.attach, clock.at_s
    )


def _abort_judge(thresholds: Any) -> Any:
    """Abort thresholds judged on the merged running figures of all workers."""
    from perfeng.gates import AbortWatch
    from perfeng.workflows.workers import running_summary

    if not any(t.abort for t in thresholds):
        return None
    watch = AbortWatch(thresholds)

    def judge(latest: list[dict[str, Any]], elapsed_s: float) -> str | None:
        summary = running_summary(latest, elapsed_s)
        if summary is None:
            return None
        verdict = watch.update(elapsed_s, summary)
        return None if verdict is None else f"abort: {verdict.describe()}"

    return judge


def run_cluster(args: argparse.Namespace, scenario: Any) -> int:
    """``--cluster tcp://HOST:PORT``: a shard on each Dask worker, merged on the client."""
    from perfeng.workflows import cluster

    thresholds = _check_shardable(args, scenario)
    from perfeng.workflows.patterns import AbortClock

    client = cluster.connect(args.cluster)
    clock = AbortClock()
    show = not (args.quiet or args.json)
    try:
        count = len(cluster.workers_alive(client))
        if show:
            print(f"perfeng: {count} Dask workers at {args.cluster}", file=sys.stderr)
        argv = worker_args(sys.argv[2:], "--cluster")
        outcome, info = cluster.run_on_cluster(
            client,
            argv,
            _show_workers if show else lambda _latest: None,
            judge=clock.wrap(_abort_judge(thresholds)),
        )
    finally:
        client.close()
    if show:
        print(file=sys.stderr)
    if not outcome.documents:
        raise UsageError("no Dask worker returned a result")
    planned = _planned(scenario)
    return _finish_shards(args, outcome, planned, thresholds, {"cluster": info}, None, clock.at_s)


def _check_shardable(args: argparse.Namespace, scenario: Any, watch_allowed: bool = False) -> Any:
    from perfeng.gates import parse_thresholds

    if not watch_allowed and watching_of(args) is not None:
        raise UsageError("--cluster does not watch a target: drop --target-*, or use --workers")
    return parse_thresholds(scenario.thresholds)


def _planned(scenario: Any) -> int | None:
    from perfeng.engine.schedule import count_arrivals

    plans = [w.plan() for w in scenario.workloads]
    return sum(count_arrivals(p) for p in plans if p.model == "open") or None


def worker_args(argv: list[str], *also: str) -> list[str]:
    from perfeng.workflows.workers import worker_argv

    return worker_argv(argv, also)


def _finish_shards(
    args: argparse.Namespace,
    outcome: Any,
    planned: int | None,
    thresholds: Any,
    extra: dict[str, Any],
    attach: Callable[[dict[str, Any]], None] | None = None,
    aborted_at_s: float | None = None,
) -> int:
    """One result from the shards' (``workflows.workers.Outcome``): merged, watched,
    judged, written."""
    from perfeng.gates import evaluate_all
    from perfeng.workflows import workers as pool

    documents, reports, epoch, aborted = (
        outcome.documents, outcome.reports, outcome.epoch, outcome.aborted,
    )  # fmt: skip
    what = "Dask workers" if "cluster" in extra else "worker processes"
    document = pool.merged_result(documents, reports, epoch, sys.argv[1:], planned, what)
    document["generator"].update(extra)
    if aborted is not None:
        document["interrupted"] = aborted
    if attach is not None:
        attach(document)
    verdicts = evaluate_all(list(thresholds), document["summary"])
    document["summary"]["thresholds"] = [v.to_dict() for v in verdicts]
    from perfeng.workflows.patterns import note_breakpoint

    note_breakpoint(document, aborted_at_s)
    code = finish(args, document, document["interrupted"])
    if document["incomplete"] and code in (ExitCode.OK, ExitCode.THRESHOLD_FAILED):
        for note in document["notes"][1:]:
            print(f"perfeng: {note}", file=sys.stderr)
        return int(ExitCode.INCOMPLETE)
    return code


_shown = {"elapsed": -1.0}


def _show_workers(latest: list[dict[str, Any]]) -> None:
    """One live line for all workers, redrawn when their figures move (once a second)."""
    if not any(latest):
        return
    elapsed = max(x.get("elapsed_s", 0.0) for x in latest)
    if elapsed == _shown["elapsed"]:
        return
    _shown["elapsed"] = elapsed
    duration = max(x.get("duration_s", 0.0) for x in latest)
    requests = sum(x.get("requests", 0) for x in latest)
    errors = sum(x.get("errors", 0) for x in latest)
    line = f"\r{elapsed:5.1f}/{duration:g} s  {requests:,} requests  {errors:,} errors"
    print(line + f"  ({len(latest)} workers)", end="", file=sys.stderr, flush=True)


def say_watching(watched: Any) -> None:
    what = "watching PID " + ", ".join(str(p) for p in watched.pids)
    if watched.process is not None:
        what += f" (started with --target-cmd; its output goes to {watched.process.log})"
    if watched.watching.profile:
        what += f", profiling it with py-spy at {watched.watching.profile_rate} Hz"
    print(f"perfeng: {what}", file=sys.stderr, flush=True)


def finish(args: argparse.Namespace, document: dict[str, Any], stop_reason: str | None) -> int:
    from perfeng.workflows.output import write_json

    if args.out:
        write_json(args.out, document)  # checked before the run; a failure now is rare
    if args.json:
        json.dump(document["summary"], sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif not args.quiet:
        from perfeng.report.terminal import print_findings, print_summary

        print_summary(document, sys.stdout, out_path=args.out)
        print_findings(document, sys.stdout)
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
