"""Importing a benchmark file and building the call to time. Shared by the parent (to list
benchmarks) and every worker, so it imports only what a fresh interpreter already has or
gets cheaply: each worker process pays for its imports before it measures anything."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from perfeng.bench import MARK, BenchOptions
from perfeng.errors import ConfigError

_loaded: dict[str, types.ModuleType] = {}
_CO_COROUTINE = 0x80  # code flag of an ``async def`` (read directly: inspect is slow to import)


def one_line(exc: BaseException) -> str:
    """An exception as one line: ``Type: message`` (a syntax error with its line)."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_module(file: str) -> types.ModuleType:
    """Import a benchmark file by path (once per process); its folder goes first on sys.path
    so it can import its neighbours. Any failure becomes a one-line ``ConfigError``."""
    path = os.path.abspath(file)
    if path in _loaded:
        return _loaded[path]
    stem = os.path.splitext(os.path.basename(path))[0]
    name = f"_perfeng_bench_{len(_loaded)}_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{file}: cannot import (not a Python file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(path))
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # the user's code may raise anything, SystemExit included
        del sys.modules[name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ConfigError(f"{file}: cannot import: {one_line(exc)}") from None
    _loaded[path] = module
    return module


def options_of(obj: Any) -> BenchOptions | None:
    options = getattr(obj, MARK, None)
    return options if isinstance(options, BenchOptions) else None


def bench_functions(module: types.ModuleType) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Functions defined in ``module`` (not imported into it), in definition order: those
    marked with ``@bench`` and plain functions named ``bench_*``."""
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        marked = options_of(obj) is not None
        if marked or (isinstance(obj, types.FunctionType) and name.startswith("bench_")):
            yield name, obj


def combinations(options: BenchOptions | None) -> list[dict[str, Any]]:
    """Every combination of the parameter grid, the first parameter varying slowest."""
    if options is None or not options.params:
        return [{}]
    keys = list(options.params)
    grid = itertools.product(*options.params.values())
    return [dict(zip(keys, combo, strict=True)) for combo in grid]


def prepare(file: str, function: str, index: int | None) -> Callable[[], Callable[[], Any]]:
    """For a worker: a function that runs the setup (if any) and returns the zero-argument
    call to time. Called again before each timed value, so each value gets fresh data."""
    module = load_module(file)
    func: Callable[..., Any] | None = getattr(module, function, None)
    if func is None or not callable(func):
        raise ConfigError(f"{file}: no function {function}")
    code = getattr(func, "__code__", None)
    if code is not None and code.co_flags & _CO_COROUTINE:
        raise ConfigError(
            f"{function} is async: benchmark a plain function (one calling asyncio.run)"
        )
    options = options_of(func)
    combo = combinations(options)[index or 0]
    setup = options.setup if options else None

    def call() -> Callable[[], Any]:
        # partial, not a lambda: it calls from C, adding no Python frame to what is timed
        if setup is not None:
            return functools.partial(func, setup(**combo))
        if combo:
            return functools.partial(func, **combo)
        return func

    return call
