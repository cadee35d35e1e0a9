"""py-spy, the sampling profiler that attaches to a running CPython process (benfred/py-spy).

Two recorders run side by side on each watched process, both ``--nonblocking`` (the target is
never paused; two blocking samplers could not both attach): one with ``--idle`` sees where
every thread spends its wall time, waiting included; the other (``--gil``) only the thread
that holds the GIL, i.e. runs Python code on a CPU. Their difference is where the waiting is.
Both run at nice 10, so that the load generator wins the CPU when they are due at the same
time. Output is py-spy's collapsed-stack "raw" format, one line per distinct stack:
``frame;frame;...;leaf COUNT``, root first.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PTRACE_HINT = (
    "run perfeng as the target's user or as root, or give it CAP_SYS_PTRACE (containers: "
    "--cap-add SYS_PTRACE); where Yama is on, `sysctl kernel.yama.ptrace_scope=0` allows "
    "attaching to non-child processes"
)


def find_pyspy() -> str | None:
    """``$PERFENG_PYSPY`` if set (a path; empty for none), else py-spy installed beside this
    Python (the wheel puts it in the venv's bin), else on PATH."""
    import os

    chosen = os.environ.get("PERFENG_PYSPY")
    if chosen is not None:
        return chosen if chosen and Path(chosen).exists() else None
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def version(binary: str) -> str:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "py-spy"
    return out.stdout.strip() or "py-spy"


def explain(log: str, returncode: int | None, pid: int | None = None) -> tuple[str, str | None]:
    """Why py-spy stopped, in one line, and how to allow it where that helps."""
    text = log.lower()
    refused = ("py-spy was not allowed to attach to the target (ptrace permission)", PTRACE_HINT)
    if any(
        words in text
        for words in (
            "permission denied",
            "operation not permitted",
            "failed to get process executable name",
        )
    ):
        return refused
    if any(
        words in text
        for words in (
            "failed to find python version",
            "failed to find a python interpreter",
            "no python processes found",
        )
    ):
        if pid is not None and not _readable(pid):
            return refused  # py-spy could not look inside it, so could not tell
        return "the target is not a CPython process py-spy can read", None
    if "no such process" in text or "process exited" in text:
        return "the target process ended", None
    first = next((line.strip() for line in log.splitlines() if "error" in line.lower()), "")
    return f"py-spy stopped (exit code {returncode}): {first or 'no message'}", None


def observer_priority() -> None:
    """Observers (the watcher, py-spy) run at nice 10 on every CPU: they yield to the load
    generator when both are due, and do not inherit a generator pinned to its own CPU."""
    import contextlib
    import os

    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    with contextlib.suppress(OSError):
        os.nice(10)


def _readable(pid: int) -> bool:
    """Whether the kernel lets this process (and so py-spy, its child) read the target: the
    ptrace access rule (ptrace(2), "Ptrace access mode checking"): the same user, or
    CAP_SYS_PTRACE; and with Yama (scope 1 or more) CAP_SYS_PTRACE for a non-descendant."""
    import os

    import psutil

    try:
        uids = set(psutil.Process(pid).uids())
    except psutil.AccessDenied:
        return False
    except psutil.Error:
        return True  # gone: not a permission question
    capable = _has_ptrace_capability()
    try:
        scope = int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text())
    except (OSError, ValueError):
        scope = 0
    if scope >= 1 and not capable:
        return False
    return capable or uids == {os.getuid()}


def _has_ptrace_capability() -> bool:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << 19))  # CAP_SYS_PTRACE is bit 19
    return False


@dataclass
class Recorder:
    """One running ``py-spy record`` writing raw collapsed stacks to ``output``."""

    process: subprocess.Popen[bytes]
    output: Path
    log: Path
    pid: int

    @classmethod
    def start(
        cls,
        binary: str,
        pid: int,
        rate: int,
        output: Path,
        *,
        idle: bool,
        gil: bool = False,
        subprocesses: bool = False,
    ) -> Recorder:
        log = output.with_name(output.name + ".log")
        command = [
            binary,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--full-filenames",
            "--nonblocking",
            "--output",
            str(output),
        ]
        command += ["--idle"] if idle else []
        command += ["--gil"] if gil else []
        command += ["--subprocesses"] if subprocesses else []
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # inherits the watcher's nice 10 and its CPUs
            )
        return cls(process, output, log, pid)

    def failed(self) -> bool:
        return self.process.poll() is not None and not self.output.exists()

    def stop(self, timeout: float = 10.0) -> None:
        """Ctrl-C makes py-spy write what it sampled; a kill loses it, so only if stuck."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def stacks(self) -> dict[tuple[str, ...], int]:
        try:
            return parse_raw(self.output.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return {}

    def why(self) -> tuple[str, str | None]:
        try:
            log = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            log = ""
        return explain(log, self.process.returncode, self.pid)

    def errors(self) -> int:
        """Samples py-spy could not read, from its closing line ("Samples: N Errors: M")."""
        try:
            log = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return 0
        for line in reversed(log.splitlines()):
            if "Errors:" in line:
                tail = line.rsplit("Errors:", 1)[1].split()
                return int(tail[0]) if tail and tail[0].isdigit() else 0
        return 0


def parse_raw(text: str) -> dict[tuple[str, ...], int]:
    """Collapsed stacks: ``a;b;c 12`` lines into {("a", "b", "c"): 12}."""
    stacks: dict[tuple[str, ...], int] = {}
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = tuple(stack.split(";"))
        stacks[frames] = stacks.get(frames, 0) + int(count)
    return stacks
