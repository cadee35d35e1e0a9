"""Timing whole commands, hyperfine's way.

Through a shell (``sh -c``) by default: the shell's own start-up is timed the same way, runs
interleaved with the commands, and its median is subtracted from every run (floored at 0).
With ``shell=False`` the command is split with shlex and started directly; nothing is
subtracted. Commands run interleaved, A B A B, until each has ``min_runs`` runs and
``min_time_s`` of measured time (or exactly ``runs``). Every run gets an environment variable
of random length, so the memory layout varies between runs (hyperfine, after Mytkowicz et al.,
"Producing wrong data without doing anything obviously wrong", ASPLOS 2009).
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
import signal
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from perfeng.bench.presets import Preset
from perfeng.clock import MonotonicClock
from perfeng.errors import UsageError

PADDING_VARIABLE = "PERFENG_BENCH_PADDING"


@dataclass(frozen=True)
class Command:
    text: str  # as the user gave it
    argv: tuple[str, ...]  # what is started
    executable: str | None  # resolved argv[0] of the user's command (None: a shell builtin)


@dataclass(frozen=True)
class RunTiming:
    wall_s: float
    user_s: float
    system_s: float
    exit_code: int


@dataclass
class CommandOutcome:
    command: Command
    values: list[float] = field(default_factory=list)  # wall seconds, shell not yet subtracted
    warmups: list[float] = field(default_factory=list)
    user_s: list[float] = field(default_factory=list)
    system_s: list[float] = field(default_factory=list)
    error: str | None = None

    def fail(self, error: str) -> None:
        self.error = error
        for series in (self.values, self.warmups, self.user_s, self.system_s):
            series.clear()


def _shell() -> str:
    return shutil.which("sh") or "/bin/sh"


def parse_command(text: str, *, shell: bool) -> Command:
    """``UsageError`` for an empty command, bad quoting (without a shell) or a program that
    cannot be found (without a shell; through one, the shell reports it as exit code 127)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        if not shell:
            raise UsageError(f"cannot split command {text!r}: {exc}") from None
        words = text.split()
    if not words:
        raise UsageError("empty --cmd")
    executable = shutil.which(words[0])
    if shell:
        return Command(text, (_shell(), "-c", text), executable)
    if executable is None:
        raise UsageError(f"command not found: {words[0]}")
    return Command(text, (executable, *words[1:]), executable)


def shell_probe() -> Command:
    """The shell doing nothing: what a command through the shell costs on top of itself."""
    return Command("sh -c ''", (_shell(), "-c", ""), _shell())


def time_run(argv: Sequence[str], env: dict[str, str]) -> RunTiming:
    """Start ``argv[0]`` (a full path) with output to /dev/null and wait for it; wall time
    from before the spawn to after the reap, CPU times from the child's rusage."""
    now = MonotonicClock().now_ns
    quiet = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    start = now()
    pid = os.posix_spawn(argv[0], list(argv), env, file_actions=quiet)
    try:
        _, status, usage = os.wait4(pid, 0)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    wall_ns = now() - start
    return RunTiming(
        wall_ns / 1e9, usage.ru_utime, usage.ru_stime, os.waitstatus_to_exitcode(status)
    )


TimeRun = Callable[[Sequence[str], dict[str, str]], RunTiming]
Progress = Callable[[int, int], None]
Calibrate = Callable[[], dict[str, float]]
CALIBRATIONS = 12  # at most, spread over the rounds: tiny commands run hundreds of rounds


def _calibrates_after(rounds: int) -> bool:
    """After rounds 1, 2, 3, then every 10th: about a dozen over a long run, most early."""
    return rounds <= 3 or rounds % 10 == 0


@dataclass
class CommandRun:
    """All command outcomes, the shell probe's timings and whether Ctrl-C stopped the run."""

    outcomes: list[CommandOutcome]
    probe: CommandOutcome | None
    interrupted: bool = False
    # seconds per run of each calibration kernel, timed in this process between rounds
    calibration: list[dict[str, float]] = field(default_factory=list)

    def shell_overhead_s(self) -> float | None:
        if self.probe is None or not self.probe.values:
            return None
        return statistics.median(self.probe.values)


class _Runner:
    def __init__(self, preset: Preset, ignore_failure: bool, time: TimeRun, seed: int) -> None:
        self.preset = preset
        self.ignore_failure = ignore_failure
        self.time = time
        self.random = random.Random(seed)
        self.base_env = dict(os.environ)

    def once(self, outcome: CommandOutcome, warmup: bool) -> None:
        env = {**self.base_env, PADDING_VARIABLE: "x" * self.random.randrange(4096)}
        timing = self.time(outcome.command.argv, env)
        if timing.exit_code == -signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C on a terminal reaches the command first
        if timing.exit_code != 0 and not self.ignore_failure:
            outcome.fail(_failure(outcome.command, timing.exit_code))
            return
        if warmup:
            outcome.warmups.append(timing.wall_s)
            return
        outcome.values.append(timing.wall_s)
        outcome.user_s.append(timing.user_s)
        outcome.system_s.append(timing.system_s)

    def round(self, outcomes: Sequence[CommandOutcome], warmup: bool) -> None:
        for outcome in outcomes:
            if outcome.error is None:
                self.once(outcome, warmup)

    def enough(self, outcomes: Sequence[CommandOutcome], rounds: int) -> bool:
        active = [o for o in outcomes if o.error is None]
        if not active:
            return True
        if self.preset.runs is not None:
            return rounds >= self.preset.runs
        return rounds >= self.preset.min_runs and all(
            sum(o.values) >= self.preset.min_time_s for o in active
        )


def _failure(command: Command, code: int) -> str:
    hint = " (command not found?)" if code == 127 else ""
    return (
        f"command {command.text!r} exited with code {code}{hint};"
        " run it alone to see its output, or use --ignore-failure"
    )


def run_commands(
    commands: Sequence[Command],
    preset: Preset,
    *,
    shell: bool,
    ignore_failure: bool = False,
    time: TimeRun = time_run,
    progress: Progress | None = None,
    seed: int = 0,
    calibrate: Calibrate | None = None,
) -> CommandRun:
    """Warm-ups, then rounds of one run per command (and of the shell probe) until enough;
    ``calibrate`` times the machine's kernels between some rounds (``bench.calibration``)."""
    outcomes = [CommandOutcome(c) for c in commands]
    probe = CommandOutcome(shell_probe()) if shell else None
    everyone = [*outcomes, *([probe] if probe else [])]
    runner = _Runner(preset, ignore_failure, time, seed)
    run = CommandRun(outcomes, probe)
    try:
        for _ in range(preset.warmups):
            runner.round(everyone, warmup=True)
        rounds = 0
        while not runner.enough(outcomes, rounds):
            runner.round(everyone, warmup=False)
            rounds += 1
            if calibrate and len(run.calibration) < CALIBRATIONS and _calibrates_after(rounds):
                run.calibration.append(calibrate())
            if progress:
                progress(rounds, preset.runs or preset.min_runs)
    except KeyboardInterrupt:
        run.interrupted = True
    return run
