"""perfeng.store.metrics.flatten: which rows each kind of document gives, and what it skips."""

from __future__ import annotations

import copy
import math

from perfeng.store.metrics import (
    BENCH_STATS,
    KNOWN_STATS,
    RUN_LATENCY_STATS,
    RUN_TOTAL,
    flatten,
)
from tests.store_samples import bench_document, capacity_document, page_document, run_document
from tests.unit.test_bench_counted import counted_document


def _expected_run_entry(name: str, entry: dict[str, object]) -> dict[tuple[str, str], float]:
    latency = entry["latency_ms"]
    assert isinstance(latency, dict)
    rows = {(name, stat): float(latency[stat]) for stat in RUN_LATENCY_STATS}
    rows[(name, "throughput")] = float(entry["throughput_rps"])  # type: ignore[arg-type]
    rows[(name, "error_rate")] = float(entry["error_rate"])  # type: ignore[arg-type]
    return rows


def test_a_run_gives_the_total_and_every_request_name() -> None:
    document = run_document(seed=1, names=("GET /", "POST /login", "GET /items/{id}"))
    expected = _expected_run_entry(RUN_TOTAL, document["summary"])
    for name, entry in document["summary"]["by_name"].items():
        expected |= _expected_run_entry(name, entry)
    rows = flatten(document)
    assert {(n, s): v for n, s, v in rows} == expected
    assert len(rows) == len(expected)  # no duplicates


def test_run_statistics_without_data_are_left_out_not_nan() -> None:
    document = run_document(seed=2, names=("idle",))
    idle = document["summary"]["by_name"]["idle"]
    idle["latency_ms"] = dict.fromkeys(idle["latency_ms"])
    rows = {(n, s) for n, s, _ in flatten(document) if n == "idle"}
    assert rows == {("idle", "throughput"), ("idle", "error_rate")}
    assert all(math.isfinite(v) for _, _, v in flatten(document))


def test_a_request_named_total_does_not_overwrite_the_whole_run() -> None:
    document = run_document(seed=3, names=("total",))
    rows = {(n, s): v for n, s, v in flatten(document)}
    summary = document["summary"]
    assert rows[(RUN_TOTAL, "p99")] == summary["latency_ms"]["p99"]
    assert rows[(RUN_TOTAL, "throughput")] == summary["throughput_rps"]


def test_a_bench_result_gives_five_stats_per_benchmark_without_error() -> None:
    document = bench_document(seed=4, names=("sort", "parse"), failing=("broken",))
    expected = {
        (b["name"], stat): b["stats"][stat]
        for b in document["benchmarks"]
        if b["error"] is None
        for stat in BENCH_STATS
    }
    rows = flatten(document)
    assert {(n, s): v for n, s, v in rows} == expected
    assert "broken" not in {n for n, _, _ in rows}
    assert {s for _, s, _ in rows} == set(BENCH_STATS)


def test_a_capacity_result_gives_the_max_sustainable_rate_when_known() -> None:
    rate = float(run_document(seed=5)["summary"]["throughput_rps"])
    assert flatten(capacity_document(rate)) == [("capacity", "max_sustainable_rps", rate)]
    assert flatten(capacity_document(None)) == []


def test_values_that_are_not_numbers_are_skipped() -> None:
    document = run_document(seed=6, names=())
    document["summary"]["latency_ms"]["p50"] = True
    document["summary"]["latency_ms"]["p90"] = "12"
    document["summary"]["latency_ms"]["p95"] = float("nan")
    stats = {s for _, s, _ in flatten(document)}
    assert not stats & {"p50", "p90", "p95"}
    assert "p99" in stats


def test_other_documents_and_damaged_sections_give_nothing() -> None:
    assert flatten({"format": "something-else"}) == []
    assert flatten({"format": "perfeng-run", "summary": []}) == []
    assert flatten({"format": "perfeng-bench", "benchmarks": [1, {"error": None}]}) == []


def test_flatten_does_not_change_the_document() -> None:
    for document in (run_document(seed=7), bench_document(seed=7), capacity_document(1.0)):
        before = copy.deepcopy(document)
        flatten(document)
        assert document == before


def test_known_stats_are_exactly_the_stats_flatten_produces() -> None:
    calibrated = {**bench_document(seed=4), "calibration": {"python": [0.01], "memory": [0.02]}}
    documents = [
        run_document(seed=2),
        bench_document(seed=3),
        calibrated,
        capacity_document(9.0),
        page_document(900.0),
        counted_document(),
    ]
    produced = {stat for document in documents for _, stat, _ in flatten(document)}
    assert set(KNOWN_STATS) == produced
    assert len(KNOWN_STATS) == len(produced)  # no stat twice


def test_an_integer_beyond_the_largest_float_is_left_out() -> None:
    document = capacity_document(None)
    document["capacity"]["max_sustainable_rps"] = 10**400
    assert flatten(document) == []


def test_calibration_medians_are_rows_of_their_own() -> None:
    document = {**bench_document(seed=5), "calibration": {"python": [3.0, 1.0, 2.0, 4.0]}}
    rows = [r for r in flatten(document) if r[0] == ":calibration"]
    assert rows == [(":calibration", "python_s", 2.5)]  # memory absent: no row
