"""``perfeng bench``: benchmarks of callables (PATH) or of whole commands (--cmd).

The composition root for benchmarks: it measures with ``perfeng.bench``, computes statistics
with ``perfeng.analysis.benchstats``, assembles the document with ``perfeng.model.bench`` and
prints or writes it. Exit codes: 0 all measured, 2 bad usage or any benchmark failed,
130 interrupted (what was measured is written to --out first).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from perfeng.bench.calibration import time_kernels
from perfeng.bench.command import CommandRun, parse_command, run_commands
from perfeng.bench.discovery import discover
from perfeng.bench.presets import Preset, choose
from perfeng.bench.runner import Outcome, run_callables
from perfeng.bench.table import render
from perfeng.clock import MonotonicClock
from perfeng.errors import ExitCode, UsageError
from perfeng.model.bench import bench_entry, build_bench_document
from perfeng.units import parse_duration_s
from perfeng.workflows.bench_document import bench_metadata as _metadata
from perfeng.workflows.bench_document import bench_settings as _settings
from perfeng.workflows.bench_document import calibration_of, kernels_of
from perfeng.workflows.bench_document import callable_entries as _callable_entries
from perfeng.workflows.bench_document import load_1min as _load_1min
from perfeng.workflows.bench_document import summary as _summary
from perfeng.workflows.output import write_json


def _preset_name(args: argparse.Namespace) -> str:
    return "fast" if args.fast else "rigorous" if args.rigorous else "default"


def _check_args(args: argparse.Namespace) -> None:
    if bool(args.path) == bool(args.cmd):
        raise UsageError("give either a PATH of benchmarks or --cmd COMMAND (not both)")
    if bool(args.base) != bool(args.base_out):
        raise UsageError("--base PATH and --base-out FILE go together")
    if args.base and args.cmd:
        raise UsageError(
            "--base applies to PATH benchmarks; commands given with --cmd are "
            "already interleaved with each other"
        )
    if args.base_out and args.base_out == args.out:
        raise UsageError("--base-out and --out must be different files")
    if args.cmd:
        for given, flag, instead in (
            (args.pattern, "-k", ""),
            (args.processes, "--processes", "; use --runs"),
            (args.values, "--values", "; use --runs"),
        ):
            if given is not None:
                raise UsageError(f"{flag} applies to PATH benchmarks, not --cmd{instead}")
        return
    for given, flag in (
        (args.runs, "--runs"),
        (args.no_shell or None, "--no-shell"),
        (args.ignore_failure or None, "--ignore-failure"),
    ):
        if given is not None:
            raise UsageError(f"{flag} applies to --cmd only")


def _choose_preset(args: argparse.Namespace) -> Preset:
    return choose(
        _preset_name(args),
        commands=bool(args.cmd),
        processes=args.processes,
        values=args.values,
        warmups=args.warmups,
        min_time_s=parse_duration_s(args.min_time) if args.min_time is not None else None,
        runs=args.runs,
    )


class _Progress:
    """A one-line counter on stderr, only on a terminal and never with --quiet or --json."""

    def __init__(self, enabled: bool, what: str) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.what = what

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            print(f"\r{self.what} {done}/{total}", end="", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.enabled:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _run_callables(
    args: argparse.Namespace, preset: Preset, progress: _Progress
) -> tuple[list[Outcome], bool]:
    """The outcomes of PATH's benchmarks, preceded by --base's when given: one list, so every
    round measures base and head side by side."""
    benchmarks = discover(Path(args.path), args.pattern)
    base = discover(Path(args.base), args.pattern) if args.base else []
    args.base_count = len(base)
    return run_callables([*base, *benchmarks], preset, progress=progress)


def _command_entries(run: CommandRun, meta: dict[str, Any], shell: bool) -> list[dict[str, Any]]:
    overhead = run.shell_overhead_s()
    entries = []
    for outcome in run.outcomes:
        cut = overhead or 0.0
        values = [max(v - cut, 0.0) for v in outcome.values]
        stats, warnings = _summary(values, 1, meta, True)
        entries.append(
            bench_entry(
                name=outcome.command.text,
                kind="command",
                source=outcome.command.text,
                values=values,
                warmups=[max(v - cut, 0.0) for v in outcome.warmups],
                stats=stats,
                warnings=warnings,
                error=outcome.error,
                shell_overhead_s=overhead if shell else None,
                executable=outcome.command.executable,
                extra={"user_s": list(outcome.user_s), "system_s": list(outcome.system_s)},
            )
        )
    return entries


def _measure(
    args: argparse.Namespace, preset: Preset, progress: _Progress
) -> tuple[list[Outcome] | CommandRun, bool, int | None]:
    """Measure; returns the raw outcomes (callables) or the command run, interrupted or not,
    and for commands the number of timed rounds."""
    if not args.cmd:
        outcomes, interrupted = _run_callables(args, preset, progress)
        return outcomes, interrupted, None
    shell = not args.no_shell
    commands = [parse_command(text, shell=shell) for text in args.cmd]
    run = run_commands(
        commands,
        preset,
        shell=shell,
        ignore_failure=args.ignore_failure,
        progress=progress,
        calibrate=lambda: time_kernels(MonotonicClock().now_ns),
    )
    rounds = max((len(o.values) for o in run.outcomes), default=0)
    return run, run.interrupted, rounds


def _split_base(
    args: argparse.Namespace, outcomes: list[Outcome], meta: dict[str, Any]
) -> tuple[list[Outcome], list[dict[str, Any]]]:
    """PATH's outcomes, and the baseline's entries when --base was given: the first
    ``args.base_count`` outcomes (see ``_run_callables``)."""
    count = getattr(args, "base_count", 0)
    return outcomes[count:], _callable_entries(outcomes[:count], meta)


def _write_base(
    args: argparse.Namespace,
    meta: dict[str, Any],
    settings: dict[str, Any],
    entries: list[dict[str, Any]],
    interrupted: bool,
    calibration: dict[str, list[float]],
) -> None:
    document = build_bench_document(
        metadata=meta,
        settings=settings,
        benchmarks=entries,
        interrupted=interrupted,
        calibration=calibration,
    )
    write_json(args.base_out, document)
    if not args.quiet and not args.json:
        print(f"baseline ({args.base}): {args.base_out}")
        print(render(document), end="")
        print(f"\nhead ({args.path}):")


def _emit(args: argparse.Namespace, document: dict[str, Any]) -> None:
    if args.out:
        write_json(args.out, document)
    if args.json:
        print(json.dumps(document, indent=1))
    elif not args.quiet:
        print(render(document), end="")
        return
    for entry in document["benchmarks"]:  # the table shows errors; otherwise stderr does
        if entry["error"]:
            print(f"perfeng: {entry['name']}: {entry['error']}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from perfeng.cli.history import check_save_flags
    from perfeng.workflows.output import check_writable

    _check_args(args)
    check_save_flags(args)
    for path in (args.out, args.base_out):
        if path:
            check_writable(path)
    if getattr(args, "instructions", False):
        from perfeng.cli.bench_counted import run as run_counted

        return run_counted(args)
    preset = _choose_preset(args)
    clock = MonotonicClock()
    load_start = _load_1min()
    start = clock.wall_s()
    progress = _Progress(not (args.quiet or args.json), "round" if args.cmd else "process")
    measured, interrupted, rounds = _measure(args, preset, progress)
    progress.finish()
    meta = _metadata(start, clock.wall_s(), load_start)
    calibration: dict[str, list[float]] = {}
    if isinstance(measured, CommandRun):
        entries = _command_entries(measured, meta, not args.no_shell)
        calibration = kernels_of(measured.calibration)
    else:
        base_outcomes = measured[: getattr(args, "base_count", 0)]
        measured, base_entries = _split_base(args, measured, meta)
        entries = _callable_entries(measured, meta)
        calibration = calibration_of(measured)
    document = build_bench_document(
        metadata=meta,
        settings=_settings(preset, rounds),
        benchmarks=entries,
        interrupted=interrupted,
        calibration=calibration,
    )
    if args.base:
        base_settings = _settings(preset, rounds)
        _write_base(
            args, meta, base_settings, base_entries, interrupted, calibration_of(base_outcomes)
        )
        entries = [*entries, *base_entries]  # a baseline failure fails the run too
    _emit(args, document)
    if args.save and interrupted:
        print("perfeng: not saved to the history: it was stopped", file=sys.stderr)
    elif args.save:
        from perfeng.cli.history import save_run

        sys.stdout.flush()  # the result is written and shown before a store can fail
        save_run(document, args.store, args.tag)
    if interrupted:
        print("perfeng: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.USAGE) if any(e["error"] for e in entries) else int(ExitCode.OK)
