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
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
