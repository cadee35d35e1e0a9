"""The watcher: a child process that samples resources once a second and runs py-spy.

It runs apart from the load generator so that reading /proc and psutil (a few milliseconds a
second, holding the GIL) never delays a request. Protocol with the parent (``Watch``):
the spec is argv[1] (JSON); it prints ``ready`` once it has a first reading; commands come on
stdin, one a line: ``stage INDEX ELAPSED_S`` (py-spy starts a new stage) and ``stop`` (or end
of input). Each second it appends a line to ``resources.jsonl``; when stopped it writes
``profile.json`` and prints ``done``.
"""

from __future__ import annotations

import json
import selectors
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from perfeng.model.watch import Profile, ProfileStage, Stack, parse_frame, to_builtins
from perfeng.profile import pyspy
from perfeng.profile.readings import Notes, read_system, read_tree
from perfeng.profile.use import SystemReading, TreeReading, system_sample, tree_sample

_TICK_OFFSET_S = 0.003  # read just after the wall-clock second turns, as the recorder does


@dataclass(frozen=True)
class WatchSpec:
    pids: tuple[int, ...]
    generator_pid: int | None
    profile: bool
    rate_hz: int
    folder: str

    def to_json(self) -> str:
        return json.dumps({**self.__dict__, "pids": list(self.pids)})

    @classmethod
    def from_json(cls, text: str) -> WatchSpec:
        data = json.loads(text)
        return cls(
            pids=tuple(int(p) for p in data["pids"]),
            generator_pid=data["generator_pid"],
            profile=bool(data["profile"]),
            rate_hz=int(data["rate_hz"]),
            folder=str(data["folder"]),
        )


# py-spy's cost grows with the threads it reads: each recorder spent about 2.1 % of a core
# per target thread at 100 Hz on this VM (benchmarks/watch_overhead.py; mostly the kernel's
# process_vm_readv, one call per frame). The wall-time recorder must read every thread, so its
# rate is set from the thread count to stay within a budget; the CPU recorder reads only the
# thread that holds the GIL (py-spy --gil), whatever the thread count.
PCT_PER_THREAD_HZ = 0.021
WALL_BUDGET_PCT = 3.0  # of one core, for the wall-time recorder of one watched tree
MIN_WALL_RATE = 5


def wall_rate(threads: int, ceiling: int) -> int:
    """Samples a second for the wall-time recorder of a tree with ``threads`` threads."""
    fitting = WALL_BUDGET_PCT / (PCT_PER_THREAD_HZ * max(threads, 1))
    return int(max(MIN_WALL_RATE, min(ceiling, fitting)))


@dataclass
class Segment:
    """One recorder's stretch: a stage, or part of one when the wall rate was lowered."""

    stage: int
    pid: int
    kind: str  # "wall" or "cpu"
    rate: int
    recorder: pyspy.Recorder


