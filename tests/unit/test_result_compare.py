"""Comparing two documents name by name: benchmarks by ranks, load tests by histograms."""

from __future__ import annotations

import random
from typing import Any

import pytest

from perfeng.analysis.result_compare import as_dict, compare_benchmarks, compare_runs
from perfeng.model import histogram as hdr


def _run(latencies_ms: list[float], seconds: float = 10.0, host: str = "a") -> dict[str, Any]:
    histogram = hdr.new_histogram()
    for ms in latencies_ms:
        histogram.record_value(max(1, round(ms * 1000)))
    encoded = hdr.encode(histogram)
    return {
        "format": "perfeng-run",
        "model": "open",
        "metadata": {"duration_s": seconds, "host": host, "python_version": "3.11.7"},
        "summary": {
            "requests": len(latencies_ms),
            "by_name": {"GET /": {"requests": len(latencies_ms)}},
            "histograms": {
                "all": {"latency": encoded},
                "by_name": {"GET /": {"latency": encoded}},
            },
        },
    }


def _noise(rng: random.Random, n: int, scale: float = 1.0) -> list[float]:
    return [scale * rng.lognormvariate(1.0, 0.3) for _ in range(n)]


def _rows(comparison: Any, name: str = "GET /") -> dict[str, Any]:
    return {row.metric: row for row in comparison.rows if row.name == name}


def test_identical_load_runs_show_no_change() -> None:
    rng = random.Random(1)
    comparison = compare_runs(
        _run(_noise(rng, 5000)), _run(_noise(rng, 5000)), min_effect=0.05, alpha=0.01
    )
    assert {row.verdict for row in comparison.rows} == {"no change"}
    assert not comparison.slower and not comparison.warnings


def test_a_slower_service_is_slower_on_every_percentile() -> None:
    rng = random.Random(2)
    base, head = _run(_noise(rng, 3000)), _run(_noise(rng, 3000, scale=1.3))
    rows = _rows(compare_runs(base, head, min_effect=0.05, alpha=0.01))
    for key in ("p50", "p90", "p99"):
        assert rows[key].verdict == "slower"
        assert rows[key].p_value < 0.01
        assert rows[key].shift_low is not None and rows[key].shift_low > 0
    assert rows["p50"].shift == pytest.approx(0.3, abs=0.06)
    assert rows["throughput"].verdict == "no change"


def test_lower_throughput_is_slower_and_higher_is_faster() -> None:
    rng = random.Random(3)
    samples = _noise(rng, 2000)
    rows = _rows(compare_runs(_run(samples), _run(samples[:1600]), min_effect=0.05, alpha=0.01))
    assert rows["throughput"].verdict == "slower"
    assert rows["throughput"].shift == pytest.approx(-0.2)
    rows = _rows(compare_runs(_run(samples[:1600]), _run(samples), min_effect=0.05, alpha=0.01))
    assert rows["throughput"].verdict == "faster"


def test_a_small_significant_change_below_the_minimum_effect_does_not_count() -> None:
    rng = random.Random(4)
    base, head = _run(_noise(rng, 50_000)), _run(_noise(rng, 50_000, scale=1.03))
    rows = _rows(compare_runs(base, head, min_effect=0.05, alpha=0.01))
    assert rows["p50"].p_value < 0.01 and rows["p50"].verdict == "no change"


def test_different_hosts_and_names_are_flagged() -> None:
    rng = random.Random(5)
    base, head = _run(_noise(rng, 100)), _run(_noise(rng, 100), host="b")
    head["summary"]["by_name"] = {"GET /other": {"requests": 100}}
    head["summary"]["histograms"]["by_name"] = {
        "GET /other": head["summary"]["histograms"]["by_name"].pop("GET /")
    }
    comparison = compare_runs(base, head, min_effect=0.05, alpha=0.01)
    assert comparison.only_in_base == ("GET /",) and comparison.only_in_head == ("GET /other",)
    assert any("host differs: 'a' vs 'b'" in w for w in comparison.warnings)
    assert {row.name for row in comparison.rows} == {"total"}


def _bench(**values: list[float]) -> dict[str, Any]:
    return {
        "format": "perfeng-bench",
        "metadata": {"python_version": "3.11.7"},
        "benchmarks": [{"name": n, "values": v, "error": None} for n, v in values.items()],
    }


def test_benchmarks_compare_by_rank_and_report_the_shift_interval() -> None:
    rng = random.Random(6)
    same = [rng.gauss(10e-6, 0.3e-6) for _ in range(60)]
    base = _bench(a=same[:30], b=[rng.gauss(10e-6, 0.3e-6) for _ in range(30)], gone=[1.0] * 5)
    head = _bench(a=same[30:], b=[rng.gauss(11e-6, 0.3e-6) for _ in range(30)], new=[1.0] * 5)
    comparison = compare_benchmarks(base, head, min_effect=0.05, alpha=0.01)
    rows = {row.name: row for row in comparison.rows}
    assert rows["a"].verdict == "no change"
    assert rows["b"].verdict == "slower"
    assert rows["b"].shift_low is not None and rows["b"].shift_low > 0.05
    assert comparison.only_in_base == ("gone",) and comparison.only_in_head == ("new",)
    assert as_dict(comparison)["verdict"] == "slower"


def test_a_failed_benchmark_is_reported_not_compared() -> None:
    base = _bench(a=[1.0, 1.1, 0.9])
    head = _bench(a=[1.0, 1.1, 0.9])
    head["benchmarks"][0].update(values=[], error="ZeroDivisionError: division by zero")
    comparison = compare_benchmarks(base, head, min_effect=0.05, alpha=0.01)
    assert comparison.rows == () and comparison.only_in_base == ()
    assert comparison.failed_in_head == ("a: ZeroDivisionError: division by zero",)
    assert comparison.worse and as_dict(comparison)["verdict"] == "failed"


def test_a_busy_machine_on_either_side_is_flagged() -> None:
    base = _bench(a=[1.0, 1.1, 0.9])
    head = _bench(a=[1.0, 1.1, 0.9])
    head["metadata"].update(load_avg_start=3.0, load_avg_end=1.0, cpu_count=2)
    comparison = compare_benchmarks(base, head, min_effect=0.05, alpha=0.01)
    (warning,) = [w for w in comparison.warnings if "busy" in w]
    assert warning.startswith("head: machine busy: load average 3.00 on 2 CPUs")


def test_values_print_in_short_cells() -> None:
    from perfeng.report.comparison import value_text

    assert value_text(2.5e-8, "s") == "25 ns"
    assert value_text(1.5e-5, "s") == "15 us"
    assert value_text(3.2, "ms") == "3.20 ms"
    assert value_text(1234.5, "req/s") == "1,234.5/s"
    assert value_text(1e308, "ms") == "1e+308 ms"


def test_a_stopped_or_partial_side_is_flagged() -> None:
    rng = random.Random(8)
    base, head = _run(_noise(rng, 200)), _run(_noise(rng, 200))
    head["interrupted"] = "SIGINT"
    base["partial"] = True
    warnings = compare_runs(base, head, min_effect=0.05, alpha=0.01).warnings
    assert "base is a checkpoint of a run that had not finished (partial)" in warnings
    assert "head is interrupted (SIGINT): it measured less than it was asked to" in warnings
    stopped = _bench(a=[1.0, 1.1, 0.9])
    stopped["interrupted"] = True
    bench = compare_benchmarks(_bench(a=[1.0, 1.1, 0.9]), stopped, min_effect=0.05, alpha=0.01)
    assert "head is interrupted: it measured less than it was asked to" in bench.warnings
