"""Benchmarks of Python callables and of whole commands (``perfeng bench``).

This package is also the decorator that marks a benchmark::

    from perfeng import bench

    @bench
    def sort_small():
        sorted(range(100))

    @bench(params={"n": [100, 1000]}, setup=lambda n: list(range(n))[::-1])
    def sort_reversed(data):
        sorted(data)

The module object is made callable (a ``ModuleType`` subclass) so ``perfeng.bench`` is both
the package and the decorator. Only the standard library's lightest modules load here: the
workers import this package for every process they start.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])

MARK = "__perfeng_bench__"


class BenchOptions:
    """What ``@bench(...)`` attaches to a function: its parameter grid and its setup."""

    __slots__ = ("params", "setup")

    def __init__(
        self,
        params: Mapping[str, Sequence[Any]] | None = None,
        setup: Callable[..., Any] | None = None,
    ) -> None:
        self.params = _checked_params(params)
        if setup is not None and not callable(setup):
            raise TypeError("@bench: setup must be callable")
        self.setup = setup

    def __repr__(self) -> str:
        return f"BenchOptions(params={self.params!r}, setup={self.setup!r})"


def _checked_params(params: Mapping[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError("@bench: params must be a dict of name -> list of values")
    checked = {}
    for key, values in params.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"@bench: parameter name {key!r} is not an identifier")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise TypeError(f"@bench: params[{key!r}] must be a non-empty list of values")
        checked[key] = list(values)
    return checked


@overload
def bench(func: F, /) -> F: ...


@overload
def bench(
    *,
    params: Mapping[str, Sequence[Any]] | None = None,
    setup: Callable[..., Any] | None = None,
) -> Callable[[F], F]: ...


def bench(
    func: F | None = None,
    /,
    *,
    params: Mapping[str, Sequence[Any]] | None = None,
    setup: Callable[..., Any] | None = None,
) -> F | Callable[[F], F]:
    """Mark ``func`` as a benchmark; it is returned unchanged, so it can still be called.

    ``params`` gives one benchmark per combination (``name[n=100]``). ``setup`` runs before
    each timed value, outside the timing: it is called with the parameters as keywords and
    its return value is the function's one argument. Without setup the function is called
    with the parameters as keywords (or with no argument)."""
    options = BenchOptions(params, setup)

    def mark(target: F) -> F:
        if not callable(target):
            raise TypeError("@bench marks functions")
        setattr(target, MARK, options)
        return target

    return mark if func is None else mark(func)


class _CallableModule(types.ModuleType):
    """Lets ``from perfeng import bench`` give a module that also works as ``@bench``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return bench(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["MARK", "BenchOptions", "bench"]
