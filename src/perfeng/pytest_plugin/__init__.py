"""perfeng's pytest plugin: benchmarks written as pytest tests (entry point ``pytest11``).

Off unless asked. Without ``--perfeng-bench`` the ``perfeng_bench`` fixture calls its
function once and ``@pytest.mark.perfeng_bench`` tests run once, as ordinary tests, so the
suite stays fast. With it, they are measured with ``perfeng bench``'s harness and
``--perfeng-out`` writes a perfeng-bench document (docs/bench.md, "Benchmarks inside your
pytest suite").

This module is imported by every pytest run of every user: it imports only pytest (already
loaded) and the standard library's typing; the rest loads when measuring is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from perfeng.pytest_plugin.fixture import BenchFixture
    from perfeng.pytest_plugin.session import BenchRun

MARKER = "perfeng_bench"
_RUN = pytest.StashKey["BenchRun"]()
_REPORT = pytest.StashKey["list[str]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfeng", "perfeng benchmarks (docs/bench.md)")
    group.addoption(
        "--perfeng-bench",
        action="store_true",
        help="measure perfeng_bench fixtures and @pytest.mark.perfeng_bench tests",
    )
    group.addoption("--perfeng-out", metavar="FILE", help="write the perfeng-bench document")
    group.addoption(
        "--perfeng-compare",
        metavar="BASE",
        help="compare with a perfeng-bench document; exit status 1 when a benchmark is slower",
    )
    group.addoption(
        "--perfeng-instructions",
        action="store_true",
        help="count instructions under Valgrind's callgrind instead of timing (marked tests "
        "without fixtures, in worker processes; Linux x86-64)",
    )
    group.addoption(
        "--perfeng-min-effect",
        help="with --perfeng-compare: smallest slowdown that counts (default 5%%; 1%% counted)",
    )
    group.addoption(
        "--perfeng-alpha", default="0.01", help="with --perfeng-compare: significance level"
    )
    group.addoption(
        "--perfeng-preset",
        choices=("default", "fast", "rigorous"),
        default="default",
        help="how much to measure, as perfeng bench --fast/--rigorous (default: default)",
    )
    group.addoption(
        "--perfeng-processes",
        type=int,
        metavar="N",
        help="override the preset: worker processes (in-process: rounds) per benchmark",
    )
    group.addoption(
        "--perfeng-min-time",
        metavar="DURATION",
        help="override the preset: shortest raw timing the loop count is calibrated to",
    )


_NEEDS_BENCH = (
    "perfeng_instructions",
    "perfeng_min_effect",
    "perfeng_out",
    "perfeng_compare",
    "perfeng_processes",
    "perfeng_min_time",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: time the whole test as a benchmark when pytest runs with --perfeng-bench",
    )
    if not config.getoption("perfeng_bench"):
        for name in _NEEDS_BENCH:
            if config.getoption(name) not in (None, False):
                flag = "--" + name.replace("_", "-")
                raise pytest.UsageError(f"{flag} needs --perfeng-bench")
        return
    from perfeng.pytest_plugin.session import BenchRun, read_settings

    config.stash[_RUN] = BenchRun(read_settings(config), list(config.invocation_params.args))


def _run_of(config: pytest.Config) -> BenchRun | None:
    return config.stash.get(_RUN, None)


@pytest.fixture
def perfeng_bench(request: pytest.FixtureRequest) -> BenchFixture:
    """Time a function: ``perfeng_bench(fn, *args)`` or ``perfeng_bench.pedantic(...)``."""
    from perfeng.pytest_plugin.fixture import BenchFixture

    return BenchFixture(request.node, _run_of(request.config))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A marked test, when measuring: its call is timed (and made) by the harness."""
    run = _run_of(pyfuncitem.config)
    if run is None or pyfuncitem.get_closest_marker(MARKER) is None:
        return None
    from perfeng.pytest_plugin.fixture import bench_marked

    bench_marked(run, pyfuncitem)
    return True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    """Write the document (what was measured, also when interrupted); compare with the base.
    When every test passed, a slower benchmark makes pytest's exit status 1 (tests failed)
    and an inconclusive one 6, as ``perfeng compare`` exits."""
    run = _run_of(session.config)
    if run is None:
        return
    from perfeng.pytest_plugin.report import finish

    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    lines, status = finish(run, interrupted)
    session.config.stash[_REPORT] = lines
    if status and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = status


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_REPORT, None)
    if lines:
        terminalreporter.write_sep("-", "perfeng benchmarks")
        for line in lines:
            terminalreporter.write_line(line)
