"""Evaluating thresholds against a run summary (``perfeng.model.result.summarize``).

As in k6 thresholds (https://grafana.com/docs/k6/latest/using-k6/thresholds/), every threshold
yields a pass or fail; here the verdict also carries the observed value, the limit and the
margin, so a report can say how close a run came. Evaluation is pure: it takes a summary dict
(and, for ``AbortWatch``, the time) and returns verdicts.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from perfeng.analysis.faults import worst_recovery_s
from perfeng.gates.parser import Threshold
from perfeng.model import histogram as hdr

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_SUMMARY_KEY = {
    "error_rate": "error_rate",
    "throughput": "throughput_rps",
    "dropped": "dropped",
    "requests": "requests",
    "errors": "errors",
}
_STORED_PERCENTILE = {percentile: key for key, percentile in hdr.PERCENTILES}
_UNIT_SUFFIX = {"ms": "ms", "req/s": "/s", "count": "", "s": "s"}
_NO_DATA = "no data"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one threshold.

    ``margin`` is the distance between observed value and limit in the limit's unit, signed so
    that positive means room to spare: ``limit - observed`` for ``<`` and ``<=``,
    ``observed - limit`` for ``>`` and ``>=``, ``-|observed - limit|`` for ``==`` and
    ``|observed - limit|`` for ``!=``. A margin of 0 passes ``<=``, ``>=`` and ``==`` only.
    ``observed`` and ``margin`` are None when there was nothing to measure (see ``note``).
    """

    threshold: Threshold
    observed: float | None
    passed: bool
    margin: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The entry of the result document's ``summary.thresholds`` list."""
        threshold = self.threshold
        return {
            "expression": threshold.expression,
            "metric": threshold.metric,
            "observed": self.observed,
            "limit": threshold.limit,
            "unit": threshold.unit,
            "operator": threshold.operator,
            "pass": self.passed,
            "margin": self.margin,
            "abort": threshold.abort,
            "note": self.note,
        }

    def describe(self) -> str:
        """One line, e.g. ``p99<200ms: 153.2ms (limit 200ms) pass``."""
        unit = self.threshold.unit
        observed = "-" if self.observed is None else format_value(self.observed, unit)
        limit = format_value(self.threshold.limit, unit)
        outcome = "pass" if self.passed else "fail"
        note = f" ({self.note})" if self.note else ""
        return f"{self.threshold.expression}: {observed} (limit {limit}) {outcome}{note}"


def format_value(value: float, unit: str) -> str:
    """A value in a threshold's canonical unit, as a user would write it: 1.5%, 200ms, 900/s."""
    if unit == "ratio":
        return f"{_trim(value * 100)}%"
    return _trim(value) + _UNIT_SUFFIX[unit]


def _trim(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def evaluate(threshold: Threshold, summary: Mapping[str, Any]) -> Verdict:
    """Compare one threshold with a summary; no data (or an unknown name) fails."""
    observed, note = _observe(threshold, summary)
    if observed is None:
        return Verdict(threshold, None, False, None, note or _NO_DATA)
    passed = _COMPARE[threshold.operator](observed, threshold.limit)
    margin = round(_margin(threshold.operator, observed, threshold.limit), 9)
    return Verdict(threshold, observed, passed, margin, note)


def evaluate_all(
    thresholds: Iterable[Threshold], summary: Mapping[str, Any]
) -> tuple[Verdict, ...]:
    return tuple(evaluate(threshold, summary) for threshold in thresholds)


def _margin(op: str, observed: float, limit: float) -> float:
    if op in ("<", "<="):
        return limit - observed
    if op in (">", ">="):
        return observed - limit
    distance = abs(observed - limit)
    return -distance if op == "==" else distance


def _observe(threshold: Threshold, summary: Mapping[str, Any]) -> tuple[float | None, str]:
    """The observed value in the threshold's canonical unit, and a note when there is none."""
    name = threshold.selector_name
    scope = summary if name is None else summary.get("by_name", {}).get(name)
    if scope is None:
        return None, f"no requests named {name!r}"
    if threshold.unit == "ms":
        return _latency_ms(threshold, scope, summary)
    if threshold.metric == "recovery_s":
        return worst_recovery_s(summary.get("faults") or [])
    return float(scope[_SUMMARY_KEY[threshold.metric]]), ""


def _latency_ms(
    threshold: Threshold, scope: Mapping[str, Any], summary: Mapping[str, Any]
) -> tuple[float | None, str]:
    metric = threshold.metric
    stats = scope.get(f"{metric}_ms") or (scope.get("phases_ms") or {}).get(metric)
    if stats is None:  # a phase that did not happen (no TLS over http, no new connection)
        return None, f"no request went through the {metric} phase"
    percentile = threshold.percentile
    key = threshold.aggregate if percentile is None else _STORED_PERCENTILE.get(percentile)
    if key is not None:
        value = stats.get(key)
        return (None if value is None else float(value)), ""
    assert percentile is not None  # only percentiles can be missing from the stored stats
    encoded = _histogram(threshold, summary)
    if encoded is None:
        return None, f"the summary has no {threshold.metric} histogram to compute p({percentile:g})"
    return hdr.value_at_ms(hdr.decode(encoded), percentile), ""


def _histogram(threshold: Threshold, summary: Mapping[str, Any]) -> str | None:
    """The encoded HdrHistogram that percentiles not kept in the summary are computed from."""
    histograms = summary.get("histograms", {})
    name = threshold.selector_name
    group = histograms.get("all", {}) if name is None else histograms.get("by_name", {}).get(name)
    group = group or {}
    encoded = group.get(threshold.metric) or (group.get("phases") or {}).get(threshold.metric)
    return None if encoded is None else str(encoded)


class AbortWatch:
    """Tracks the ``:abort`` thresholds over a run, as k6's ``abortOnFail``/``delayAbortEval``.

    ``update`` is called periodically with the running summary. A threshold fires once it has
    been failing continuously for at least its ``abort_delay_s``; passing again resets its clock.
    A verdict without data (nothing recorded yet, or no request of that name so far) neither
    starts nor resets the clock: at the start of a run there is simply nothing to judge.
    """

    def __init__(self, thresholds: Iterable[Threshold]) -> None:
        self.thresholds = tuple(t for t in thresholds if t.abort)
        self._failing_since: dict[int, float] = {}

    def update(self, now_s: float, summary: Mapping[str, Any]) -> Verdict | None:
        """The first verdict that has failed long enough to abort the run, or None."""
        fired: Verdict | None = None
        for index, threshold in enumerate(self.thresholds):
            verdict = evaluate(threshold, summary)
            if verdict.observed is None:
                continue
            if verdict.passed:
                self._failing_since.pop(index, None)
                continue
            since = self._failing_since.setdefault(index, now_s)
            if fired is None and now_s - since >= threshold.abort_delay_s:
                fired = verdict
        return fired
