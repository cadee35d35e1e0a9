"""Synthetic perfeng documents (run, bench, capacity) for the history store's tests.

Values come from a seeded generator, so tests derive their expectations from the document
instead of repeating figures."""

from __future__ import annotations

import random
from typing import Any

LATENCY_KEYS = ("min", "mean", "p50", "p90", "p95", "p99", "p99_9", "max")


def _latency(rng: random.Random) -> dict[str, float]:
    values = sorted(round(rng.uniform(0.1, 500.0), 3) for _ in LATENCY_KEYS)
    return dict(zip(LATENCY_KEYS, values, strict=True))


def _run_entry(rng: random.Random) -> dict[str, Any]:
    requests = rng.randint(10, 10_000)
    errors = rng.randint(0, requests // 10)
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": round(errors / requests, 6),
        "throughput_rps": round(rng.uniform(1.0, 5000.0), 3),
        "latency_ms": _latency(rng),
        "service_time_ms": _latency(rng),
    }


def run_document(
    seed: int,
    names: tuple[str, ...] = ("GET /", "POST /login"),
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rng = random.Random(seed)
    summary = _run_entry(rng)
    summary["by_name"] = {name: _run_entry(rng) for name in names}
    summary["histograms"] = {"unit": "us", "all": {}, "by_name": {}}
    return {
        "format": "perfeng-run",
        "format_version": 1,
        "metadata": {"host": f"host-{seed % 3}", "start_utc": "2024-01-01T00:00:00.000+00:00"}
        | (metadata or {}),
        "workloads": [],
        "summary": summary,
    }


def bench_document(
    seed: int, names: tuple[str, ...] = ("sort", "parse"), failing: tuple[str, ...] = ("broken",)
) -> dict[str, Any]:
    rng = random.Random(seed)
    benchmarks = []
    for name in (*names, *failing):
        values = [rng.uniform(1e-6, 1e-3) for _ in range(7)]
        ordered = sorted(values)
        stats = {
            "n": len(values),
            "median": ordered[3],
            "median_ci_low": ordered[1],
            "median_ci_high": ordered[5],
            "mean": sum(values) / len(values),
            "stdev": rng.uniform(0, 1e-4),
            "min": ordered[0],
            "max": ordered[-1],
            "mad": rng.uniform(0, 1e-4),
            "outliers": 0,
        }
        error = "it crashed" if name in failing else None
        benchmarks.append(
            {
                "name": name,
                "kind": "callable",
                "values": values,
                "stats": stats,
                "warnings": [],
                "error": error,
            }
        )
    return {
        "format": "perfeng-bench",
        "format_version": 1,
        "metadata": {"host": "bench-host", "git_commit": None, "python_version": "3.11"},
        "settings": {},
        "benchmarks": benchmarks,
    }


def capacity_document(max_rps: float | None) -> dict[str, Any]:
    return {
        "format": "perfeng-capacity",
        "format_version": 1,
        "metadata": {"host": "cap-host"},
        "capacity": {"max_sustainable_rps": max_rps, "steps": []},
    }


def page_document(lcp_ms: float) -> dict[str, Any]:
    vitals = {
        "ttfb_ms": 10.0,
        "fcp_ms": 100.0,
        "lcp_ms": lcp_ms,
        "cls": 0.01,
        "tbt_ms": 0.0,
        "dom_content_loaded_ms": 90.0,
        "load_ms": 120.0,
        "requests": 4,
        "transfer_kb": 12.5,
    }
    return {
        "format": "perfeng-page",
        "format_version": 1,
        "url": "http://127.0.0.1/page",
        "metadata": {"host": "page-host"},
        "settings": {
            "runs": 1,
            "throttle": "none",
            "cpu_slowdown": 1.0,
            "timeout_s": 30.0,
            "quiet_s": 1.0,
        },
        "summary": {**vitals, "median_run": 0, "thresholds": []},
        "runs": [vitals],
    }
