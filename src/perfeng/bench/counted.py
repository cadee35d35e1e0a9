"""Running benchmarks counted by callgrind (``perfeng bench --instructions``).

Callables: fresh worker processes under callgrind (``perfeng.bench.callgrind``), one round
per process as for timing; each value is the events of ``loops`` calls, less the window's
own cost, divided by ``loops``. A benchmark whose calls start processes is refused: callgrind
follows each child into its own dump, so the children are seen, but their work would not be
in the count (use --cmd for a program). Threads are counted: while instrumentation is on,
every thread's instructions go to the same totals.

Commands: the whole command under callgrind with children traced; a value is the sum over
every process that exited (a process that ``exec``s is counted from the new program on).
Through a shell, the shell's own count (``sh -c ''``) is subtracted, as for timing.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from perfeng.bench import callgrind
from perfeng.bench.command import Command, shell_probe
from perfeng.bench.discovery import Benchmark
from perfeng.bench.runner import spawn_worker

Events = dict[str, float]
RunCounted = Callable[[dict[str, Any], str], dict[str, Any]]
Progress = Callable[[int, int], None]


@dataclass
class CountedOutcome:
    """What was counted for one benchmark or command: events per call of each value."""

    name: str
    loops: int = 0
    values: list[Events] = field(default_factory=list)
    warmups: list[Events] = field(default_factory=list)
    error: str | None = None

    def fail(self, error: str) -> None:
        self.error = error
        self.values.clear()
        self.warmups.clear()


def spawn_counted(task: dict[str, Any], valgrind: str) -> dict[str, Any]:
    """One worker under callgrind, its dumps in a folder of its own; refused when the
    benchmark started processes (their dumps carry other process ids)."""
    with tempfile.TemporaryDirectory(prefix="perfeng-callgrind-") as out_dir:
        prefix = callgrind.valgrind_command(valgrind, out_dir, instrument_at_start=False)
        answer = spawn_worker({**task, "out_dir": out_dir}, prefix=prefix, env_for=_worker_env)
        processes = callgrind.dump_files(out_dir)
    if "error" not in answer and len(processes) > 1:
        return {"error": callgrind.children_refused(len(processes) - 1)}
    return answer


def _worker_env(argv: list[str], env: dict[str, str]) -> dict[str, str]:
    return callgrind.stack_aligned(argv, {**env, **callgrind.ENV})


def _accept(outcome: CountedOutcome, answer: dict[str, Any]) -> None:
    loops = int(answer["loops"])
    overhead = answer["overhead"]
    outcome.loops = loops
    outcome.warmups.extend(callgrind.per_call(answer["warmups"], overhead, loops))
    outcome.values.extend(callgrind.per_call(answer["values"], overhead, loops))


def count_callables(
    benchmarks: Sequence[Benchmark],
    *,
    processes: int,
    values: int,
    warmups: int,
    valgrind: str,
    run: RunCounted = spawn_counted,
    progress: Progress | None = None,
) -> tuple[list[CountedOutcome], bool]:
    """Every benchmark, ``processes`` rounds of fresh workers; returns the outcomes and
    whether Ctrl-C cut the run short."""
    outcomes = [CountedOutcome(b.name) for b in benchmarks]
    try:
        for done in range(processes):
            if progress:
                progress(done, processes)
            for benchmark, outcome in zip(benchmarks, outcomes, strict=True):
                if outcome.error is None:
                    _count_one(benchmark, outcome, values, warmups, valgrind, run)
        if progress:
            progress(processes, processes)
    except KeyboardInterrupt:
        return outcomes, True
    return outcomes, False


def _count_one(
    benchmark: Benchmark,
    outcome: CountedOutcome,
    values: int,
    warmups: int,
    valgrind: str,
    run: RunCounted,
) -> None:
    task = {
        "file": benchmark.file,
        "function": benchmark.function,
        "index": benchmark.index,
        "mode": "count",
        "warmups": warmups,
        "values": values,
    }
    answer = run(task, valgrind)
    if "error" in answer:
        outcome.fail(str(answer["error"]))
    else:
        _accept(outcome, answer)


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class CountedRun:
    """One command under callgrind: its exit code and the events summed over its processes."""

    exit_code: int
    events: Events
    processes: int
    error_text: str = ""


def count_run(argv: Sequence[str], valgrind: str) -> CountedRun:
    """Run ``argv`` under callgrind with its output discarded; sum every process's dump."""
    with tempfile.TemporaryDirectory(prefix="perfeng-callgrind-") as out_dir:
        prefix = callgrind.valgrind_command(valgrind, out_dir, instrument_at_start=True)
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                [*prefix, *argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
            try:
                code = process.wait()
            except BaseException:
                process.kill()
                process.wait()
                raise
            errors.seek(0)
            text = errors.read().decode("utf-8", "replace").strip()
        dumps = callgrind.dump_files(out_dir)
        total: dict[str, int] = {}
        for files in dumps.values():
            for path in files:
                total = callgrind.add(total, callgrind.read_counts(path))
    events = {event: float(total.get(event, 0)) for event in callgrind.EVENTS}
    return CountedRun(code, events, len(dumps), text.splitlines()[-1] if text else "")


CountRun = Callable[[Sequence[str], str], CountedRun]


def count_commands(
    commands: Sequence[Command],
    *,
    runs: int,
    warmups: int,
    shell: bool,
    valgrind: str,
    ignore_failure: bool = False,
    run: CountRun = count_run,
    progress: Progress | None = None,
) -> tuple[list[CountedOutcome], CountedOutcome | None, bool]:
    """Rounds of one counted run per command (and of the shell probe through a shell).
    Returns the outcomes, the probe's and whether Ctrl-C stopped the rounds."""
    outcomes = [CountedOutcome(c.text, loops=1) for c in commands]
    probe = CountedOutcome(shell_probe().text, loops=1) if shell else None
    pairs = list(zip(commands, outcomes, strict=True))
    if probe is not None:
        pairs.append((shell_probe(), probe))
    try:
        for done in range(warmups + runs):
            if progress and done >= warmups:
                progress(done - warmups, runs)
            for command, outcome in pairs:
                if outcome.error is None:
                    _count_command(command, outcome, done < warmups, valgrind, ignore_failure, run)
        if progress:
            progress(runs, runs)
    except KeyboardInterrupt:
        return outcomes, probe, True
    return outcomes, probe, False


def _count_command(
    command: Command,
    outcome: CountedOutcome,
    warmup: bool,
    valgrind: str,
    ignore_failure: bool,
    run: CountRun,
) -> None:
    counted = run(command.argv, valgrind)
    if counted.exit_code == -signal.SIGINT:
        raise KeyboardInterrupt
    if counted.processes == 0:
        why = counted.error_text or f"exit code {counted.exit_code}"
        outcome.fail(f"valgrind could not run {command.text!r}: {why}")
    elif counted.exit_code != 0 and not ignore_failure:
        outcome.fail(
            f"command {command.text!r} exited with code {counted.exit_code} under valgrind;"
            " run it alone to see its output, or use --ignore-failure"
        )
    else:
        (outcome.warmups if warmup else outcome.values).append(counted.events)


def subtract(values: Sequence[Events], overhead: Events | None) -> list[Events]:
    """Each value less the shell's own events (floored at 0)."""
    if overhead is None:
        return list(values)
    return [{e: max(v[e] - overhead.get(e, 0.0), 0.0) for e in v} for v in values]


def valgrind_version(valgrind: str) -> str | None:
    try:
        done = subprocess.run(
            [valgrind, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None