@dataclass
class Profiler:
    """The py-spy recorders of every watched process, stage after stage."""

    binary: str | None
    pids: tuple[int, ...]
    rate: int
    folder: Path
    threads: Callable[[int], int] = lambda pid: 1
    children: Callable[[int], bool] = lambda pid: False
    stage: int = 0
    stages: list[ProfileStage] = field(default_factory=list)
    running: list[Segment] = field(default_factory=list)
    done: list[Segment] = field(default_factory=list)
    refused: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    stage_start: float = 0.0
    lowest_wall_rate: int = 0
    serial: int = 0

    def start(self) -> None:
        if self.binary is None:
            return
        for pid in self.pids:
            if pid not in self.refused:
                self._start(pid, "wall", wall_rate(self.threads(pid), self.rate))
                self._start(pid, "cpu", self.rate)

    def _start(self, pid: int, kind: str, rate: int) -> None:
        assert self.binary is not None
        self.serial += 1
        output = self.folder / f"pyspy-{pid}-{self.stage}-{self.serial}.{kind}"
        recorder = pyspy.Recorder.start(
            self.binary,
            pid,
            rate,
            output,
            idle=kind == "wall",
            gil=kind == "cpu",
            subprocesses=self.children(pid),
        )
        self.running.append(Segment(self.stage, pid, kind, rate, recorder))
        if kind == "wall":
            low = self.lowest_wall_rate
            self.lowest_wall_rate = min(low, rate) if low else rate

    def check(self) -> None:
        """A recorder that ended on its own could not attach: say why, do not restart it.
        A wall recorder whose tree has grown threads past twice its budget starts again,
        slower (thread pools grow with the load)."""
        for segment in list(self.running):
            if segment.recorder.failed():
                self.refused.setdefault(segment.pid, segment.recorder.why())
                continue
            if segment.kind == "wall":
                fitting = wall_rate(self.threads(segment.pid), self.rate)
                if fitting * 2 <= segment.rate:
                    self._retire(segment)
                    self._start(segment.pid, "wall", fitting)

    def _retire(self, segment: Segment) -> None:
        segment.recorder.stop()
        self.running.remove(segment)
        self.done.append(segment)

    def next_stage(self, index: int, elapsed_s: float) -> None:
        self.finish_stage(elapsed_s)
        self.stage, self.stage_start = index, elapsed_s
        self.start()

    def finish_stage(self, elapsed_s: float) -> None:
        for segment in list(self.running):
            self._retire(segment)
        for segment in self.done:
            if not segment.recorder.output.exists():
                self.refused.setdefault(segment.pid, segment.recorder.why())
        self.stages.append(
            ProfileStage(index=self.stage, start_s=self.stage_start, end_s=elapsed_s)
        )

    def result(self) -> Profile:
        """Counts of every segment, scaled to the nominal rate so wall and CPU compare."""
        frames: dict[str, int] = {}
        counts: dict[tuple[int, tuple[int, ...]], list[int]] = {}
        errors = 0
        for segment in self.done:
            errors += segment.recorder.errors()
            column = 0 if segment.kind == "wall" else 1
            scale = self.rate / segment.rate
            for stack, count in segment.recorder.stacks().items():
                key = (segment.stage, tuple(frames.setdefault(f, len(frames)) for f in stack))
                counts.setdefault(key, [0, 0])[column] += round(count * scale)
        stacks = [
            Stack(stage, list(key), wall, cpu) for (stage, key), (wall, cpu) in counts.items()
        ]
        return Profile(
            status=self._status(bool(stacks)),
            reason=self._reason(),
            hint=next((h for _, h in self.refused.values() if h), None),
            sampler=pyspy.version(self.binary) if self.binary else "py-spy",
            rate_hz=self.rate,
            wall_rate_hz=self.lowest_wall_rate or self.rate,
            frames=list(frames),
            stages=self.stages,
            stacks=stacks,
            errors=errors,
            code=_source_lines(frames),
        )

    def _status(self, any_stacks: bool) -> Any:
        if self.binary is None or not any_stacks:
            return "unavailable"
        return "partial" if self.refused else "ok"

    def _reason(self) -> str | None:
        if self.binary is None:
            return "py-spy is not installed (it comes with perfeng: pip install py-spy)"
        if not self.refused:
            return None
        return "; ".join(f"PID {pid}: {why}" for pid, (why, _) in sorted(self.refused.items()))


def _source_lines(frames: dict[str, int]) -> dict[str, str]:
    """The source text of each application frame's line, read now: the report quotes the
    line where threads wait (``with lock:``) and the file may change after the run."""
    import linecache

    lines = {}
    for text in frames:
        frame = parse_frame(text)
        if frame.line is None or frame.library or frame.pseudo:
            continue
        source = linecache.getline(frame.file, frame.line).strip()
        if source:
            lines[f"{frame.file}:{frame.line}"] = source[:160]
    return lines


