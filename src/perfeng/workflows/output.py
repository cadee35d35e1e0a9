"""Writing result files so that nothing measured is lost, even on a bad path."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from perfeng.errors import UsageError


def write_json(path_text: str, document: dict[str, Any]) -> None:
    """Atomic write: a reader never sees half a file."""
    path = Path(path_text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1)
            out.write("\n")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result is an ordinary file
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def check_writable(path_text: str) -> None:
    """Fail before a run, not after it, when its result file cannot be written."""
    path = Path(path_text)
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # write_json creates the missing folders
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: {folder} is not a writable folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
