"""Thresholds and budgets on page loads.

Page thresholds use the threshold language's shape (docs/thresholds.md) with the page's
metrics: ``lcp<2.5s``, ``cls<0.1``, ``tbt<=200ms``, ``transfer_kb{type=script}<300``,
``requests{type=image}<=20``. The selector of a page threshold is the resource type.

Budgets come from a Lighthouse ``budget.json`` (an array of budgets, each with an optional
``path`` pattern, ``timings`` in ms, ``resourceSizes`` in KB and ``resourceCounts``); the last
budget whose path matches the page applies, as in Lighthouse. Each budget line becomes a
``<=`` threshold, so thresholds and budgets give the same verdicts (and JUnit cases).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from perfeng.errors import ConfigError
from perfeng.gates.evaluate import _COMPARE, Verdict, _margin
from perfeng.gates.parser import (
    _MS_PER_TIME_UNIT,
    _NUMBER,
    _UNIT,
    _WORD,
    Threshold,
    _parse_operator,
    _Scanner,
)
from perfeng.model.page import RESOURCE_TYPES, Run

TIME_METRICS = {
    "ttfb": "ttfb_ms",
    "fcp": "fcp_ms",
    "lcp": "lcp_ms",
    "tbt": "tbt_ms",
    "dcl": "dom_content_loaded_ms",
    "load": "load_ms",
}
TYPES = (*RESOURCE_TYPES, "third-party", "total")
METRICS = (*TIME_METRICS, "cls", "requests", "transfer_kb")


def parse_page_threshold(text: str) -> Threshold:
    s = _Scanner(text)
    s.skip_ws()
    start = s.pos
    metric = s.lexeme(_WORD)
    if metric not in METRICS:
        s.fail(f"unknown page metric {metric!r}; known: {', '.join(METRICS)}", start)
    kind = _selector(s, metric)
    operator = _parse_operator(s)
    s.skip_ws()
    number_at = s.pos
    number = s.lexeme(_NUMBER)
    if not number:
        s.fail("expected a number")
    s.skip_ws()
    unit_at = s.pos
    unit = s.lexeme(_UNIT)
    limit, canonical = _limit(s, metric, float(number), unit, number_at, unit_at)
    s.skip_ws()
    if not s.at_end():
        s.fail("unexpected text; expected the end")
    return Threshold(
        expression=text.strip(),
        metric=metric,
        aggregate="value",
        percentile=None,
        selector_name=kind,
        operator=operator,
        limit=limit,
        unit=canonical,
    )


def _selector(s: _Scanner, metric: str) -> str | None:
    s.skip_ws()
    brace = s.pos
    if not s.take("{"):
        return None
    if metric not in ("requests", "transfer_kb"):
        s.fail(f"{metric} takes no selector (only requests and transfer_kb do)", brace)
    s.skip_ws()
    if s.lexeme(_WORD) != "type":
        s.fail("expected type=... in the selector")
    s.skip_ws()
    if not s.take("="):
        s.fail("expected '=' after 'type'")
    s.skip_ws()
    at = s.pos
    kind = s.lexeme(re.compile(r"[a-z-]+"))
    if kind not in TYPES:
        s.fail(f"unknown resource type {kind!r}; known: {', '.join(TYPES)}", at)
    s.skip_ws()
    if not s.take("}"):
        s.fail("expected '}'")
    return kind


def _limit(
    s: _Scanner, metric: str, number: float, unit: str, number_at: int, unit_at: int
) -> tuple[float, str]:
    if metric in TIME_METRICS:
        if not unit:
            s.fail(f"{metric} limit needs a unit, e.g. {number:g}ms", number_at)
        if unit not in _MS_PER_TIME_UNIT:
            s.fail(f"{unit!r} is not a time unit; use us, ms, s or m", unit_at)
        return number * _MS_PER_TIME_UNIT[unit], "ms"
    if metric == "transfer_kb":
        if unit and unit.lower() != "kb":
            s.fail(f"transfer_kb is in KB; write {number:g} or {number:g}KB", unit_at)
        return number, "KB"
    if unit:
        s.fail(f"{metric} takes no unit", unit_at)
    return number, ("score" if metric == "cls" else "count")


def observed(threshold: Threshold, run: Run) -> float | None:
    metric = threshold.metric
    if metric in TIME_METRICS:
        value: float | None = getattr(run, TIME_METRICS[metric])
        return value
    if metric == "cls":
        return run.cls
    totals = run.by_type.get(threshold.selector_name or "total")
    if totals is None:
        return 0.0
    return float(totals.requests if metric == "requests" else totals.transfer_kb)


def evaluate_page(thresholds: Iterable[Threshold], run: Run) -> list[Verdict]:
    verdicts = []
    for threshold in thresholds:
        value = observed(threshold, run)
        if value is None:
            verdicts.append(Verdict(threshold, None, False, None, "not measured"))
            continue
        passed = _COMPARE[threshold.operator](value, threshold.limit)
        verdicts.append(
            Verdict(threshold, value, passed, _margin(threshold.operator, value, threshold.limit))
        )
    return verdicts


# ---- Lighthouse budget.json -------------------------------------------------------------------

# Lighthouse timing metric -> page threshold metric (the ones perfeng measures).
BUDGET_TIMINGS = {
    "first-contentful-paint": "fcp",
    "largest-contentful-paint": "lcp",
    "cumulative-layout-shift": "cls",
    "total-blocking-time": "tbt",
    "server-response-time": "ttfb",
}


class _Timing(msgspec.Struct, forbid_unknown_fields=True):
    metric: str
    budget: float
    tolerance: float = 0.0


class _Resource(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    resource_type: str
    budget: float


class _Budget(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    path: str = "/*"
    options: dict[str, Any] = {}
    timings: list[_Timing] = []
    resource_sizes: list[_Resource] = []
    resource_counts: list[_Resource] = []


def load_budget(path: str | Path, page_url: str) -> list[Threshold]:
    """The thresholds of the budget that applies to ``page_url``; ``ConfigError`` (exit 2)
    naming the field when the file is not a valid Lighthouse budget."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a budget.json: {exc}") from None
    try:
        budgets = msgspec.convert(raw, list[_Budget])
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {str(exc).replace('$', 'budgets', 1)}") from None
    matching = [b for b in budgets if path_matches(b.path, urlsplit(page_url).path or "/")]
    if not matching:
        return []
    return _thresholds(matching[-1], str(path))


