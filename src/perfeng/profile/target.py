"""The service under test when perfeng starts it (``--target-cmd``): start it without a shell
(unless asked), wait until its port accepts connections, and stop it afterwards (SIGTERM to
its process group, SIGKILL after a grace). Its output goes to a log file."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from perfeng.errors import UsageError

POLL_S = 0.05


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return f": {lines[-1].strip()[:200]}" if lines else ""


@dataclass
class TargetProcess:
    process: subprocess.Popen[bytes]
    command: str
    log: Path
    exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(
        cls, command: str, *, shell: bool, log: Path, host: str, port: int, timeout_s: float
    ) -> TargetProcess:
        if port_open(host, port):
            raise UsageError(
                f"{host}:{port} already accepts connections before --target-cmd started: "
                "another process is listening there; stop it or use --target-pid"
            )
        args: str | list[str] = command if shell else shlex.split(command)
        if not args:
            raise UsageError("--target-cmd is empty")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            try:
                process = subprocess.Popen(
                    args,
                    shell=shell,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own group: stopped as a whole, after us
                )
            except OSError as exc:
                raise UsageError(
                    f"--target-cmd: cannot start {command!r}: {exc.strerror}"
                ) from None
        target = cls(process, command, log)
        target.wait_for_port(host, port, timeout_s)
        return target

    def wait_for_port(self, host: str, port: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.exit_code = code
                raise UsageError(
                    f"--target-cmd exited with code {code} before {host}:{port} accepted "
                    f"connections (its output is in {self.log}{_tail(self.log)})"
                )
            if port_open(host, port):
                return
            time.sleep(POLL_S)
        self.stop()
        raise UsageError(
            f"--target-cmd did not open {host}:{port} within {timeout_s:g}s (its output is in "
            f"{self.log}{_tail(self.log)}); is the URL's port the one it listens on?"
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_s: float = 10.0) -> int | None:
        """SIGTERM to the whole group, then SIGKILL after ``grace_s``; its exit code."""
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        _signal_group(self.process.pid, signal.SIGKILL)  # children left behind by the leader
        self.exit_code = self.process.returncode
        return self.exit_code


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
