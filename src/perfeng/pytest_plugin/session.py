"""The state of one ``pytest --perfeng-bench`` run: its options, what was measured, and at
the end the perfeng-bench document and the comparison with ``--perfeng-compare``.

Loaded only when ``--perfeng-bench`` is given. Everything a measurement produces goes into an
``Outcome`` registered here *before* it starts, so an interrupted run still writes what it
measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from perfeng.bench.discovery import Benchmark
from perfeng.bench.presets import Preset, choose
from perfeng.bench.runner import Outcome
from perfeng.clock import MonotonicClock
from perfeng.errors import PerfengError
from perfeng.model.result import DocumentError
from perfeng.workflows.bench_document import load_1min

IN_PROCESS = "in-process"
WORKERS = "worker processes"
_JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Settings:
    """The plugin's options, checked."""

    preset: Preset
    out: str | None
    base_path: str | None
    base: dict[str, Any] | None
    min_effect: float
    alpha: float


def _option(config: pytest.Config, name: str) -> Any:
    return config.getoption(name)


def read_settings(config: pytest.Config) -> Settings:
    """The options, or ``pytest.UsageError`` (pytest exit status 4) with a one-line reason."""
    try:
        return _settings(config)
    except (PerfengError, DocumentError) as exc:
        raise pytest.UsageError(str(exc)) from None


def _settings(config: pytest.Config) -> Settings:
    from perfeng.model.bench import load_bench_document
    from perfeng.units import parse_duration_s, parse_fraction
    from perfeng.workflows.output import check_writable

    min_time = _option(config, "perfeng_min_time")
    preset = choose(
        _option(config, "perfeng_preset"),
        commands=False,
        processes=_option(config, "perfeng_processes"),
        min_time_s=parse_duration_s(min_time) if min_time is not None else None,
    )
    out = _option(config, "perfeng_out")
    if out:
        check_writable(out)
    base_path = _option(config, "perfeng_compare")
    base = load_bench_document(base_path) if base_path else None
    return Settings(
        preset=preset,
        out=out,
        base_path=base_path,
        base=base,
        min_effect=parse_fraction(
            _option(config, "perfeng_min_effect"), "--perfeng-min-effect", high=10.0
        ),
        alpha=_alpha(_option(config, "perfeng_alpha")),
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
        source=f"{item.nodeid.partition('[')[0]}",
        params=params,
    )


@dataclass
class BenchRun:
    """One pytest session's benchmarks, in the order they were measured."""

    settings: Settings
    argv: list[str]
    outcomes: list[Outcome] = field(default_factory=list)
    isolation: dict[str, str] = field(default_factory=dict)
    start_s: float = field(default_factory=lambda: MonotonicClock().wall_s())
    load_start: float | None = field(default_factory=load_1min)

    def start(self, item: pytest.Item, isolation: str) -> Outcome:
        """Register the benchmark of ``item`` before it is measured (partial results count)."""
        outcome = Outcome(benchmark_of(item))
        self.outcomes = [o for o in self.outcomes if o.benchmark.name != item.nodeid]
        self.outcomes.append(outcome)
        self.isolation[item.nodeid] = isolation
        return outcome

    def document(self, interrupted: bool) -> dict[str, Any]:
        from perfeng.model.bench import build_bench_document
        from perfeng.workflows.bench_document import (
            bench_metadata,
            bench_settings,
            callable_entries,
        )

        meta = bench_metadata(self.start_s, MonotonicClock().wall_s(), self.load_start, [])
        from perfeng.workflows.metadata import masked_argv

        meta["command_line"] = ["pytest", *masked_argv(self.argv)]
        extra = {name: {"isolation": how} for name, how in self.isolation.items()}
        return build_bench_document(
            metadata=meta,
            settings={**bench_settings(self.settings.preset, None), "runner": "pytest"},
            benchmarks=callable_entries(self.outcomes, meta, extra),
            interrupted=interrupted,
        )