class Sampler:
    """Resource readings of the watched trees and the machine, turned into samples."""

    def __init__(self, spec: WatchSpec, out: Any) -> None:
        self.notes = Notes()
        self.roots = {pid: psutil.Process(pid) for pid in spec.pids}
        self.generator = _process(spec.generator_pid)
        self.out = out
        self.last: tuple[SystemReading, dict[int, TreeReading]] | None = None
        self.written_notes = 0

    def header(self) -> dict[str, Any]:
        trees = []
        for pid, root in self.roots.items():
            try:
                trees.append({"pid": pid, "name": root.name(), "cmdline": root.cmdline()})
            except psutil.Error:
                trees.append({"pid": pid, "name": "?", "cmdline": []})
        return {"cpu_count": psutil.cpu_count() or 1, "trees": trees}

    def read(self, boundary: int | None = None) -> None:
        """Read now; the sample since the last reading is labelled with the second that
        ends at ``boundary`` (the tick this reading was for), whatever the wake-up jitter."""
        now = time.time()
        second = (boundary if boundary is not None else round(now)) - 1
        system = read_system(now, self.generator, self.notes)
        trees = {pid: read_tree(root, now, self.notes) for pid, root in self.roots.items()}
        if self.last is not None:
            self._write(self.last, (system, trees), second)
        self.last = (system, trees)

    def _write(
        self,
        before: tuple[SystemReading, dict[int, TreeReading]],
        after: tuple[SystemReading, dict[int, TreeReading]],
        second: int,
    ) -> None:
        line: dict[str, Any] = {
            "time": second,
            "system": to_builtins(system_sample(before[0], after[0], second)),
            "trees": {
                str(pid): to_builtins(tree_sample(before[1][pid], tree, second))
                if tree.processes
                else None
                for pid, tree in after[1].items()
            },
        }
        notes = list(self.notes)
        if len(notes) > self.written_notes:
            line["unavailable"] = notes[self.written_notes :]
            self.written_notes = len(notes)
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()


def _tree_threads(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        return sum(p.num_threads() for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return 1


def _has_children(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).children())
    except psutil.Error:
        return False


def _process(pid: int | None) -> psutil.Process | None:
    if pid is None:
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _wait(selector: selectors.BaseSelector, boundary: int) -> str | None:
    """The next command, or None when the wall clock has reached ``boundary`` first."""
    while True:
        timeout = boundary + _TICK_OFFSET_S - time.time()
        if timeout <= 0:
            return None
        if selector.select(timeout):
            line = sys.stdin.readline()
            return line.strip() if line else "stop"


def run(spec: WatchSpec) -> int:
    folder = Path(spec.folder)
    binary = pyspy.find_pyspy() if spec.profile else None
    profiler = Profiler(
        binary, spec.pids, spec.rate_hz, folder, threads=_tree_threads, children=_has_children
    )
    with (folder / "resources.jsonl").open("w", encoding="utf-8") as out:
        sampler = Sampler(spec, out)
        out.write(json.dumps(sampler.header()) + "\n")
        if spec.profile:
            profiler.start()
        sampler.read()
        print("ready", flush=True)
        _loop(sampler, profiler)
    if spec.profile:
        profile = profiler.result()
        (folder / "profile.json").write_text(json.dumps(to_builtins(profile)), encoding="utf-8")
    print("done", flush=True)
    return 0


def _loop(sampler: Sampler, profiler: Profiler) -> None:
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ)
    elapsed = 0.0
    boundary = int(time.time()) + 1
    while True:
        command = _wait(selector, boundary)
        if command is None:
            sampler.read(boundary)
            profiler.check()
            # The next second still to come (after a stall, the missed ones are one sample).
            boundary = max(boundary + 1, int(time.time()) + 1)
            continue
        word, *args = command.split()
        if word == "stage" and len(args) == 2:
            elapsed = float(args[1])
            profiler.next_stage(int(args[0]), elapsed)
        elif word == "elapsed" and args:
            elapsed = float(args[0])
        elif word == "stop":
            if args:
                elapsed = float(args[0])
            sampler.read(boundary)  # the last, partial second: the end of the load is in it
            profiler.finish_stage(elapsed)
            return


def main() -> int:
    spec = WatchSpec.from_json(sys.argv[1])
    pyspy.observer_priority()
    try:
        return run(spec)
    except psutil.NoSuchProcess as exc:
        print(f"error: no process with PID {exc.pid}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
