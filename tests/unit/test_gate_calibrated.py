"""Relative benchmark budgets with the machine's speed taken out (perfeng.gates.calibrated)."""

from __future__ import annotations

from perfeng.gates.budgets import parse_budget
from perfeng.gates.calibrated import evaluate_calibrated, shift_between
from perfeng.report.gate import outcome, render_text

CAL = ":calibration"


def _metrics(median: float, machine: float) -> dict[tuple[str, str], float]:
    return {
        ("sort", "median"): median,
        (CAL, "python_s"): 0.010 * machine,
        (CAL, "memory_s"): 0.020 * machine,
    }


def _judge(head: float, machine: float, policy: str = "warn") -> object:
    baseline, current = _metrics(1e-3, 1.0), _metrics(head, machine)
    budget = parse_budget("median:+5%", "bench")
    shift = shift_between(current, baseline)
    (verdict,) = evaluate_calibrated(budget, "bench", current, baseline, shift, policy)  # type: ignore[arg-type]
    return verdict


def test_the_same_code_on_a_busy_machine_is_inconclusive_and_warns_by_default() -> None:
    verdict = _judge(1.5e-3, 1.5)
    assert verdict.inconclusive and verdict.passed is None  # type: ignore[attr-defined]
    assert "50 % slower during this run than during the baseline's" in verdict.note  # type: ignore[attr-defined]
    assert outcome(verdict) == "inconclusive"  # type: ignore[arg-type]
    text = render_text([verdict], "bench")  # type: ignore[list-item]
    assert "gate: pass: 0 passed, 0 failed, 1 inconclusive" in text


def test_inconclusive_fails_when_the_budgets_file_says_so() -> None:
    verdict = _judge(1.5e-3, 1.5, "fail")
    assert verdict.passed is False and outcome(verdict) == "INCONCLUSIVE"  # type: ignore[attr-defined,arg-type]


def test_a_regression_larger_than_the_machine_shift_fails() -> None:
    verdict = _judge(3e-3, 1.5)
    assert verdict.passed is False and not verdict.inconclusive  # type: ignore[attr-defined]


def test_a_small_shift_is_corrected() -> None:
    verdict = _judge(1.06e-3, 1.04)  # 6 % slower, 4 % of it the machine's
    assert verdict.passed is True and "corrected" in verdict.note  # type: ignore[attr-defined]


def test_without_calibration_the_budget_is_plain() -> None:
    budget = parse_budget("median:+5%", "bench")
    head, baseline = {("sort", "median"): 1.5e-3}, {("sort", "median"): 1e-3}
    assert shift_between(head, baseline) is None
    (verdict,) = evaluate_calibrated(budget, "bench", head, baseline, None, "warn")
    assert verdict.passed is False and verdict.note == ""


def test_a_failure_no_larger_than_the_machine_move_is_inconclusive() -> None:
    verdict = _judge(1.2e-3, 1.1)  # +9 % after the correction, the machine moved +10 %
    assert verdict.inconclusive and verdict.passed is None  # type: ignore[attr-defined]
