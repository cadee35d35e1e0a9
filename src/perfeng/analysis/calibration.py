"""How much slower the machine was during one run than during another, from the fixed
calibration kernels every worker times beside the benchmarks (``perfeng.bench.calibration``).

- Each kernel's speed ratio is head's median time over base's median time for the same fixed
  work; the machine's ratio is the geometric mean over the kernels, the one mean of ratios
  that does not depend on which side is the reference (Fleming & Wallace 1986, "How not to
  lie with statistics: the correct way to summarize benchmark results", CACM 29(3)).
- Head's timings divided by that ratio are head's timings on base's machine.
- Whether to trust the division: when the machine moved by more than the effect the
  comparison asks about, a verdict stands only if it is the same whether or not head is
  divided, and a change (slower or faster) only if it is also larger than the machine's own
  move; otherwise it is ``inconclusive`` and says by how much the machine moved. A
  whole-machine shift is seldom uniform across workloads (the kernels bracket pure
  interpreter work and memory traffic), so a large correction is an estimate, not a fact.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

KERNEL_STAT_SUFFIX = "_s"  # stored metric of a kernel: (CALIBRATION, "python_s")
CALIBRATION = ":calibration"  # the name of the calibration rows among the benchmarks'


@dataclass(frozen=True)
class MachineShift:
    """``ratio`` > 1: the machine was slower during head's run (its kernels took longer)."""

    ratio: float
    kernels: dict[str, float]  # each kernel's head / base median

    @property
    def change(self) -> float:
        """The shift as a fraction: 0.3 means 30 % slower during head's run."""
        return self.ratio - 1

    def describe(self, during: str = "head's run") -> str:
        amount = abs(self.change) * 100
        way = "slower" if self.change > 0 else "faster"
        return f"the machine was {amount:.0f} % {way} during {during}"


def medians(calibration: Mapping[str, Sequence[float]] | None) -> dict[str, float]:
    """Each kernel's median time; {} without calibration."""
    if not calibration:
        return {}
    return {k: statistics.median(v) for k, v in calibration.items() if v}


def machine_shift(base: Mapping[str, float], head: Mapping[str, float]) -> MachineShift | None:
    """The shift between two sides' kernel medians, or None when they share no kernel."""
    kernels = {
        k: head[k] / base[k] for k in sorted(base) if k in head and base[k] > 0 and head[k] > 0
    }
    if not kernels:
        return None
    ratio = math.exp(statistics.fmean(math.log(r) for r in kernels.values()))
    return MachineShift(ratio, kernels)


def trusted(shift: MachineShift, effect: float) -> bool:
    """A correction no larger than the effect asked about is applied without question."""
    return abs(shift.change) <= effect


def beyond(change: float, shift: MachineShift) -> bool:
    """Whether a corrected change is larger than the machine's own move. The correction is an
    estimate whose error can be as large as itself (a loaded runner slowed a 1-us benchmark
    by 20 % while the kernels moved 10 %), so a smaller change is not told from that error."""
    return abs(change) > abs(shift.change)
