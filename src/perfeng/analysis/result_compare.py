"""Compare two result documents (benchmark or load test), name by name.

Benchmarks keep every raw value, so each benchmark is compared with the rank test and the
Hodges-Lehmann shift of ``analysis.compare``.

A load test keeps one latency histogram per request name, not the raw values, so its
percentiles are compared with tests that work on counts:

- **Percentiles** (p50, p90, p99): Mood's quantile test. Under "same distribution" the pooled
  q-quantile m splits each side in the same proportion; the 2x2 table (at most m / above m,
  base / head) is tested with Pearson's chi-square (Mood 1950, "Introduction to the Theory of
  Statistics"; Conover, "Practical Nonparametric Statistics", 3rd ed., 4.3, the median test
  extended to any quantile). The interval of the change uses each side's distribution-free
  order-statistic interval for the quantile, ranks n*q -/+ z*sqrt(n*q*(1-q)) (Conover 3.2),
  combined conservatively: [head_low / base_high - 1, head_high / base_low - 1].
- **Throughput**: the conditional test of two Poisson rates. Given N = N1 + N2 requests in
  T1 + T2 seconds, N2 ~ Binomial(N, T2 / (T1 + T2)) when the rates are equal (Przyborowski &
  Wilenski 1940), tested exactly by scipy's ``binomtest``.

Requests of one run are not independent (a slow second slows many of them), so these
p-values are optimistic; the minimum effect is what keeps a long run from calling a 1 %
difference a regression. A change counts only when it is significant AND larger than the
minimum effect, as in ``analysis.compare``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from perfeng.analysis.calibration import MachineShift
from perfeng.analysis.compare import Verdict, compare
from perfeng.model import histogram as hdr

Kind = Literal["bench", "run", "page"]
LOAD_PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))
ENVIRONMENT_KEYS = ("host", "python_version", "python_implementation", "cpu_count", "cpu_model")


@dataclass(frozen=True)
class Row:
    """One compared figure. ``ratio`` is head / base of the figure (medians for benchmarks);
    ``shift`` is the effect the verdict judges, as a fraction of base (0.1 = +10 %): the
    Hodges-Lehmann shift for benchmarks, ratio - 1 for load-test figures; its interval too."""

    name: str
    metric: str  # "time" for a benchmark; p50/p90/p99/throughput for a load test
    unit: str
    base: float
    head: float
    ratio: float
    shift: float
    shift_low: float | None
    shift_high: float | None
    p_value: float
    verdict: Verdict
    method: str


@dataclass(frozen=True)
class ResultComparison:
    kind: Kind
    rows: tuple[Row, ...]
    min_effect: float
    alpha: float
    only_in_base: tuple[str, ...] = ()
    only_in_head: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    failed_in_head: tuple[str, ...] = ()  # "name: error" of benchmarks that raised in head
    # Load tests: the p50 of each phase both runs recorded (all names together), to say
    # where a change came from. Tested like the other percentiles but never judged: the
    # latency rows above already carry the verdict.
    phases: tuple[Row, ...] = ()
    # Benchmarks timed in separate runs: how the machine's speed moved between them, from the
    # calibration kernels (None when either side lacks them or both come from one run)
    machine: MachineShift | None = None

    @property
    def inconclusive(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.verdict == "inconclusive")

    @property
    def worse(self) -> bool:
        """Anything slower, or a benchmark that worked in base and failed in head."""
        return bool(self.slower or self.failed_in_head)

    @property
    def slower(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.verdict == "slower")


def incomplete(document: Mapping[str, Any]) -> str:
    """Why a result measured less than it was asked to (stopped, or a checkpoint), or ""."""
    if document.get("partial"):
        return "a checkpoint of a run that had not finished (partial)"
    stopped = document.get("interrupted")
    if stopped:
        how = f" ({stopped})" if isinstance(stopped, str) else ""
        return f"interrupted{how}: it measured less than it was asked to"
    return ""


def _side_warnings(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """What makes the two sides less comparable than the numbers alone suggest."""
    return environment_differences(base["metadata"], head["metadata"]) + _incomplete_warnings(
        base, head
    )


def _incomplete_warnings(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    return [
        f"{side} is {why}"
        for side, doc in (("base", base), ("head", head))
        if (why := incomplete(doc))
    ]


def environment_differences(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """Metadata that differs between the two runs and can move a timing by itself."""
    return [
        f"{key} differs: {base.get(key)!r} vs {head.get(key)!r}"
        for key in ENVIRONMENT_KEYS
        if key in base and key in head and base[key] != head[key]
    ]


def _relative(value: float, reference: float) -> float:
    if reference == 0:
        return 0.0 if value == 0 else math.inf
    return value / reference - 1


def _verdict(
    change: float, p_value: float, alpha: float, min_effect: float, higher: bool
) -> Verdict:
    if p_value >= alpha or abs(change) <= min_effect:
        return "no change"
    return "slower" if (change < 0 if higher else change > 0) else "faster"


# ---------------------------------------------------------------- benchmarks


def _bench_values(document: Mapping[str, Any]) -> dict[str, list[float]]:
    return {
        b["name"]: [float(v) for v in b["values"]]
        for b in document["benchmarks"]
        if not b.get("error") and b.get("values")
    }


def compare_benchmarks(
    base: Mapping[str, Any], head: Mapping[str, Any], *, min_effect: float, alpha: float
) -> ResultComparison:
    """Each benchmark in both documents: Mann-Whitney U and the Hodges-Lehmann shift.
    Counted documents (``bench --instructions``) are compared by ``analysis.counted_compare``."""
    from perfeng.analysis.counted_compare import compare_counted_benchmarks, is_counted

    if is_counted(base) or is_counted(head):
        return compare_counted_benchmarks(base, head, min_effect=min_effect, alpha=alpha)
    base_values, head_values = _bench_values(base), _bench_values(head)
    rows: list[Row] = []
    warnings = _side_warnings(base, head)
    machine = _machine(base, head, warnings)
    for name in (n for n in base_values if n in head_values):
        a, b = base_values[name], head_values[name]
        if min(len(a), len(b)) < 3:
            warnings.append(f"{name}: fewer than 3 values on one side, not compared")
            continue
        rows.append(_timed_row(name, a, b, machine, min_effect, alpha))
    warnings += _failed_benchmarks(base, "base")
    warnings += _busy(base, "base") + _busy(head, "head")
    only_in_base, only_in_head = _only_in(base, head)
    failed = tuple(f"{b['name']}: {b['error']}" for b in head["benchmarks"] if b.get("error"))
    return ResultComparison(
        "bench",
        tuple(rows),
        min_effect,
        alpha,
        only_in_base,
        only_in_head,
        tuple(warnings),
        failed,
        machine=machine,
    )


def _same_run(base: Mapping[str, Any], head: Mapping[str, Any]) -> bool:
    """``bench --base`` writes both sides from one interleaved run: drift hit both alike."""
    start = base["metadata"].get("start_epoch_s")
    return start is not None and start == head["metadata"].get("start_epoch_s")


def _machine(
    base: Mapping[str, Any], head: Mapping[str, Any], warnings: list[str]
) -> MachineShift | None:
    """The machine's shift between two separate runs; a warning says what was done."""
    from perfeng.analysis.calibration import machine_shift, medians

    if _same_run(base, head):
        return None
    missing = [side for side, doc in (("base", base), ("head", head)) if not doc.get("calibration")]
    if missing:
        warnings.append(
            f"{' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no calibration"
            " timings (measured by an older perfeng"
            " or in-process): a change of the whole machine cannot be told from the code's"
        )
        return None
    shift = machine_shift(medians(base["calibration"]), medians(head["calibration"]))
    if shift is not None:
        warnings.append(
            f"{shift.describe()} (calibration kernels); head's timings are divided by"
            f" {shift.ratio:.3f} before comparing"
        )
    return shift


