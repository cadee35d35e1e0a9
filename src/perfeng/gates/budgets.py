"""Budgets: the limits ``perfeng gate`` holds a result to (grammar in docs/gate.md).

Two forms, both ``STAT[{name=NAME}]`` followed by a limit:

- absolute, ``p99<200ms`` or ``median{name=bench_sort}<=2ms``. On a load-test result this is
  exactly the threshold language of ``perfeng load --threshold`` (``gates.parser``);
- relative to a baseline, ``p99:+10%`` (head may be at most 10 % above the baseline: lower is
  better) or ``throughput:-5%`` (head may be at most 5 % below it: higher is better). The sign
  says which way is worse. The baseline is the median of the same figure over the last results
  in the history (or a baseline file), as Bencher's percentage threshold (limit = baseline x
  (1 +/- boundary)) but centred on a median, so one past outlier does not move it.

Evaluation is pure: it takes the flattened metrics ``{(name, stat): value}`` of the result and
of the baseline and returns verdicts.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from perfeng.errors import UsageError

Kind = Literal["run", "bench", "page"]
Metrics = Mapping[tuple[str, str], float]

# instructions, est_cycles: counted results (bench --instructions), relative budgets only
BENCH_STATS = ("median", "mean", "min", "stdev", "mad", "instructions", "est_cycles")
RUN_STATS = ("p50", "p90", "p95", "p99", "max", "mean", "throughput", "error_rate")
PAGE_STATS = ("ttfb", "fcp", "lcp", "cls", "tbt", "dcl", "load", "requests", "transfer_kb")
_COUNTED = ("instructions", "est_cycles")
PAGE = "page"
TOTAL = "total"
_BENCH_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_HEAD = re.compile(r"\s*(?P<stat>[A-Za-z_][\w.]*)\s*(?:\{\s*name\s*=\s*(?P<name>[^}]*)\})?\s*")
_RELATIVE = re.compile(r":\s*(?P<sign>[+-])\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*%\s*$")
_ABSOLUTE = re.compile(
    r"(?P<op><=|>=|<|>)\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ns|us|µs|ms|s)\s*$"
)


@dataclass(frozen=True)
class Budget:
    """A parsed budget. ``name`` None means every benchmark, or the whole run (``total``)."""

    text: str
    stat: str
    name: str | None
    relative: float | None  # signed fraction for ``:+10%``; None for an absolute limit
    operator: str = ""
    limit: float = 0.0  # absolute bench limits, in seconds


@dataclass(frozen=True)
class BudgetVerdict:
    """One budget on one name. ``passed`` is None when there was no baseline to judge by."""

    expression: str
    name: str
    stat: str
    observed: float | None
    limit: float | None
    baseline: float | None
    passed: bool | None
    note: str = ""
    # the machine's speed moved between the runs and the verdict depends on correcting it
    # (perfeng.gates.calibrated); ``passed`` is then False or None as the budgets file says
    inconclusive: bool = False


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _check_stat(stat: str, kind: Kind, text: str) -> None:
    known = {"bench": BENCH_STATS, "page": PAGE_STATS}.get(kind, RUN_STATS)
    if stat not in known:
        close = difflib.get_close_matches(stat, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
        what = {"bench": "a benchmark", "page": "a page"}.get(kind, "a load test")
        raise UsageError(f"budget {text!r}: unknown figure {stat!r} for {what}{hint}")


def parse_budget(text: str, kind: Kind) -> Budget:
    """A relative budget for either kind, or an absolute budget for a benchmark.

    Absolute load-test budgets are threshold expressions: parse them with
    ``gates.parser.parse_threshold`` (``is_relative`` tells the two apart)."""
    head = _HEAD.match(text)
    if head is None:
        raise UsageError(f"budget {text!r}: expected e.g. 'p99:+10%' or 'median<2ms'")
    stat, name = head["stat"], _unquote(head["name"]) if head["name"] is not None else None
    rest = text[head.end() :]
    relative = _RELATIVE.match(rest)
    if relative:
        _check_stat(stat, kind, text)
        sign = 1.0 if relative["sign"] == "+" else -1.0
        return Budget(text, stat, name, sign * float(relative["number"]) / 100)
    absolute = _ABSOLUTE.match(rest)
    if stat in _COUNTED:
        raise UsageError(
            f"budget {text!r}: a counted figure takes a relative budget, e.g. '{stat}:+1%'"
        )
    if absolute is None or kind != "bench":
        column = head.end() + 1
        raise UsageError(
            f"budget {text!r}, column {column}: expected ':+N%' / ':-N%' or a limit such as '<2ms'"
        )
    _check_stat(stat, kind, text)
    seconds = float(absolute["number"]) * _BENCH_UNITS[absolute["unit"]]
    return Budget(text, stat, name, None, absolute["op"], seconds)


def is_relative(text: str) -> bool:
    return _RELATIVE.search(text) is not None


def names_for(budget: Budget, kind: Kind, metrics: Metrics) -> list[str]:
    if budget.name is not None:
        return [budget.name]
    if kind == "run":
        return [TOTAL]
    if kind == "page":
        return [PAGE]
    return sorted({name for name, stat in metrics if stat == budget.stat})


def evaluate_budget(
    budget: Budget, kind: Kind, head: Metrics, baseline: Metrics
) -> list[BudgetVerdict]:
    """Verdicts of one budget, one per name it applies to."""
    names = names_for(budget, kind, head)
    if not names:
        return [BudgetVerdict(budget.text, "-", budget.stat, None, None, None, False, "no data")]
    return [_judge(budget, name, head, baseline) for name in names]


def _judge(budget: Budget, name: str, head: Metrics, baseline: Metrics) -> BudgetVerdict:
    observed = head.get((name, budget.stat))
    if observed is None:
        return BudgetVerdict(
            budget.text,
            name,
            budget.stat,
            None,
            None,
            None,
            False,
            f"no {budget.stat} for {name!r}",
        )
    if budget.relative is None:
        passed = _OPERATORS[budget.operator](observed, budget.limit)
        return BudgetVerdict(budget.text, name, budget.stat, observed, budget.limit, None, passed)
    reference = baseline.get((name, budget.stat))
    if reference is None:
        return BudgetVerdict(
            budget.text, name, budget.stat, observed, None, None, None, "no baseline"
        )
    limit = reference * (1 + budget.relative)
    passed = observed >= limit if budget.relative < 0 else observed <= limit
    return BudgetVerdict(budget.text, name, budget.stat, observed, limit, reference, passed)
