"""Relative benchmark budgets across separate runs, with the machine's speed taken out.

A relative budget (``median:+5%``) holds a result to a baseline measured in other runs: on a
shared runner the whole machine may have been slower during one of them. Both documents carry
the medians of the same fixed calibration kernels (store rows ``:calibration``), so the rule
of ``perfeng compare`` applies (``perfeng.analysis.calibration``): head's times are divided by
the machine's ratio; when the machine moved by more than the budget allows and the verdict
changes with that division (or a failure is no larger than the machine's own move), the
verdict is inconclusive, which fails the gate or only warns as
``[budgets] inconclusive`` says.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from perfeng.analysis.calibration import MachineShift, beyond, machine_shift, trusted
from perfeng.gates.budgets import Budget, BudgetVerdict, Kind, Metrics, evaluate_budget

Policy = Literal["fail", "warn"]
CALIBRATION_NAME = ":calibration"  # as perfeng.store.metrics stores it
TIMED_STATS = ("median", "mean", "min", "stdev", "mad")


def _kernels(metrics: Metrics) -> dict[str, float]:
    return {
        stat.removesuffix("_s"): value
        for (name, stat), value in metrics.items()
        if name == CALIBRATION_NAME
    }


def shift_between(head: Metrics, baseline: Metrics) -> MachineShift | None:
    """How much slower the machine was during head's run than during the baseline's."""
    return machine_shift(_kernels(baseline), _kernels(head))


def evaluate_calibrated(
    budget: Budget,
    kind: Kind,
    head: Metrics,
    baseline: Metrics,
    shift: MachineShift | None,
    policy: Policy,
) -> list[BudgetVerdict]:
    """The budget's verdicts, on head put on the baseline's machine when that is known."""
    if shift is None or budget.relative is None or budget.stat not in TIMED_STATS:
        return evaluate_budget(budget, kind, head, baseline)
    scaled_head = {
        key: value / shift.ratio if key[1] in TIMED_STATS else value for key, value in head.items()
    }
    raw = evaluate_budget(budget, kind, head, baseline)
    scaled = evaluate_budget(budget, kind, scaled_head, baseline)
    moved = shift.describe("this run than during the baseline's")
    verdicts = []
    for before, after in zip(raw, scaled, strict=True):
        if trusted(shift, abs(budget.relative)) or _stands(before, after, shift):
            verdicts.append(replace(after, note=_joined(after.note, f"{moved}: corrected")))
        else:
            verdicts.append(
                replace(
                    after,
                    passed=False if policy == "fail" else None,
                    inconclusive=True,
                    note=f"inconclusive: {moved}",
                )
            )
    return verdicts


def _stands(before: BudgetVerdict, after: BudgetVerdict, shift: MachineShift) -> bool:
    """Both readings agree, and a failure is larger than the machine's own move."""
    if before.passed != after.passed:
        return False
    if after.passed or after.observed is None or not after.baseline:
        return True
    return beyond(after.observed / after.baseline - 1, shift)


def _joined(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second
