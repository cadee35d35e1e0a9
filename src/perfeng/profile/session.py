"""The parent's side of watching: start the watcher process, tell it when stages change,
and read back what it measured (also part-way, for checkpoints)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from perfeng.errors import UsageError
from perfeng.model.watch import (
    Profile,
    Resources,
    ShapeError,
    SystemSample,
    TreeSample,
    WatchedTree,
    read_profile,
)
from perfeng.profile.watcher import WatchSpec

READY_TIMEOUT_S = 20.0


def check_pids(pids: list[int]) -> None:
    """An unknown or vanished PID is a usage error, said before any load is sent."""
    for pid in pids:
        if pid <= 0 or not psutil.pid_exists(pid):
            raise UsageError(f"--target-pid {pid}: no such process")
        try:
            status = psutil.Process(pid).status()
        except psutil.NoSuchProcess:
            raise UsageError(f"--target-pid {pid}: no such process") from None
        if status == psutil.STATUS_ZOMBIE:
            raise UsageError(f"--target-pid {pid}: the process has ended (a zombie)")


@dataclass
class Watch:
    """A running watcher; ``stop`` returns the resources and the profile."""

    process: subprocess.Popen[str]
    folder: Path
    profile: bool
    own_folder: bool
    stages_sent: int = 0
    closed: bool = False
    said: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls, pids: list[int], *, profile: bool, rate_hz: int = 100, folder: str | None = None
    ) -> Watch:
        place = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="perfeng-watch-"))
        place.mkdir(parents=True, exist_ok=True)
        spec = WatchSpec(tuple(pids), os.getpid(), profile, rate_hz, str(place))
        process = subprocess.Popen(
            [sys.executable, "-m", "perfeng.profile.watcher", spec.to_json()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(place / "watcher.log").open("w"),
            text=True,
            start_new_session=True,  # a Ctrl-C on the terminal is ours to pass on, in order
        )
        watch = cls(process, place, profile, folder is None)
        watch._wait_ready()
        return watch

    def _wait_ready(self) -> None:
        assert self.process.stdout is not None
        line = _readline(self.process.stdout, READY_TIMEOUT_S)
        if line.strip() == "ready":
            return
        self.process.kill()
        self.process.wait()
        if line.startswith("error: "):
            raise UsageError(f"cannot watch the target: {line[7:].strip()}")
        log = (self.folder / "watcher.log").read_text(errors="replace").strip().splitlines()
        raise UsageError(
            "the resource watcher did not start: " + (log[-1] if log else line.strip() or "?")
        )

    def stage(self, index: int, elapsed_s: float) -> None:
        self._send(f"stage {index} {elapsed_s:.3f}")

    def _send(self, command: str) -> None:
        if self.closed or self.process.stdin is None:
            return
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self.closed = True

    def resources(self) -> Resources:
        return read_jsonl(self.folder / "resources.jsonl")

    def stop(self, elapsed_s: float) -> tuple[Resources, Profile | None]:
        self._send(f"stop {elapsed_s:.3f}")
        self.closed = True
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        resources = self.resources()
        profile = self._profile() if self.profile else None
        if self.own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        return resources, profile

    def _profile(self) -> Profile:
        path = self.folder / "profile.json"
        try:
            return read_profile(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (OSError, ValueError, ShapeError) as exc:
            return unavailable_profile(f"the profiler's output was lost: {exc}")


def unavailable_profile(reason: str, hint: str | None = None) -> Profile:
    return Profile(
        status="unavailable",
        reason=reason,
        hint=hint,
        sampler="py-spy",
        rate_hz=0,
        frames=[],
        stages=[],
        stacks=[],
    )


def _readline(stream: IO[str], timeout: float) -> str:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    if not selector.select(timeout):
        return ""
    return stream.readline()


def read_jsonl(path: Path) -> Resources:
    """Resources from the watcher's per-second lines (a line cut short is skipped)."""
    header: dict[str, Any] = {"cpu_count": os.cpu_count() or 1, "trees": []}
    lines: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as source:
            for number, text in enumerate(source):
                try:
                    data = json.loads(text)
                except ValueError:
                    continue
                if number == 0:
                    header = data
                else:
                    lines.append(data)
    except OSError:
        pass
    return _assemble(header, lines)


def _assemble(header: dict[str, Any], lines: list[dict[str, Any]]) -> Resources:
    import msgspec

    unavailable: list[str] = []
    system: list[SystemSample] = []
    by_tree: dict[str, list[TreeSample]] = {str(t["pid"]): [] for t in header["trees"]}
    last_alive: dict[str, int] = {}
    for line in lines:
        unavailable += line.get("unavailable", [])
        system.append(msgspec.convert(line["system"], SystemSample))
        for pid, sample in line["trees"].items():
            if sample is not None:
                by_tree.setdefault(pid, []).append(msgspec.convert(sample, TreeSample))
                last_alive[pid] = line["time"]
    end = lines[-1]["time"] if lines else None
    trees = [
        WatchedTree(
            pid=int(t["pid"]),
            name=t["name"],
            cmdline=t["cmdline"],
            samples=by_tree.get(str(t["pid"]), []),
            exited_at=_exited(last_alive.get(str(t["pid"])), end),
        )
        for t in header["trees"]
    ]
    return Resources(
        interval_s=1.0,
        cpu_count=int(header["cpu_count"]),
        trees=trees,
        system=system,
        unavailable=unavailable,
    )


def _exited(last: int | None, end: int | None) -> int | None:
    if end is None:
        return None
    if last is None:
        return end
    return last + 1 if last < end else None
