"""The environment a result was measured in (pyperf's habit: every result says where from)."""

from __future__ import annotations

import functools
import os
import platform
import re
import socket
import sys
from typing import Any

from perfeng import __version__
from perfeng.clock import utc_iso

_SECRET_HEADER = re.compile(
    r"^(\s*(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|"
    r"x-auth-token|x-access-token|token)\s*:\s*).+$",
    re.IGNORECASE,
)
MASK = "***"


_URL_PASSWORD = re.compile(r"(://[^/:@\s]*:)[^/@\s]*@")


def mask_secret(text: str) -> str:
    """Hide the value of a secret header given as 'Name: value', and URL passwords."""
    text = _SECRET_HEADER.sub(lambda m: m.group(1) + MASK, text)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)


def masked_argv(argv: list[str]) -> list[str]:
    return [mask_secret(arg) for arg in argv]


def git_commit(directory: str = ".") -> str | None:
    """The checked-out commit; one implementation, the store's (results name the same)."""
    from perfeng.store.provenance import git_commit as commit_of

    return commit_of(directory)


def git_branch(directory: str = ".") -> str | None:
    """The checked-out branch; None on a detached HEAD (as CI checkouts often are)."""
    from perfeng.store.provenance import git_branch as branch_of

    return branch_of(directory)


@functools.cache
def _static(argv: tuple[str, ...]) -> dict[str, Any]:
    """What does not change during a run (read once: git is a subprocess, so it is slow)."""
    return {
        "perfeng_version": __version__,
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "host": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu_count": os.cpu_count(),
        "command_line": ["perfeng", *masked_argv(list(argv))],
        "git_commit": git_commit(),
        "git_branch": git_branch(),
    }


def collect(start_s: float, end_s: float, argv: list[str]) -> dict[str, Any]:
    static = _static(tuple(argv))
    return {
        **{k: v for k, v in static.items() if k not in ("command_line", "git_commit")},
        "start_utc": utc_iso(start_s),
        "end_utc": utc_iso(end_s),
        "start_epoch_s": round(start_s, 6),
        "end_epoch_s": round(end_s, 6),
        "duration_s": round(end_s - start_s, 3),
        "command_line": static["command_line"],
        "git_commit": static["git_commit"],
        "event_loop": _event_loop_name(),
    }


def _event_loop_name() -> str:
    return "uvloop" if "uvloop" in sys.modules else "asyncio"
