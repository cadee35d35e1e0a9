"""Running callables: one calibration process per benchmark, then fresh worker processes,
interleaved across benchmarks (A B A B ...) so drift of the machine hits every one alike.

The process boundary is one function (``spawn_worker``); tests pass a fake in its place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from perfeng.bench.discovery import Benchmark
from perfeng.bench.presets import Preset
from perfeng.errors import ExitCode

RunWorker = Callable[[dict[str, Any]], dict[str, Any]]
Progress = Callable[[int, int], None]


@dataclass
class Outcome:
    """What was measured for one benchmark so far (filled in as processes report)."""

    benchmark: Benchmark
    loops: int = 0
    values: list[float] = field(default_factory=list)
    warmups: list[float] = field(default_factory=list)
    error: str | None = None
    # seconds per run of each calibration kernel, one dict per worker process
    calibration: list[dict[str, float]] = field(default_factory=list)

    def fail(self, error: str) -> None:
        self.error = error
        self.values.clear()
        self.warmups.clear()


def _last_line(text: bytes) -> str:
    lines = [ln.strip() for ln in text.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


EnvFor = Callable[[list[str], dict[str, str]], dict[str, str]]


def spawn_worker(
    task: dict[str, Any], *, prefix: Sequence[str] = (), env_for: EnvFor | None = None
) -> dict[str, Any]:
    """Run one fresh worker process; its JSON answer comes over a pipe of its own. On any
    interruption the worker is killed before the exception goes on. ``prefix`` goes before
    the interpreter (valgrind and its options); ``env_for(worker argv, environment)`` gives
    the worker's environment when set."""
    read_fd, write_fd = os.pipe()
    worker = [sys.executable, "-m", "perfeng.bench.worker", str(write_fd), json.dumps(task)]
    command = [*prefix, *worker]
    env = env_for(worker, dict(os.environ)) if env_for else None
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                command,
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the benchmark's prints would garble the table
                stderr=errors,
                env=env,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        try:
            with os.fdopen(read_fd, "rb") as pipe:
                answer = pipe.read()
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        if not answer and code in (ExitCode.INTERRUPTED, -signal.SIGINT):
            raise KeyboardInterrupt  # Ctrl-C on a terminal reaches the worker first
        if not answer:
            errors.seek(0)
            return {"error": f"worker exited with code {code}: {_last_line(errors.read())}"}
    try:
        result: dict[str, Any] = json.loads(answer)
    except ValueError:
        return {"error": "worker sent a damaged answer"}
    return result


def _task(benchmark: Benchmark, **fields: Any) -> dict[str, Any]:
    return {
        "file": benchmark.file,
        "function": benchmark.function,
        "index": benchmark.index,
        **fields,
    }


def calibrate_all(outcomes: Sequence[Outcome], preset: Preset, run_worker: RunWorker) -> None:
    for outcome in outcomes:
        task = _task(outcome.benchmark, mode="calibrate", min_time_s=preset.min_time_s)
        answer = run_worker(task)
        if "error" in answer:
            outcome.fail(str(answer["error"]))
        else:
            outcome.loops = int(answer["loops"])


def run_round(
    outcomes: Sequence[Outcome], preset: Preset, run_worker: RunWorker, *, reverse: bool = False
) -> None:
    """One fresh process for each benchmark still standing, in order (or reversed: rounds
    alternate A B, B A so that neither side always runs first after the other)."""
    for outcome in reversed(outcomes) if reverse else outcomes:
        if outcome.error is not None:
            continue
        task = _task(
            outcome.benchmark,
            mode="run",
            loops=outcome.loops,
            warmups=preset.warmups,
            values=preset.values,
        )
        answer = run_worker(task)
        if "error" in answer:
            outcome.fail(str(answer["error"]))
        else:
            outcome.warmups.extend(float(v) for v in answer["warmups"])
            outcome.values.extend(float(v) for v in answer["values"])
            if "calibration" in answer:  # fakes in tests may leave it out
                outcome.calibration.append(dict(answer["calibration"]))


def run_callables(
    benchmarks: Sequence[Benchmark],
    preset: Preset,
    *,
    run_worker: RunWorker = spawn_worker,
    progress: Progress | None = None,
) -> tuple[list[Outcome], bool]:
    """Measure every benchmark; returns the outcomes and whether Ctrl-C cut the run short
    (the outcomes then hold what was measured up to that point)."""
    outcomes = [Outcome(b) for b in benchmarks]
    try:
        calibrate_all(outcomes, preset, run_worker)
        for done in range(preset.processes):
            if progress:
                progress(done, preset.processes)
            run_round(outcomes, preset, run_worker, reverse=done % 2 == 1)
        if progress:
            progress(preset.processes, preset.processes)
    except KeyboardInterrupt:
        return outcomes, True
    return outcomes, False
