"""The pure parts of ``perfeng bench --instructions``: callgrind dumps, the cycle estimate,
determinism, the counted comparison, the document's rows in the store and in budgets, and
the runners with their process boundary replaced (the real thing: test_bench_counted_cli)."""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from typing import Any

import pytest

from perfeng.analysis.counted import (
    compare_counts,
    determinism_warning,
    estimated_cycles,
    spread,
)
from perfeng.analysis.counted_compare import compare_counted_benchmarks
from perfeng.analysis.result_compare import as_dict, compare_benchmarks
from perfeng.bench import callgrind
from perfeng.bench.command import parse_command
from perfeng.bench.counted import CountedRun, count_callables, count_commands, subtract
from perfeng.bench.discovery import Benchmark
from perfeng.bench.table import render
from perfeng.errors import UsageError
from perfeng.gates.budgets import parse_budget
from perfeng.model.bench import build_bench_document, check_bench_document
from perfeng.store.metrics import flatten
from perfeng.workflows.bench_counted import counted_entry
from tests.store_samples import bench_document

DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
summary: 18446744073709537552 1 1 1 1 1 1 1 1
fn=(1) main
3 14629 4555 2448 354 118 5 76 71 0
totals: 14629 4555 2448 354 118 5 76 71 0
"""


def events(ir: float, **others: float) -> dict[str, float]:
    found = dict.fromkeys(callgrind.EVENTS, 0.0)
    found.update(Ir=ir, **others)
    return found


def counted_document(
    values: Sequence[float] = (1000.0, 1000.0, 1000.0), name: str = "bench_sort"
) -> dict[str, Any]:
    """A counted document whose one benchmark has these instructions per call (no misses,
    so est_cycles equal the instructions)."""
    from perfeng.bench.counted import CountedOutcome

    outcome = CountedOutcome(name, loops=10, values=[events(v) for v in values])
    entry = counted_entry(outcome, kind="callable", source=f"bench.py::{name}")
    settings = {"preset": "fast", "processes": 1, "values_per_process": 3, "warmups": 1}
    return build_bench_document(
        metadata={"host": "h"}, settings={**settings, "min_time_s": None}, benchmarks=[entry]
    )


# ---------------------------------------------------------------- callgrind dumps


def test_a_dump_gives_its_totals_not_its_wrapped_summary() -> None:
    counts = callgrind.parse_totals(DUMP)
    expected = (14629, 4555, 2448, 354, 118, 5, 76, 71, 0)
    assert counts == dict(zip(callgrind.EVENTS, expected, strict=True))


def test_events_a_dump_lacks_count_zero_and_a_non_dump_is_refused() -> None:
    counts = callgrind.parse_totals("events: Ir\ntotals: 42\n")
    assert counts["Ir"] == 42 and counts["DLmw"] == 0
    with pytest.raises(ValueError, match="not a callgrind dump"):
        callgrind.parse_totals("hello\n")


def test_per_call_subtracts_the_window_and_divides_by_the_loops() -> None:
    raw = [{"Ir": 10_100, "Dr": 50}]
    assert callgrind.per_call(raw, {"Ir": 100, "Dr": 60}, 100)[0]["Ir"] == 100.0
    assert callgrind.per_call(raw, {"Ir": 100, "Dr": 60}, 100)[0]["Dr"] == 0.0  # floored


def test_the_loop_count_aims_at_two_million_instructions_within_bounds() -> None:
    assert callgrind.loops_for(20_000) == 100
    assert callgrind.loops_for(10**9) == 1
    assert callgrind.loops_for(1) == callgrind.MAX_LOOPS
    assert callgrind.loops_for(0) == callgrind.MAX_LOOPS


def test_dump_files_are_grouped_by_process(tmp_path: Any) -> None:
    for name in ("callgrind.out.10.1", "callgrind.out.10.2", "callgrind.out.11", "other"):
        (tmp_path / name).write_text("")
    found = callgrind.dump_files(str(tmp_path))
    assert sorted(found) == [10, 11] and len(found[10]) == 2


# ---------------------------------------------------------------- the analysis


def test_estimated_cycles_follow_the_published_formula() -> None:
    # 1000 refs, 100 L1 misses of which 10 go to RAM: 900 + 5 x 90 + 35 x 10
    found = events(600, Dr=300, Dw=100, I1mr=40, D1mr=50, D1mw=10, ILmr=2, DLmr=5, DLmw=3)
    assert estimated_cycles(found) == 900 + 5 * 90 + 35 * 10


def test_spread_and_the_determinism_warning() -> None:
    assert spread([100.0, 100.0, 100.0]) == 0.0
    assert spread([99.0, 100.0, 101.0]) == pytest.approx(0.02)
    assert determinism_warning([1000.0, 1000.5], "instructions") is None  # 0.05 %
    warning = determinism_warning([1000.0, 1002.0], "instructions")
    assert warning is not None and "0.20%" in warning


def test_a_change_above_one_percent_counts_without_any_noise_test() -> None:
    base = [1000.0, 1000.0]
    assert compare_counts(base, [1020.0, 1020.0]).verdict == "slower"
    assert compare_counts(base, [980.0]).verdict == "faster"
    assert compare_counts(base, [1009.0]).verdict == "no change"
    assert compare_counts(base, [1009.0], min_effect=0.005).verdict == "slower"


def test_a_non_deterministic_benchmark_must_move_beyond_its_spread() -> None:
    base, head = [1000.0, 1030.0, 1015.0], [1040.0, 1050.0, 1045.0]  # 3 % + 1 % spread
    result = compare_counts(base, head)
    assert not result.deterministic and result.spread == pytest.approx(0.03 / 1.015 + 0.01 / 1.045)
    assert result.verdict == "no change"  # +3.0 % < 3.9 % of spreads
    assert compare_counts(base, [1100.0, 1101.0]).verdict == "slower"


def test_counted_documents_compare_instructions_and_cycles() -> None:
    comparison = compare_benchmarks(
        counted_document(), counted_document([1020.0] * 3), min_effect=0.01, alpha=0.01
    )
    assert [(r.metric, r.verdict) for r in comparison.rows] == [
        ("instructions", "slower"),
        ("est_cycles", "slower"),
    ]
    assert comparison.worse
    row = as_dict(comparison)["rows"][0]
    assert row["p_value"] is None and row["shift"] == pytest.approx(0.02)


def test_a_timed_document_is_not_compared_with_a_counted_one() -> None:
    with pytest.raises(ValueError, match="counted"):
        compare_counted_benchmarks(
            bench_document(seed=1, names=("bench_sort",)),
            counted_document(),
            min_effect=0.01,
            alpha=0.01,
        )


def test_non_determinism_is_said_in_the_comparison() -> None:
    comparison = compare_benchmarks(
        counted_document([1000.0, 1010.0, 1005.0]), counted_document(), min_effect=0.01, alpha=0.01
    )
    assert any("not deterministic" in w for w in comparison.warnings)


# ---------------------------------------------------------------- document, store, budgets


def test_the_counted_document_is_valid_and_keeps_its_unit() -> None:
    document = counted_document()
    check_bench_document(document, "counted.json")
    entry = document["benchmarks"][0]
    assert entry["unit"] == "instructions"
    assert entry["est_cycles"]["stats"]["median"] == 1000.0
    assert entry["events"]["Ir"] == 1000.0


def test_the_store_keeps_counts_apart_from_seconds() -> None:
    rows = {(n, s): v for n, s, v in flatten(counted_document())}
    assert rows == {("bench_sort", "instructions"): 1000.0, ("bench_sort", "est_cycles"): 1000.0}


def test_counted_figures_take_relative_budgets_only() -> None:
    assert parse_budget("instructions:+1%", "bench").relative == pytest.approx(0.01)
    with pytest.raises(UsageError, match="relative budget"):
        parse_budget("instructions<2ms", "bench")


def test_the_table_shows_counts_and_the_spread() -> None:
    text = render(counted_document([1000.0, 1002.0, 1001.0]))
    assert "1,001" in text and "0.200%" in text and "not deterministic" in text


# ---------------------------------------------------------------- runners, boundary faked


def _benchmark(name: str) -> Benchmark:
    return Benchmark(name, "/x/bench_a.py", name, None, f"bench_a.py::{name}")


def test_callables_per_call_from_the_workers_answers() -> None:
    asked: list[dict[str, Any]] = []

    def run(task: dict[str, Any], valgrind: str) -> dict[str, Any]:
        asked.append(task)
        if task["function"] == "broken":
            return {"error": "ValueError: no"}
        raw = {"Ir": 100 + 10 * 500}
        return {"loops": 10, "overhead": {"Ir": 100}, "warmups": [raw], "values": [raw, raw]}

    outcomes, stopped = count_callables(
        [_benchmark("ok"), _benchmark("broken")],
        processes=2,
        values=2,
        warmups=1,
        valgrind="valgrind",
        run=run,
    )
    assert not stopped
    assert [v["Ir"] for v in outcomes[0].values] == [500.0] * 4
    assert outcomes[1].error == "ValueError: no"
    assert len(asked) == 3  # the failed benchmark is not asked again
    assert asked[0]["mode"] == "count" and asked[0]["values"] == 2


def test_commands_are_counted_with_the_shell_subtracted_and_failures_said() -> None:
    def run(argv: Sequence[str], valgrind: str) -> CountedRun:
        text = argv[-1]
        if text == "":
            return CountedRun(0, events(200.0), 1)
        if text == "false":
            return CountedRun(1, events(300.0), 1)
        if text == "broken":
            return CountedRun(1, events(0.0), 0, "valgrind: cannot start")
        return CountedRun(0, events(1200.0), 2)

    commands = [parse_command(t, shell=True) for t in ("seq 10", "false", "broken")]
    outcomes, probe, stopped = count_commands(
        commands, runs=2, warmups=0, shell=True, valgrind="valgrind", run=run
    )
    assert probe is not None and not stopped
    assert [v["Ir"] for v in subtract(outcomes[0].values, probe.values[0])] == [1000.0, 1000.0]
    assert outcomes[1].error is not None and "exited with code 1" in outcomes[1].error
    assert outcomes[2].error is not None and "valgrind could not run" in outcomes[2].error


def test_valgrind_missing_is_one_line_naming_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(callgrind.shutil, "which", lambda name: None)
    with pytest.raises(UsageError, match="apt-get install valgrind"):
        callgrind.find_valgrind()
    monkeypatch.setattr(callgrind.sys, "platform", "darwin")
    with pytest.raises(UsageError, match="Linux only"):
        callgrind.find_valgrind()


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 machine code"
)
def test_client_requests_are_harmless_outside_valgrind() -> None:
    requests = callgrind.ClientRequests()
    assert not requests.on_valgrind()
    assert requests.request(callgrind.ZERO_STATS) == 0
    with pytest.raises(RuntimeError, match="not running under Valgrind"):
        callgrind.Counter("/nonexistent", requests)


def test_nan_is_not_a_p_value_in_the_table() -> None:
    from perfeng.report.comparison import render_text

    comparison = compare_benchmarks(
        counted_document(), counted_document(), min_effect=0.01, alpha=0.01
    )
    assert math.isnan(comparison.rows[0].p_value)
    text = render_text(comparison)
    assert "nan" not in text and "counted benchmark results" in text


def test_callables_need_an_x86_64_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callgrind.platform, "machine", lambda: "aarch64")
    with pytest.raises(UsageError, match="--cmd instead"):
        callgrind.check_callables_supported()


def test_ctrl_c_keeps_what_was_counted() -> None:
    calls = 0

    def run(task: dict[str, Any], valgrind: str) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise KeyboardInterrupt
        raw = {"Ir": 1100}
        return {"loops": 1, "overhead": {"Ir": 100}, "warmups": [], "values": [raw]}

    outcomes, stopped = count_callables(
        [_benchmark("a")], processes=3, values=1, warmups=0, valgrind="valgrind", run=run
    )
    assert stopped and [v["Ir"] for v in outcomes[0].values] == [1000.0]


def test_the_worker_stack_top_is_padded_to_whole_4k_blocks() -> None:
    for path in ("/a", "/a/much/longer/path/to/the/benchmark/file.py"):
        argv = ["/usr/bin/python3", "-m", "perfeng.bench.worker", "5", path]
        env = callgrind.stack_aligned(argv, {"HOME": "/root", callgrind.PAD_VARIABLE: "old"})
        strings = [*argv, *(f"{k}={v}" for k, v in env.items())]
        used = sum(len(s.encode()) + 1 for s in strings) + 8 * (len(strings) + 2)
        assert used % 4096 == 0 and env["HOME"] == "/root"
