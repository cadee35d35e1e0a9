"""Finding benchmarks: ``bench_*`` functions in ``bench_*.py`` files and ``@bench`` functions.

The parent process imports the files to list the benchmarks; each worker imports the one file
again (``perfeng.bench.loader``) and looks its benchmark up by function name and parameter
combination index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfeng.bench.loader import bench_functions, combinations, load_module, options_of
from perfeng.errors import UsageError

_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv"}
_JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Benchmark:
    """One benchmark to run: a function, and its parameter combination if it has params."""

    name: str
    file: str  # absolute path the worker imports
    function: str
    index: int | None  # parameter combination, None without params
    source: str  # "file.py::function" as shown to the user
    params: dict[str, Any] = field(default_factory=dict)  # JSON-able form, for the document


def find_files(path: Path) -> list[Path]:
    """A file is taken whatever its name; a directory gives its ``bench_*.py`` files."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"{path}: no such file or directory")
    found = []
    for candidate in sorted(path.rglob("bench_*.py")):
        parts = candidate.relative_to(path).parts[:-1]
        if not any(p.startswith(".") or p in _SKIP_DIRS for p in parts):
            found.append(candidate)
    return found


def _label(value: Any) -> str:
    return str(value) if isinstance(value, _JSON_SCALARS) else repr(value)


def _json_value(value: Any) -> Any:
    return value if isinstance(value, _JSON_SCALARS) else repr(value)


def _shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def benchmarks_in(path: Path) -> list[Benchmark]:
    """Every benchmark in one file, each parameter combination on its own."""
    module = load_module(str(path))
    shown = _shown_path(path)
    found = []
    for function, obj in bench_functions(module):
        combos = combinations(options_of(obj))
        for index, combo in enumerate(combos):
            label = ",".join(f"{k}={_label(v)}" for k, v in combo.items())
            found.append(
                Benchmark(
                    name=f"{function}[{label}]" if combo else function,
                    file=str(path.resolve()),
                    function=function,
                    index=index if combo else None,
                    source=f"{shown}::{function}",
                    params={k: _json_value(v) for k, v in combo.items()},
                )
            )
    return found


def _unique(benchmarks: list[Benchmark]) -> list[Benchmark]:
    """Names that repeat across files are qualified by their file, so each name is unique."""
    counts: dict[str, int] = {}
    for b in benchmarks:
        counts[b.name] = counts.get(b.name, 0) + 1
    return [
        b
        if counts[b.name] == 1
        else Benchmark(
            f"{b.source.rpartition('::')[0]}::{b.name}",
            b.file,
            b.function,
            b.index,
            b.source,
            b.params,
        )
        for b in benchmarks
    ]


def discover(path: Path, pattern: str | None = None) -> list[Benchmark]:
    """All benchmarks under ``path`` whose name contains ``pattern`` (case-insensitive, like
    pytest's ``-k`` substring match). ``UsageError`` when none is left."""
    files = find_files(path)
    if not files:
        raise UsageError(f"{path}: no bench_*.py files found")
    found = _unique([b for file in files for b in benchmarks_in(file)])
    if not found:
        raise UsageError(f"{path}: no benchmarks found (bench_* functions or @bench)")
    if pattern:
        found = [b for b in found if pattern.lower() in b.name.lower()]
        if not found:
            raise UsageError(f"no benchmark name contains {pattern!r} (-k)")
    return found
