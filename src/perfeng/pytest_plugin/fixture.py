"""The ``perfeng_bench`` fixture and the timing of marked tests.

Off (no ``--perfeng-bench``): the fixture calls the function once and returns its result,
and a marked test runs once, as an ordinary test.

On: the fixture times the function in the test's own process: the closure a test builds
(fixtures, local data) cannot be shipped to a fresh process. A test marked
``@pytest.mark.perfeng_bench`` that takes no fixture and no parameter is a plain module-level
function, so it runs in fresh worker processes as ``perfeng bench`` runs a benchmark file;
any other marked test is timed in-process, with its fixtures set up once. The document says
which, per benchmark (``"isolation"``). Counting instructions: ``pytest_plugin.counting``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfeng.bench.inprocess import Setup
    from perfeng.bench.runner import Outcome
    from perfeng.pytest_plugin.session import BenchRun


# The document's per-benchmark "isolation": where a benchmark's calls ran. (This module loads
# whenever a test asks for the fixture, measuring or not: it imports nothing heavier.)
IN_PROCESS = "in-process"
WORKERS = "worker processes"
_ASYNC = (
    "perfeng_bench times plain functions and this one returned a coroutine: benchmark a "
    "function that runs it (asyncio.run)"
)


class BenchFixture:
    """``perfeng_bench(fn, *args, **kwargs)`` and ``perfeng_bench.pedantic(...)``: one
    benchmark per test, named by the test's node id."""

    def __init__(self, item: pytest.Item, run: BenchRun | None) -> None:
        self._item = item
        self._run = run
        self._used = False

    @property
    def enabled(self) -> bool:
        """True when this pytest run measures (``--perfeng-bench``)."""
        return self._run is not None

    def _claim(self) -> None:
        if self._used:
            pytest.fail(
                f"{self._item.nodeid}: perfeng_bench used twice in one test (one benchmark "
                "per test; parametrize the test for more)",
                pytrace=False,
            )
        self._used = True

    def _timing(self) -> BenchRun | None:
        """The run when it times. When it counts instructions, this benchmark cannot be
        counted (a fixture's function stays in this process): it is listed as not counted."""
        if self._run is not None and self._run.settings.valgrind is not None:
            self._run.uncounted.append(self._item.nodeid)
            return None
        return self._run

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Time ``fn(*args, **kwargs)``: calibrated loop count, warm-ups, then the values
        (``perfeng bench``'s preset). Returns the result of one call, made before timing."""
        self._claim()
        result = fn(*args, **kwargs)
        if isinstance(result, Coroutine):
            result.close()
            pytest.fail(_ASYNC, pytrace=False)
        run = self._timing()
        if run is None:
            return result
        from functools import partial

        from perfeng.bench.inprocess import measure_calibrated
        from perfeng.clock import MonotonicClock

        outcome = run.start(self._item, IN_PROCESS)
        target = partial(fn, *args, **kwargs)
        now = MonotonicClock().now_ns
        _guarded(outcome, lambda: measure_calibrated(target, outcome, run.settings.preset, now))
        return result

    def pedantic(
        self,
        target: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        setup: Setup | None = None,
        rounds: int = 1,
        warmup_rounds: int = 0,
        iterations: int = 1,
    ) -> Any:
        """pytest-benchmark's manual mode: exactly ``rounds`` timed rounds (after
        ``warmup_rounds``) of ``iterations`` calls each; ``setup`` before each round may
        return ``(args, kwargs)``. Off, ``target`` runs once (after ``setup``)."""
        self._claim()
        _check_pedantic(setup, rounds, warmup_rounds, iterations)
        run = self._timing()
        if run is None:
            prepared = setup() if setup is not None else None
            args, kwargs = prepared if prepared is not None else (args, kwargs)
            return target(*args, **(kwargs or {}))
        from perfeng.bench.inprocess import measure_rounds
        from perfeng.clock import MonotonicClock

        outcome = run.start(self._item, IN_PROCESS)
        return _guarded(
            outcome,
            lambda: measure_rounds(
                target, outcome, args=args, kwargs=kwargs or {}, setup=setup, rounds=rounds,
                iterations=iterations, warmup_rounds=warmup_rounds,
                now=MonotonicClock().now_ns,
            ),
        )  # fmt: skip


def _check_pedantic(setup: Setup | None, rounds: int, warmup_rounds: int, iterations: int) -> None:
    if rounds < 1 or iterations < 1 or warmup_rounds < 0:
        raise ValueError("pedantic: rounds and iterations must be at least 1, warmup_rounds 0+")
    if setup is not None and iterations > 1:
        # setup prepares one round's data, which more than one call could consume
        raise ValueError("pedantic: a setup function takes iterations=1")


def _guarded(outcome: Outcome, measure: Callable[[], Any]) -> Any:
    """Run ``measure``; when the benchmark raises, record why and let the test fail."""
    from perfeng.bench.loader import one_line

    try:
        return measure()
    except Exception as exc:
        outcome.fail(one_line(exc))
        raise


def bench_marked(run: BenchRun, item: pytest.Function) -> None:
    """Time a marked test's call, in worker processes when it takes nothing from pytest."""
    if "perfeng_bench" in item.fixturenames:
        pytest.fail(
            f"{item.nodeid}: marked @pytest.mark.perfeng_bench and using the perfeng_bench "
            "fixture: use one or the other",
            pytrace=False,
        )
    from functools import partial
    from inspect import iscoroutinefunction

    if iscoroutinefunction(item.obj):
        pytest.fail(f"{item.nodeid}: {_ASYNC}", pytrace=False)
    names = item._fixtureinfo.argnames
    target = partial(item.obj, **{name: item.funcargs[name] for name in names})
    if run.settings.valgrind is not None:
        _count_marked(run, item, target)
        return
    if _plain(item) and _in_workers(run, item):
        return
    from perfeng.bench.inprocess import measure_calibrated
    from perfeng.clock import MonotonicClock

    outcome = run.start(item, IN_PROCESS)
    _guarded(
        outcome,
        lambda: measure_calibrated(target, outcome, run.settings.preset, MonotonicClock().now_ns),
    )


def _count_marked(run: BenchRun, item: pytest.Function, target: Callable[[], Any]) -> None:
    """Counted in callgrind workers when the test allows; otherwise run once, not counted."""
    from perfeng.pytest_plugin.counting import count_in_workers

    if _plain(item) and count_in_workers(run, item):
        return
    run.uncounted.append(item.nodeid)
    target()


def _plain(item: pytest.Function) -> bool:
    """A module-level test function that takes nothing from pytest (no fixture, autouse
    included, no parameter): a worker process can import and call it alone."""
    return not item.fixturenames and getattr(item, "callspec", None) is None and item.cls is None


def _in_workers(run: BenchRun, item: pytest.Function) -> bool:
    """Measure ``item`` as ``perfeng bench`` measures a benchmark file. False when a worker
    cannot import the test file on its own (it needs pytest's import path): then the caller
    measures in-process instead."""
    from perfeng.bench.runner import run_callables

    outcome = run.start(item, WORKERS)
    [done], interrupted = run_callables([outcome.benchmark], run.settings.preset)
    if interrupted:
        _copy(done, outcome)
        raise KeyboardInterrupt
    if done.error is not None and done.error.startswith(f"{item.path}: cannot import"):
        return False
    _copy(done, outcome)
    if done.error is not None:
        pytest.fail(f"the benchmark failed in a worker process: {done.error}", pytrace=False)
    return True


def _copy(source: Outcome, target: Outcome) -> None:
    target.loops = source.loops
    target.values[:] = source.values
    target.warmups[:] = source.warmups
    target.calibration[:] = source.calibration
    target.error = source.error
