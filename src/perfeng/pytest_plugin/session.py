"""The state of one ``pytest --perfeng-bench`` run: its options, what was measured, and at
the end the perfeng-bench document and the comparison with ``--perfeng-compare``.

Loaded only when ``--perfeng-bench`` is given. Everything a measurement produces goes into an
``Outcome`` registered here *before* it starts, so an interrupted run still writes what it
measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from perfeng.bench.discovery import Benchmark
from perfeng.bench.presets import Preset, choose
from perfeng.bench.runner import Outcome
from perfeng.clock import MonotonicClock
from perfeng.errors import PerfengError
from perfeng.model.result import DocumentError
from perfeng.workflows.bench_document import load_1min

if TYPE_CHECKING:
    from perfeng.bench.counted import CountedOutcome

_JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Settings:
    """The plugin's options, checked. ``valgrind`` is set when counting instructions."""

    preset: Preset
    out: str | None
    base_path: str | None
    base: dict[str, Any] | None
    min_effect: float
    alpha: float
    valgrind: str | None = None
    processes: int | None = None  # --perfeng-processes as given (counting has its own sizes)


def _option(config: pytest.Config, name: str) -> Any:
    return config.getoption(name)


def read_settings(config: pytest.Config) -> Settings:
    """The options, or ``pytest.UsageError`` (pytest exit status 4) with a one-line reason."""
    try:
        return _settings(config)
    except (PerfengError, DocumentError) as exc:
        raise pytest.UsageError(str(exc)) from None


def _preset(config: pytest.Config, counting: bool) -> Preset:
    from perfeng.errors import UsageError
    from perfeng.units import parse_duration_s

    min_time = _option(config, "perfeng_min_time")
    if counting and min_time is not None:
        raise UsageError(
            "--perfeng-min-time applies to timing; --perfeng-instructions counts a fixed work"
        )
    return choose(
        _option(config, "perfeng_preset"),
        commands=False,
        processes=_option(config, "perfeng_processes"),
        min_time_s=parse_duration_s(min_time) if min_time is not None else None,
    )


def _valgrind() -> str:
    """Valgrind's path; ``UsageError`` naming this plugin's flag when it cannot count here."""
    import platform

    from perfeng.bench import callgrind
    from perfeng.errors import UsageError

    try:
        valgrind = callgrind.find_valgrind()
    except UsageError as exc:
        raise UsageError(str(exc).replace("--instructions", "--perfeng-instructions")) from None
    if platform.machine().lower() not in ("x86_64", "amd64"):
        # callgrind's client requests are issued through x86-64 machine code
        raise UsageError(
            f"--perfeng-instructions needs an x86-64 CPU (this is {platform.machine()})"
        )
    return valgrind


def _base(path: str | None, counting: bool) -> dict[str, Any] | None:
    """The base document; refused when it was counted and this run times, or the reverse."""
    from perfeng.analysis.counted_compare import is_counted
    from perfeng.errors import UsageError
    from perfeng.model.bench import load_bench_document

    if not path:
        return None
    base = load_bench_document(path)
    if is_counted(base) != counting:
        how = "counted (--instructions)" if is_counted(base) else "timed"
        flag = "without" if is_counted(base) else "with"
        raise UsageError(f"{path} is {how}: this run {flag} --perfeng-instructions cannot compare")
    return base


def _settings(config: pytest.Config) -> Settings:
    from perfeng.units import parse_fraction
    from perfeng.workflows.output import check_writable

    counting = bool(_option(config, "perfeng_instructions"))
    preset = _preset(config, counting)
    out = _option(config, "perfeng_out")
    if out:
        check_writable(out)
    base_path = _option(config, "perfeng_compare")
    # perfeng compare's defaults: 1 % for counts (no noise hides a change), 5 % for times
    min_effect = _option(config, "perfeng_min_effect") or ("1%" if counting else "5%")
    return Settings(
        preset=preset,
        out=out,
        base_path=base_path,
        base=_base(base_path, counting),
        min_effect=parse_fraction(min_effect, "--perfeng-min-effect", high=10.0),
        alpha=_alpha(_option(config, "perfeng_alpha")),
        valgrind=_valgrind() if counting else None,
        processes=_option(config, "perfeng_processes"),
    )


def _alpha(text: str) -> float:
    from perfeng.errors import UsageError
    from perfeng.units import parse_fraction

    alpha = parse_fraction(text, "--perfeng-alpha")
    if not 0 < alpha < 1:
        raise UsageError(f"invalid --perfeng-alpha {text!r}: must be between 0 and 1, e.g. 0.01")
    return alpha


def _json_value(value: Any) -> Any:
    return value if isinstance(value, _JSON_SCALARS) else repr(value)


def benchmark_of(item: pytest.Item) -> Benchmark:
    """The benchmark a test measures: named by its node id, parameters included."""
    callspec = getattr(item, "callspec", None)
    params = {k: _json_value(v) for k, v in callspec.params.items()} if callspec else {}
    function = getattr(item, "originalname", item.name)
    path = str(item.path)
    return Benchmark(
        name=item.nodeid,
        file=path,
        function=function,
        index=None,
        source=item.nodeid.partition("[")[0],
        params=params,
    )


@dataclass
class BenchRun:
    """One pytest session's benchmarks, in the order they were measured: timed ``outcomes``,
    or with ``--perfeng-instructions`` the ``counted`` ones and the names left ``uncounted``."""

    settings: Settings
    argv: list[str]
    outcomes: list[Outcome] = field(default_factory=list)
    isolation: dict[str, str] = field(default_factory=dict)
    counted: list[tuple[Benchmark, CountedOutcome]] = field(default_factory=list)
    uncounted: list[str] = field(default_factory=list)
    start_s: float = field(default_factory=lambda: MonotonicClock().wall_s())
    load_start: float | None = field(default_factory=load_1min)

    @property
    def measured(self) -> bool:
        return bool(self.outcomes or self.counted)

    def start(self, item: pytest.Item, isolation: str) -> Outcome:
        """Register the benchmark of ``item`` before it is measured (partial results count)."""
        outcome = Outcome(benchmark_of(item))
        self.outcomes = [o for o in self.outcomes if o.benchmark.name != item.nodeid]
        self.outcomes.append(outcome)
        self.isolation[item.nodeid] = isolation
        return outcome

    def document(self, interrupted: bool) -> dict[str, Any]:
        from perfeng.model.bench import build_bench_document
        from perfeng.workflows.bench_document import bench_metadata, calibration_of
        from perfeng.workflows.metadata import masked_argv

        meta = bench_metadata(self.start_s, MonotonicClock().wall_s(), self.load_start, [])
        meta["command_line"] = ["pytest", *masked_argv(self.argv)]
        settings, entries = self._measured(meta)
        return build_bench_document(
            metadata=meta,
            settings={**settings, "runner": "pytest"},
            benchmarks=entries,
            interrupted=interrupted,
            calibration=calibration_of(self.outcomes),
        )

    def _measured(self, meta: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The settings and the entries, timed or counted."""
        if self.settings.valgrind is not None:
            from perfeng.pytest_plugin.counting import counted_entries, counted_settings

            return counted_settings(self.settings), counted_entries(self.counted)
        from perfeng.workflows.bench_document import bench_settings, callable_entries

        extra = {name: {"isolation": how} for name, how in self.isolation.items()}
        return bench_settings(self.settings.preset, None), callable_entries(
            self.outcomes, meta, extra
        )
