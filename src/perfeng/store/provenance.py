"""Where a stored result comes from: git commit and branch, host, user.

Read from the document's metadata when it says, else from the working directory. Git is a
subprocess, so each answer is read once per process and folder."""

from __future__ import annotations

import functools
import getpass
import os
import re
import socket
import subprocess
from typing import Any

from perfeng import __version__


def _git(directory: str, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and text else None


def git_commit(directory: str = ".") -> str | None:
    return _git_commit(os.path.abspath(directory))


def git_branch(directory: str = ".") -> str | None:
    """The checked-out branch; None outside a work tree and on a detached HEAD."""
    return _git_branch(os.path.abspath(directory))


@functools.cache
def _git_commit(directory: str) -> str | None:
    commit = _git(directory, "rev-parse", "HEAD")
    return commit if commit and re.fullmatch(r"[0-9a-f]{40}", commit) else None


@functools.cache
def _git_branch(directory: str) -> str | None:
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    return None if branch in (None, "HEAD") else branch


def user_name() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no $USER (some containers)
        return None


def provenance(metadata: dict[str, Any]) -> dict[str, str | None]:
    """The columns stored beside a document: git_commit, branch, host, user, perfeng_version."""

    def text(key: str) -> str | None:
        value = metadata.get(key)
        return str(value) if value not in (None, "") else None

    return {
        "git_commit": text("git_commit") or git_commit(),
        "branch": text("git_branch") or git_branch(),
        "host": text("host") or socket.gethostname(),
        "user": user_name(),
        "perfeng_version": text("perfeng_version") or __version__,
    }
