"""Presets and the terminal table."""

from __future__ import annotations

from typing import Any

import pytest

from perfeng.bench.presets import choose
from perfeng.bench.table import format_seconds, render
from perfeng.errors import UsageError
from perfeng.model.bench import bench_entry, build_bench_document, empty_stats


def test_presets_scale_the_work() -> None:
    fast, default, rigorous = (choose(n, commands=False) for n in ("fast", "default", "rigorous"))
    work = [p.processes * (p.values + p.warmups) * p.min_time_s for p in (fast, default, rigorous)]
    assert work[0] < work[1] / 4 and work[2] > work[1]
    assert (default.processes, default.values, default.warmups) == (20, 3, 1)
    cmd = [choose(n, commands=True) for n in ("fast", "default", "rigorous")]
    assert cmd[0].min_time_s < cmd[1].min_time_s < cmd[2].min_time_s


def test_overrides_and_their_checks() -> None:
    preset = choose("fast", commands=False, processes=3, values=4, warmups=0, min_time_s=0.01)
    assert (preset.name, preset.processes, preset.values, preset.warmups) == ("fast", 3, 4, 0)
    assert preset.min_time_s == 0.01
    with pytest.raises(UsageError, match="--processes 0"):
        choose("default", commands=False, processes=0)
    with pytest.raises(UsageError, match="--warmups -1"):
        choose("default", commands=True, warmups=-1)
    with pytest.raises(UsageError, match="unknown preset"):
        choose("slow", commands=True)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1.5, "1.5 s"), (0.0123456, "12.35 ms"), (14.2e-6, "14.2 µs"), (3e-10, "0.3 ns"), (None, "-")],
)
def test_format_seconds(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text


def _entry(name: str, median: float, **kwargs: Any) -> dict[str, Any]:
    stats = {
        "n": 6,
        "median": median,
        "median_ci_low": median * 0.99,
        "median_ci_high": median * 1.02,
        "confidence": 0.95,
        "mean": median,
        "stdev": median / 10,
        "min": median * 0.9,
        "max": median * 2,
        "mad": median / 20,
        "outliers": 1,
    }
    return bench_entry(name=name, kind="callable", source="f.py::" + name, stats=stats, **kwargs)


def test_table_rows_errors_and_warnings() -> None:
    busy = "machine busy: load average 3.00 on 2 CPUs at the start"
    entries = [
        _entry("bench_a", 14.2e-6, values=[1.0], warnings=[busy, "spread is large"]),
        _entry("bench_b", 0.25, values=[1.0], warnings=[busy]),
        bench_entry(
            name="bench_c",
            kind="callable",
            source="f.py::bench_c",
            stats=empty_stats(0.95),
            error="ValueError: no",
        ),
    ]
    document = build_bench_document(
        metadata={},
        settings={
            "preset": "default",
            "processes": 1,
            "values_per_process": 1,
            "warmups": 0,
            "min_time_s": 0.1,
        },
        benchmarks=entries,
    )
    lines = render(document).splitlines()
    assert lines[0].split()[:3] == ["benchmark", "median", "(CI)"]
    assert "14.2 µs (14.06–14.48)" in lines[1] and lines[1].rstrip().endswith("6")
    assert "250 ms" in lines[2] and "failed" in lines[3]
    assert "error: bench_c: ValueError: no" in lines
    assert "warning: bench_a: spread is large" in lines
    assert lines.count(f"warning: {busy}") == 0  # not shared by bench_c
    assert f"warning: bench_a, bench_b: {busy}" in lines
