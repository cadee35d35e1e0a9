"""``perfeng bench --instructions``: count instead of time (callgrind), then print or write
the document as ``perfeng bench`` does. Exit codes as for ``bench``: 0 all counted, 2 bad
usage, Valgrind missing or any benchmark failed, 130 interrupted."""

from __future__ import annotations

import argparse
import sys

from perfeng.errors import ExitCode, UsageError


def _check_counted_args(args: argparse.Namespace) -> None:
    if args.base:
        raise UsageError(
            "--instructions does not take --base: counts of separate runs agree, so count"
            " each commit in its own job and `perfeng compare` the two documents"
        )
    if args.min_time is not None:
        raise UsageError("--min-time applies to timing; --instructions counts a fixed work")


def run(args: argparse.Namespace) -> int:
    from perfeng.cli.bench import _emit, _preset_name, _Progress
    from perfeng.clock import MonotonicClock
    from perfeng.model.bench import build_bench_document
    from perfeng.workflows import bench_counted as workflow
    from perfeng.workflows.bench_document import bench_metadata, load_1min

    _check_counted_args(args)
    plan = workflow.Plan(_preset_name(args), args.processes, args.values, args.runs, args.warmups)
    for value, flag in ((args.processes, "--processes"), (args.values, "--values")):
        if value is not None and value < 1:
            raise UsageError(f"invalid {flag} {value}: must be at least 1")
    if args.runs is not None and args.runs < 1:
        raise UsageError(f"invalid --runs {args.runs}: must be at least 1")
    if args.warmups is not None and args.warmups < 0:
        raise UsageError(f"invalid --warmups {args.warmups}: must be 0 or more")
    clock = MonotonicClock()
    load_start, start = load_1min(), clock.wall_s()
    progress = _Progress(not (args.quiet or args.json), "round" if args.cmd else "process")
    if args.cmd:
        counted = workflow.count_commands_given(
            args.cmd,
            plan,
            shell=not args.no_shell,
            ignore_failure=args.ignore_failure,
            progress=progress,
        )
    else:
        counted = workflow.count_path(args.path, args.pattern, plan, progress)
    progress.finish()
    document = build_bench_document(
        metadata=bench_metadata(start, clock.wall_s(), load_start),
        settings=counted.settings,
        benchmarks=counted.entries,
        interrupted=counted.interrupted,
    )
    _emit(args, document)
    return _finish(args, document, counted.interrupted)


def _finish(args: argparse.Namespace, document: dict[str, object], interrupted: bool) -> int:
    if args.save and interrupted:
        print("perfeng: not saved to the history: it was stopped", file=sys.stderr)
    elif args.save:
        from perfeng.cli.history import save_run

        sys.stdout.flush()
        save_run(document, args.store, args.tag)
    if interrupted:
        print("perfeng: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    entries = document["benchmarks"]
    failed = any(e["error"] for e in entries) if isinstance(entries, list) else False
    return int(ExitCode.USAGE) if failed else int(ExitCode.OK)
