"""A small Chrome DevTools Protocol client over ``--remote-debugging-pipe``.

Chromium reads commands from file descriptor 3 and writes answers and events to descriptor 4,
each message JSON ended by a NUL byte (what Puppeteer and Playwright use): no port, no
websocket, no browser download. ``Messages`` is the sans-IO part (ids, framing, answers and
events); ``Browser`` starts Debian's ``chromium`` with a fresh profile, waits with deadlines
and always reaps the process.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perfeng.errors import ExitCode, PerfengError

CHROMIUM_ENV = "PERFENG_CHROMIUM"  # another browser binary (tests point it at nothing)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    # Chromium's own traffic (updates, sync, field trials) fails, many times over, on a closed
    # network, and would share the page's bandwidth on an open one.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class BrowserMissing(PerfengError):
    exit_code = ExitCode.USAGE


class BrowserError(PerfengError):
    """The browser died, answered a command with an error, or did not answer in time."""

    exit_code = ExitCode.INTERNAL


@dataclass
class Messages:
    """CDP framing without IO: ``command`` gives the bytes to write, ``feed`` takes bytes
    read and sorts them into ``answers`` (by id) and ``events`` (in order)."""

    next_id: int = 1
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    _buffer: bytes = b""

    def command(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> tuple[int, bytes]:
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self.next_id += 1
        return message["id"], json.dumps(message).encode() + b"\0"

    def feed(self, data: bytes) -> None:
        self._buffer += data
        *whole, self._buffer = self._buffer.split(b"\0")
        for raw in whole:
            message = json.loads(raw)
            if "id" in message:
                self.answers[message["id"]] = message
            else:
                self.events.append(message)


def chromium_path() -> str:
    """The browser to run: $PERFENG_CHROMIUM, else Debian's ``chromium`` on PATH."""
    wanted = os.environ.get(CHROMIUM_ENV)
    found = shutil.which(wanted or "chromium") or shutil.which(wanted or "chromium-browser")
    if found is None or (wanted and not os.access(found, os.X_OK)):
        raise BrowserMissing(
            f"no Chromium found ({wanted or 'chromium'}): install it with `make system-deps`"
            " (Debian's chromium package)"
        )
    return found


SOCKET_TMPDIR_MAX = 60  # + "/.org.chromium.Chromium.XXXXXX/SingletonSocket" <= 107 bytes


def _browser_env() -> dict[str, str] | None:
    """Chromium makes its singleton socket under TMPDIR, and a Unix socket's path holds at
    most 107 bytes: under a deep TMPDIR (a test's folder, macOS's /var/folders/...) Chromium
    exits at start. It gets /tmp then; the profile stays where TMPDIR says."""
    if len(tempfile.gettempdir()) <= SOCKET_TMPDIR_MAX or not os.path.isdir("/tmp"):
        return None
    return {**os.environ, "TMPDIR": "/tmp"}


class Browser:
    """One headless Chromium with a profile of its own, driven over the pipe."""

    def __init__(self, executable: str, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self.messages = Messages()
        self.profile = tempfile.mkdtemp(prefix="perfeng-chromium.")
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def descriptors() -> None:  # in the child: the pipe ends become 3 and 4
            a, b = os.dup(to_browser), os.dup(from_browser)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        try:
            self.process = subprocess.Popen(
                [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                preexec_fn=descriptors,
                env=_browser_env(),
                close_fds=False,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its renderers and helpers go with it when it is killed
            )
        except OSError as exc:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise BrowserMissing(f"cannot start {executable}: {exc.strerror or exc}") from None
        finally:
            os.close(to_browser)
            os.close(from_browser)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout_s: float = 10.0,
    ) -> dict[str, Any]:
        """Send a command and wait for its answer (events read meanwhile are kept)."""
        ident, data = self.messages.command(method, params, session)
        try:
            os.write(self._write, data)
        except OSError:
            raise BrowserError(f"the browser exited before {method}") from None
        deadline = self.now() + timeout_s
        while ident not in self.messages.answers:
            if not self.pump(deadline - self.now()):
                raise BrowserError(f"no answer to {method} within {timeout_s:g} s")
        answer = self.messages.answers.pop(ident)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message', answer['error'])}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def pump(self, wait_s: float) -> bool:
        """Read what the browser sent within ``wait_s``; False when nothing came."""
        if wait_s <= 0:
            return False
        ready, _, _ = select.select([self._read], [], [], wait_s)
        if not ready:
            return False
        data = os.read(self._read, 1 << 20)
        if not data:
            raise BrowserError("the browser exited")
        self.messages.feed(data)
        return True

    def take_events(self) -> list[dict[str, Any]]:
        events, self.messages.events = self.messages.events, []
        return events

    def close(self) -> None:
        """Ask the browser to quit, then make sure: the process group is killed and reaped."""
        try:
            _, data = self.messages.command("Browser.close")
            os.write(self._write, data)
            self.process.wait(3)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            for fd in (self._read, self._write):
                with contextlib.suppress(OSError):
                    os.close(fd)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
