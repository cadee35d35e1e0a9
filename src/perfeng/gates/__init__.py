"""Thresholds: a tiny parsed language for pass/fail gates, modelled on k6 thresholds.

``parse_threshold("p99<200ms")`` gives a ``Threshold``; ``evaluate`` compares it with a run
summary and gives a ``Verdict`` with the observed value, limit and margin. ``AbortWatch`` stops
a run early on ``:abort`` thresholds. The language is documented in docs/thresholds.md.
"""

from perfeng.gates.evaluate import AbortWatch, Verdict, evaluate, evaluate_all, format_value
from perfeng.gates.parser import (
    METRICS,
    OPERATORS,
    SELECTOR_KEYS,
    Threshold,
    ThresholdSyntaxError,
    parse_threshold,
    parse_thresholds,
)

__all__ = [
    "METRICS",
    "OPERATORS",
    "SELECTOR_KEYS",
    "AbortWatch",
    "Threshold",
    "ThresholdSyntaxError",
    "Verdict",
    "evaluate",
    "evaluate_all",
    "format_value",
    "parse_threshold",
    "parse_thresholds",
]