def path_matches(pattern: str, path: str) -> bool:
    """Lighthouse's path patterns: ``*`` matches anything, a trailing ``$`` anchors the end,
    otherwise a pattern matches any path that starts with it."""
    anchored = pattern.endswith("$")
    body = re.escape(pattern.removesuffix("$")).replace(r"\*", ".*")
    return re.fullmatch(body + ("" if anchored else ".*"), path) is not None


def _thresholds(budget: _Budget, where: str) -> list[Threshold]:
    found = []
    for timing in budget.timings:
        metric = BUDGET_TIMINGS.get(timing.metric)
        if metric is None:
            raise ConfigError(
                f"{where}: timings metric {timing.metric!r} is not measured by perfeng;"
                f" use one of {', '.join(BUDGET_TIMINGS)}"
            )
        limit = timing.budget + timing.tolerance
        unit = "" if metric == "cls" else "ms"
        found.append(parse_page_threshold(f"{metric}<={limit:g}{unit}"))
    for key, entries in (
        ("transfer_kb", budget.resource_sizes),
        ("requests", budget.resource_counts),
    ):
        for entry in entries:
            kind = entry.resource_type
            if kind not in TYPES:
                raise ConfigError(
                    f"{where}: resourceType {entry.resource_type!r} is not one of"
                    f" {', '.join(TYPES)}"
                )
            found.append(parse_page_threshold(f"{key}{{type={kind}}}<={entry.budget:g}"))
    return found