def _timed_row(
    name: str,
    a: list[float],
    b: list[float],
    machine: MachineShift | None,
    min_effect: float,
    alpha: float,
) -> Row:
    """A timed benchmark; across separate runs, head is put on base's machine first."""
    from perfeng.analysis.calibration import beyond, trusted

    if machine is None:
        return _rank_row(name, "time", "s", a, b, min_effect, alpha)
    scaled = _rank_row(name, "time", "s", a, [v / machine.ratio for v in b], min_effect, alpha)
    scaled = replace(scaled, method=f"{scaled.method}, head / machine ratio")
    if trusted(machine, min_effect):
        return scaled
    raw = _rank_row(name, "time", "s", a, b, min_effect, alpha)
    agreed = raw.verdict == scaled.verdict
    if agreed and (scaled.verdict == "no change" or beyond(scaled.shift, machine)):
        return scaled
    return replace(scaled, verdict="inconclusive")


def _only_in(
    base: Mapping[str, Any], head: Mapping[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    base_names = [b["name"] for b in base["benchmarks"]]
    head_names = [b["name"] for b in head["benchmarks"]]
    return (
        tuple(n for n in base_names if n not in head_names),
        tuple(n for n in head_names if n not in base_names),
    )


def _busy(document: Mapping[str, Any], side: str) -> list[str]:
    """A busy machine shifts whole runs, which no test within a run can see: say so."""
    from perfeng.analysis.benchstats import busy_warnings

    meta = document["metadata"]
    found = busy_warnings(
        meta.get("load_avg_start"), meta.get("load_avg_end"), meta.get("cpu_count")
    )
    return (
        [f"{side}: {found[0]}; a difference may be the machine's, not the code's"] if found else []
    )


def _failed_benchmarks(document: Mapping[str, Any], side: str) -> list[str]:
    return [
        f"{b['name']} failed in {side}: {b['error']}"
        for b in document["benchmarks"]
        if b.get("error")
    ]


# ---------------------------------------------------------------- page loads

# summary key -> unit; every page figure is better lower.
PAGE_FIGURES = {
    "ttfb_ms": "ms",
    "fcp_ms": "ms",
    "lcp_ms": "ms",
    "cls": "score",
    "tbt_ms": "ms",
    "load_ms": "ms",
    "transfer_kb": "KB",
    "requests": "count",
}


def compare_pages(
    base: Mapping[str, Any], head: Mapping[str, Any], *, min_effect: float, alpha: float
) -> ResultComparison:
    """Each vital over the runs of both page documents: Mann-Whitney U and the
    Hodges-Lehmann shift, as for benchmarks (a page load is a repeated measurement)."""
    rows: list[Row] = []
    warnings = _side_warnings(base, head)
    if base.get("url") != head.get("url"):
        warnings.append(f"the pages differ: {base.get('url')} vs {head.get('url')}")
    for key, unit in PAGE_FIGURES.items():
        a = [float(r[key]) for r in base["runs"] if r.get(key) is not None]
        b = [float(r[key]) for r in head["runs"] if r.get(key) is not None]
        if min(len(a), len(b)) < 3:
            warnings.append(f"{key}: fewer than 3 runs with a value on one side, not compared")
            continue
        rows.append(_rank_row("page", key.removesuffix("_ms"), unit, a, b, min_effect, alpha))
    return ResultComparison("page", tuple(rows), min_effect, alpha, warnings=tuple(warnings))


def _rank_row(
    name: str,
    metric: str,
    unit: str,
    a: list[float],
    b: list[float],
    min_effect: float,
    alpha: float,
) -> Row:
    """Repeated measurements compared: Mann-Whitney U and the Hodges-Lehmann shift."""
    c = compare(a, b, min_effect=min_effect, alpha=alpha)
    scale = abs(c.base_median) or 1.0  # as analysis.compare judges the shift
    return Row(
        name,
        metric,
        unit,
        c.base_median,
        c.head_median,
        c.ratio,
        c.shift / scale,
        c.shift_low / scale,
        c.shift_high / scale,
        c.p_value,
        c.verdict,
        "mann-whitney u, hodges-lehmann",
    )


# ---------------------------------------------------------------- load tests


@dataclass(frozen=True)
class _Side:
    histogram: Any
    requests: int
    seconds: float


def _z(alpha: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2))


def _quantile_interval(side: _Side, q: float, z: float) -> tuple[float, float]:
    """Order-statistic interval of the q-quantile in ms (Conover 3.2, normal approximation)."""
    n = side.histogram.get_total_count()
    half = z * math.sqrt(n * q * (1 - q))
    low_rank, high_rank = max(math.floor(n * q - half), 1), min(math.ceil(n * q + half), n)
    low, high = hdr.values_at_ms(side.histogram, (100 * low_rank / n, 100 * high_rank / n))
    return float(low or 0.0), float(high or 0.0)


def _count_at_most(side: _Side, limit_us: int) -> int:
    return sum(count for value, count in hdr.recorded(side.histogram) if value <= limit_us)


def _mood_p_value(base: _Side, head: _Side, q: float) -> float:
    """Mood's quantile test: chi-square on (at most the pooled quantile, above it) x side."""
    from scipy import stats

    pooled = hdr.merged([base.histogram, head.histogram])
    limit_us = round((hdr.value_at_ms(pooled, 100 * q) or 0.0) * 1000)
    table = []
    for side in (base, head):
        below = _count_at_most(side, limit_us)
        table.append([below, side.histogram.get_total_count() - below])
    if min(sum(column) for column in zip(*table, strict=True)) == 0:
        return 1.0  # everything on one side of the split: no evidence of a difference
    return float(stats.chi2_contingency(table, correction=True).pvalue)


def _percentile_row(
    name: str, key: str, q: float, base: _Side, head: _Side, alpha: float, min_effect: float
) -> Row:
    base_value = hdr.value_at_ms(base.histogram, 100 * q) or 0.0
    head_value = hdr.value_at_ms(head.histogram, 100 * q) or 0.0
    z = _z(alpha)
    base_low, base_high = _quantile_interval(base, q, z)
    head_low, head_high = _quantile_interval(head, q, z)
    change = _relative(head_value, base_value)
    p_value = _mood_p_value(base, head, q)
    return Row(
        name,
        key,
        "ms",
        base_value,
        head_value,
        head_value / base_value if base_value else math.inf,
        change,
        _relative(head_low, base_high) if base_high else None,
        _relative(head_high, base_low) if base_low else None,
        p_value,
        _verdict(change, p_value, alpha, min_effect, higher=False),
        "mood quantile test",
    )


def _throughput_row(name: str, base: _Side, head: _Side, alpha: float, min_effect: float) -> Row:
    from scipy import stats

    base_rate = base.requests / base.seconds
    head_rate = head.requests / head.seconds
    total = base.requests + head.requests
    share = head.seconds / (base.seconds + head.seconds)
    p_value = float(stats.binomtest(head.requests, total, share).pvalue) if total else 1.0
    change = _relative(head_rate, base_rate)
    return Row(
        name,
        "throughput",
        "req/s",
        base_rate,
        head_rate,
        head_rate / base_rate if base_rate else math.inf,
        change,
        None,
        None,
        p_value,
        _verdict(change, p_value, alpha, min_effect, higher=True),
        "poisson rate test",
    )


def _phase_sides(document: Mapping[str, Any]) -> dict[str, _Side]:
    summary = document["summary"]
    seconds = max(float(document["metadata"].get("duration_s") or 0.0), 1e-9)
    encoded = summary["histograms"]["all"].get("phases") or {}
    sides = {}
    for phase, text in encoded.items():
        histogram = hdr.decode(text)
        sides[phase] = _Side(histogram, histogram.get_total_count(), seconds)
    return sides


def _phase_rows(
    base: Mapping[str, Any], head: Mapping[str, Any], alpha: float, min_effect: float
) -> tuple[Row, ...]:
    base_sides, head_sides = _phase_sides(base), _phase_sides(head)
    return tuple(
        _percentile_row(phase, "p50", 0.5, base_sides[phase], head_sides[phase], alpha, min_effect)
        for phase in base_sides
        if phase in head_sides and min(base_sides[phase].requests, head_sides[phase].requests) >= 3
    )


def _sides(document: Mapping[str, Any]) -> dict[str, _Side]:
    summary = document["summary"]
    seconds = max(float(document["metadata"].get("duration_s") or 0.0), 1e-9)
    histograms = summary["histograms"]
    sides = {"total": _Side(hdr.decode(histograms["all"]["latency"]), summary["requests"], seconds)}
    for name, entry in summary["by_name"].items():
        encoded = histograms["by_name"][name]["latency"]
        sides[name] = _Side(hdr.decode(encoded), entry["requests"], seconds)
    return sides


def compare_runs(
    base: Mapping[str, Any], head: Mapping[str, Any], *, min_effect: float, alpha: float
) -> ResultComparison:
    """Each request name in both runs (and ``total``): p50, p90, p99 and throughput."""
    base_sides, head_sides = _sides(base), _sides(head)
    rows: list[Row] = []
    warnings = _side_warnings(base, head)
    for name in (n for n in base_sides if n in head_sides):
        a, b = base_sides[name], head_sides[name]
        if min(a.histogram.get_total_count(), b.histogram.get_total_count()) < 3:
            warnings.append(f"{name}: fewer than 3 requests on one side, not compared")
            continue
        for key, percentile in LOAD_PERCENTILES:
            rows.append(_percentile_row(name, key, percentile / 100, a, b, alpha, min_effect))
        rows.append(_throughput_row(name, a, b, alpha, min_effect))
    if base.get("model") != head.get("model"):
        warnings.append(f"workload model differs: {base.get('model')} vs {head.get('model')}")
    return ResultComparison(
        "run",
        tuple(rows),
        min_effect,
        alpha,
        tuple(n for n in base_sides if n not in head_sides),
        tuple(n for n in head_sides if n not in base_sides),
        tuple(warnings),
        phases=_phase_rows(base, head, alpha, min_effect),
    )


def _row_dict(row: Row) -> dict[str, Any]:
    """A row as JSON; a counted row has no p-value (NaN inside, null in JSON)."""
    return {**row.__dict__, "p_value": None if math.isnan(row.p_value) else row.p_value}


def as_dict(comparison: ResultComparison) -> dict[str, Any]:
    """The JSON form printed by ``perfeng compare --json`` (documented in docs/compare.md)."""
    return {
        "kind": comparison.kind,
        "min_effect": comparison.min_effect,
        "alpha": comparison.alpha,
        "verdict": _overall(comparison),
        "machine": None
        if comparison.machine is None
        else {"ratio": comparison.machine.ratio, "kernels": comparison.machine.kernels},
        "rows": [_row_dict(row) for row in comparison.rows],
        "only_in_base": list(comparison.only_in_base),
        "only_in_head": list(comparison.only_in_head),
        "warnings": list(comparison.warnings),
        "failed_in_head": list(comparison.failed_in_head),
        "phases": [row.__dict__ for row in comparison.phases],
    }


def _overall(comparison: ResultComparison) -> str:
    if comparison.slower:
        return "slower"
    if comparison.worse:
        return "failed"
    return "inconclusive" if comparison.inconclusive else "ok"
