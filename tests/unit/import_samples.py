"""Sample files for the importers' tests: where they are, and wrk2 output made from known
latencies (wrk2 is not packaged anywhere here; its text layout is HdrHistogram_c's
``hdr_percentiles_print``, five ticks per half distance, as wrk2 prints it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfeng.model import histogram as hdr

DATA = Path(__file__).parents[1] / "data" / "imports"


def wrk2_text(histogram: Any, requests: int, url: str = "http://127.0.0.1:8080/") -> str:
    """wrk2 -U style output for a histogram of microsecond values."""
    rows = [_row(histogram, 0.0)]
    percentile, step, half = 0.0, 10.0, 50.0
    while len(rows) < 120:  # five ticks to each halfway point to 100 %
        percentile += step
        rows.append(_row(histogram, percentile))
        if percentile >= half - 1e-9:
            half += (100.0 - half) / 2
            step = (half - percentile) / 5
    rows.append(_row(histogram, 100.0))
    seconds = max(requests // 1000, 1)
    stats = hdr.stats_ms(histogram)
    lines = [
        f"Running {seconds}s test @ {url}",
        "  2 threads and 10 connections",
        "  Thread calibration: mean lat.: 1.000ms, rate sampling interval: 10ms",
        "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
        f"    Latency     {stats['mean']:.2f}ms  100.00us  {stats['max']:.2f}ms   70.00%",
        "    Req/Sec     1.00k   100.00     2.00k    70.00%",
        "  Latency Distribution (HdrHistogram - Recorded Latency)",
        *(
            f" {p:7.3f}%  {histogram.get_value_at_percentile(p) / 1000:6.2f}ms"
            for p in (50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0)
        ),
        "",
        "  Detailed Percentile spectrum:",
        "       Value   Percentile   TotalCount 1/(1-Percentile)",
        "",
        *rows,
        f"#[Mean    =   {stats['mean']:10.3f}, StdDeviation   =        0.100]",
        f"#[Max     =   {stats['max']:10.3f}, Total count    =   {histogram.total_count:10d}]",
        "#[Buckets =           27, SubBuckets     =         2048]",
        "----------------------------------------------------------",
        f"  {requests} requests in {seconds}.00s, 1.00MB read",
        f"Requests/sec:   {requests / seconds:.2f}",
        "Transfer/sec:    100.00KB",
        "",
    ]
    return "\n".join(lines)


def _row(histogram: Any, percentile: float) -> str:
    value = histogram.get_value_at_percentile(percentile) / 1000
    count = _count_at(histogram, percentile)
    inverse = "inf" if percentile >= 100 else f"{1 / (1 - percentile / 100):.2f}"
    return f"{value:12.3f} {percentile / 100:12.6f} {count:12d} {inverse:>14}"


def _count_at(histogram: Any, percentile: float) -> int:
    return max(round(histogram.total_count * percentile / 100), 1)
