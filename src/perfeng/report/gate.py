"""Render budget verdicts (``perfeng gate``) as a plain table or as JUnit XML."""

from __future__ import annotations

from perfeng.gates.budgets import BudgetVerdict, Kind
from perfeng.report.comparison import value_text
from perfeng.report.junit import Case, render_cases

_MS_STATS = ("p50", "p90", "p95", "p99", "max", "mean", "latency", "service_time")


def figure(value: float | None, kind: Kind, stat: str) -> str:
    if value is None:
        return "-"
    if kind == "bench":  # instructions / est_cycles: counted (bench --instructions)
        return value_text(value, stat if stat in ("instructions", "est_cycles") else "s")
    if kind == "page":
        return f"{value:,.4g}" + (
            " ms" if stat in ("ttfb", "fcp", "lcp", "tbt", "dcl", "load") else ""
        )
    if stat in _MS_STATS:
        return value_text(value, "ms")
    if stat == "throughput":
        return value_text(value, "req/s")
    if stat == "error_rate":
        return f"{value:.2%}"
    return f"{value:g}"


def outcome(verdict: BudgetVerdict) -> str:
    if verdict.inconclusive:
        return "INCONCLUSIVE" if verdict.passed is False else "inconclusive"
    return {True: "pass", False: "FAIL", None: "skipped"}[verdict.passed]


def _line(verdict: BudgetVerdict, kind: Kind) -> tuple[str, ...]:
    baseline = figure(verdict.baseline, kind, verdict.stat) if verdict.baseline is not None else ""
    return (
        verdict.expression,
        verdict.name,
        figure(verdict.observed, kind, verdict.stat),
        figure(verdict.limit, kind, verdict.stat),
        baseline,
        outcome(verdict),
        verdict.note,
    )


def render_text(verdicts: list[BudgetVerdict], kind: Kind) -> str:
    header = ("budget", "name", "observed", "limit", "baseline", "verdict", "note")
    table = [header, *(_line(v, kind) for v in verdicts)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    failed = sum(v.passed is False for v in verdicts)
    warned = sum(v.passed is None and v.inconclusive for v in verdicts)
    skipped = sum(v.passed is None and not v.inconclusive for v in verdicts)
    lines.append("")
    lines.append(
        f"gate: {'FAIL' if failed else 'pass'}: {len(verdicts) - failed - skipped - warned} "
        f"passed, {failed} failed"
        + (f", {skipped} skipped (no baseline)" if skipped else "")
        + (f", {warned} inconclusive (the machine's speed moved; warned)" if warned else "")
    )
    return "\n".join(lines) + "\n"


def render_junit(verdicts: list[BudgetVerdict], kind: Kind) -> str:
    cases = []
    for v in verdicts:
        observed, limit = figure(v.observed, kind, v.stat), figure(v.limit, kind, v.stat)
        baseline = (
            f", baseline {figure(v.baseline, kind, v.stat)}" if v.baseline is not None else ""
        )
        cases.append(
            Case(
                f"{v.expression} [{v.name}]",
                v.passed,
                f"observed {observed}, limit {limit}{baseline}",
                v.note,
                f"observed {observed}; limit {limit}{baseline}; {outcome(v)}",
            )
        )
    return render_cases("perfeng.budgets", cases, 0.0)
