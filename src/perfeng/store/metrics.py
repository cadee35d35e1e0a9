"""Flattening a result document into (name, stat, value) rows, so history queries are cheap.

The stored rows, per kind (keys as in docs/result-format.md and the bench format):

- run: name ``total`` for the whole run (``summary``) and each request name of
  ``summary.by_name``; stats ``p50``, ``p90``, ``p95``, ``p99``, ``max``, ``mean`` (from
  ``latency_ms``, milliseconds), ``throughput`` (``throughput_rps``) and ``error_rate``;
- bench: each benchmark without an ``error``: ``median``, ``mean``, ``min``, ``stdev`` and
  ``mad`` from its ``stats``;
  counted (``bench --instructions``, unit ``instructions``): ``instructions`` and
  ``est_cycles``, the medians per call, instead (a count never shares a stat with seconds);
  timed documents with a ``calibration`` section add name ``:calibration``, stats
  ``python_s`` and ``memory_s``: each kernel's median (``perfeng.gates.calibrated``);
- capacity: name ``capacity``, stat ``max_sustainable_rps`` (when not null);
- page: name ``page``, the median run's ``ttfb``, ``fcp``, ``lcp``, ``cls``, ``tbt``, ``dcl``,
  ``load`` (ms, cls a score), ``requests`` and ``transfer_kb``.

Statistics that are null (no data) or not finite are left out: a missing row, never a NaN.
A (name, stat) pair appears once; the first wins, so a request called ``total`` cannot
overwrite the whole run's figures.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

RUN_TOTAL = "total"
RUN_LATENCY_STATS = ("p50", "p90", "p95", "p99", "max", "mean")
BENCH_STATS = ("median", "mean", "min", "stdev", "mad")
COUNTED_STATS = ("instructions", "est_cycles")
CALIBRATION_NAME = ":calibration"  # not a benchmark name: the machine's own speed
CALIBRATION_STATS = ("python_s", "memory_s")
CAPACITY_NAME = "capacity"
CAPACITY_STAT = "max_sustainable_rps"
PAGE_NAME = "page"
# stat -> the page document's summary key (docs/page.md)
PAGE_STATS = {
    "ttfb": "ttfb_ms",
    "fcp": "fcp_ms",
    "lcp": "lcp_ms",
    "cls": "cls",
    "tbt": "tbt_ms",
    "dcl": "dom_content_loaded_ms",
    "load": "load_ms",
    "requests": "requests",
    "transfer_kb": "transfer_kb",
}

# Every stat ``flatten`` can produce, in the order of the table above.
KNOWN_STATS = (
    *RUN_LATENCY_STATS,
    "throughput",
    "error_rate",
    *(stat for stat in BENCH_STATS if stat not in RUN_LATENCY_STATS),
    *COUNTED_STATS,
    *CALIBRATION_STATS,
    CAPACITY_STAT,
    *PAGE_STATS,
)

Row = tuple[str, str, float]


def flatten(document: dict[str, Any]) -> list[Row]:
    """The metric rows of a perfeng document (run, bench or capacity); [] for anything else."""
    fmt = document.get("format")
    if fmt == "perfeng-run":
        rows = _run_rows(_dict(document.get("summary")))
    elif fmt == "perfeng-bench":
        rows = _bench_rows(document.get("benchmarks"))
        rows += _calibration_rows(_dict(document.get("calibration")))
    elif fmt == "perfeng-page":
        summary = _dict(document.get("summary"))
        rows = [(PAGE_NAME, stat, summary.get(key)) for stat, key in PAGE_STATS.items()]
    elif fmt == "perfeng-capacity":
        value = _dict(document.get("capacity")).get(CAPACITY_STAT)
        rows = [(CAPACITY_NAME, CAPACITY_STAT, value)]
    else:
        rows = []
    return _unique([(name, stat, float(v)) for name, stat, v in rows if _is_number(v)])


def _run_rows(summary: dict[str, Any]) -> list[tuple[str, str, Any]]:
    rows = _run_entry(RUN_TOTAL, summary)
    for name, entry in _dict(summary.get("by_name")).items():
        rows += _run_entry(str(name), _dict(entry))
    return rows


def _run_entry(name: str, entry: dict[str, Any]) -> list[tuple[str, str, Any]]:
    latency = _dict(entry.get("latency_ms"))
    rows = [(name, stat, latency.get(stat)) for stat in RUN_LATENCY_STATS]
    rows.append((name, "throughput", entry.get("throughput_rps")))
    rows.append((name, "error_rate", entry.get("error_rate")))
    return rows


def _calibration_rows(calibration: dict[str, Any]) -> list[tuple[str, str, Any]]:
    rows: list[tuple[str, str, Any]] = []
    for stat in CALIBRATION_STATS:
        values = calibration.get(stat.removesuffix("_s"))
        if isinstance(values, list) and values and all(_is_number(v) for v in values):
            rows.append((CALIBRATION_NAME, stat, statistics.median(values)))
    return rows


def _bench_rows(benchmarks: Any) -> list[tuple[str, str, Any]]:
    rows: list[tuple[str, str, Any]] = []
    for bench in benchmarks if isinstance(benchmarks, list) else []:
        if not isinstance(bench, dict) or bench.get("error") is not None or "name" not in bench:
            continue
        stats = _dict(bench.get("stats"))
        if bench.get("unit", "s") in COUNTED_STATS:
            cycles = _dict(_dict(bench.get("est_cycles")).get("stats"))
            rows += [(str(bench["name"]), "instructions", stats.get("median"))]
            rows += [(str(bench["name"]), "est_cycles", cycles.get("median"))]
            continue
        rows += [(str(bench["name"]), stat, stats.get(stat)) for stat in BENCH_STATS]
    return rows


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond the largest float
        return False


def _unique(rows: list[Row]) -> list[Row]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for row in rows:
        if (row[0], row[1]) not in seen:
            seen.add((row[0], row[1]))
            kept.append(row)
    return kept
