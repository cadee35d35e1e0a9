"""The budget language of ``perfeng gate``: parsing, and verdicts against a baseline."""

from __future__ import annotations

import pytest

from perfeng.errors import UsageError
from perfeng.gates.budgets import evaluate_budget, is_relative, parse_budget


def test_relative_budgets_carry_their_sign() -> None:
    up = parse_budget("p99:+10%", "run")
    assert (up.stat, up.name, up.relative) == ("p99", None, pytest.approx(0.10))
    down = parse_budget("throughput{name=GET /}:-5%", "run")
    assert (down.name, down.relative) == ("GET /", pytest.approx(-0.05))
    assert is_relative("median:+5%") and not is_relative("p99<200ms")


def test_absolute_bench_budgets_are_in_seconds() -> None:
    budget = parse_budget("median{name='bench_sort[n=10]'}<=2ms", "bench")
    assert (budget.name, budget.operator, budget.limit) == ("bench_sort[n=10]", "<=", 0.002)
    assert parse_budget("min<500ns", "bench").limit == pytest.approx(5e-7)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("p99:+10%", "bench", "unknown figure 'p99' for a benchmark"),
        ("medain:+5%", "bench", "did you mean 'median'"),
        ("median<2", "bench", "column 7"),
        ("p99<200ms", "run", "expected ':\\+N%'"),  # absolute load budgets are thresholds
        ("", "run", "expected"),
        ("median:+five%", "bench", "column 7"),
    ],
)
def test_bad_budgets_say_why(text: str, kind: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_budget(text, kind)  # type: ignore[arg-type]


def test_relative_verdicts_against_the_baseline() -> None:
    head = {("total", "p99"): 110.0, ("total", "throughput"): 940.0}
    baseline = {("total", "p99"): 100.0, ("total", "throughput"): 1000.0}
    (p99,) = evaluate_budget(parse_budget("p99:+10%", "run"), "run", head, baseline)
    assert (p99.passed, p99.limit, p99.baseline) == (True, pytest.approx(110.0), 100.0)
    (tight,) = evaluate_budget(parse_budget("p99:+5%", "run"), "run", head, baseline)
    assert tight.passed is False
    (rate,) = evaluate_budget(parse_budget("throughput:-5%", "run"), "run", head, baseline)
    assert rate.passed is False and rate.limit == pytest.approx(950.0)


def test_a_budget_without_a_baseline_is_skipped_not_passed() -> None:
    (verdict,) = evaluate_budget(
        parse_budget("p99:+10%", "run"), "run", {("total", "p99"): 1.0}, {}
    )
    assert verdict.passed is None and verdict.note == "no baseline"


def test_a_bench_budget_without_a_name_applies_to_every_benchmark() -> None:
    head = {("a", "median"): 0.001, ("b", "median"): 0.003, ("b", "mean"): 0.004}
    verdicts = evaluate_budget(parse_budget("median<2ms", "bench"), "bench", head, {})
    assert [(v.name, v.passed) for v in verdicts] == [("a", True), ("b", False)]


def test_an_unknown_name_fails_with_a_note() -> None:
    (verdict,) = evaluate_budget(parse_budget("median{name=x}<1s", "bench"), "bench", {}, {})
    assert verdict.passed is False and "no median for 'x'" in verdict.note
