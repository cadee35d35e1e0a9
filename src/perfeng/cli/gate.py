"""``perfeng gate RESULT``: hold a result to the budgets of perfeng.toml (docs/gate.md)."""

from __future__ import annotations

import argparse
import difflib
import json
import statistics
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from perfeng.errors import ConfigError, ExitCode, UsageError
from perfeng.gates.budgets import TOTAL, Budget, BudgetVerdict, Kind, Metrics
from perfeng.gates.calibrated import CALIBRATION_NAME, Policy

_SECTION_KEYS = ("load", "bench", "page", "baseline", "inconclusive")
_BASELINE_KEYS = ("branch", "last")
_LIST_KEY = {"run": "load", "bench": "bench", "page": "page"}


@dataclass(frozen=True)
class Config:
    load: tuple[str, ...]
    bench: tuple[str, ...]
    branch: str | None
    last: int
    page: tuple[str, ...] = ()
    # a benchmark budget the machine's speed change leaves undecided: "warn" or "fail"
    inconclusive: Policy = "warn"


def _unknown(key: str, known: tuple[str, ...], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
    return ConfigError(f"{where}: unknown key {key!r}{hint}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where} must be a list of strings, e.g. ["p99<200ms"]')
    return tuple(value)


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (give the budgets with --budgets FILE)") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: cannot read: not UTF-8 text") from None


def read_config(path: str) -> Config:
    section = _read_toml(path).get("budgets")
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: no [budgets] table")
    for key in section:
        if key not in _SECTION_KEYS:
            raise _unknown(key, _SECTION_KEYS, f"{path} [budgets]")
    baseline = section.get("baseline", {})
    if not isinstance(baseline, dict):
        raise ConfigError(f"{path} [budgets] baseline must be a table: [budgets.baseline]")
    for key in baseline:
        if key not in _BASELINE_KEYS:
            raise _unknown(key, _BASELINE_KEYS, f"{path} [budgets.baseline]")
    last = baseline.get("last", 5)
    if not isinstance(last, int) or isinstance(last, bool) or last < 1:
        raise ConfigError(f"{path} [budgets.baseline] last must be a whole number of at least 1")
    branch = baseline.get("branch")
    if branch is not None and not isinstance(branch, str):
        raise ConfigError(f"{path} [budgets.baseline] branch must be a string")
    inconclusive = section.get("inconclusive", "warn")
    if inconclusive not in ("warn", "fail"):
        raise ConfigError(f'{path} [budgets] inconclusive must be "warn" or "fail"')
    return Config(
        _strings(section.get("load", []), f"{path} [budgets] load"),
        _strings(section.get("bench", []), f"{path} [budgets] bench"),
        branch,
        last,
        _strings(section.get("page", []), f"{path} [budgets] page"),
        inconclusive,
    )


def _flatten(document: dict[str, Any]) -> dict[tuple[str, str], float]:
    from perfeng.store.metrics import flatten

    return {(name, stat): value for name, stat, value in flatten(document)}


def _load_absolute(texts: list[str], summary: dict[str, Any]) -> list[BudgetVerdict]:
    from perfeng.gates.evaluate import evaluate
    from perfeng.gates.parser import parse_threshold

    verdicts = []
    for text in texts:
        verdict = evaluate(parse_threshold(text), summary)
        threshold = verdict.threshold
        verdicts.append(
            BudgetVerdict(
                text,
                threshold.selector_name or TOTAL,
                threshold.metric,
                verdict.observed,
                threshold.limit,
                None,
                verdict.passed,
                verdict.note,
            )
        )
    return verdicts


def _page_absolute(texts: list[str], document: dict[str, Any]) -> list[BudgetVerdict]:
    """Absolute page budgets are page thresholds (``lcp<2.5s``) on the median run."""
    from perfeng.gates.page import evaluate_page, parse_page_threshold
    from perfeng.model.page import read_page

    page = read_page(document, "the page result")
    median = page.runs[page.summary.median_run]
    return [
        BudgetVerdict(
            v.threshold.expression,
            "page",
            v.threshold.metric,
            v.observed,
            v.threshold.limit,
            None,
            v.passed,
            v.note,
        )
        for v in evaluate_page([parse_page_threshold(t) for t in texts], median)
    ]


def _history_baseline(
    budgets: list[Budget],
    kind: Kind,
    head: dict[str, Any],
    args: argparse.Namespace,
    config: Config,
) -> Metrics:
    """The median of each needed figure over the last ``config.last`` stored results, leaving
    out results of the head's own commit (a result saved before it is gated)."""
    from perfeng.gates.budgets import names_for
    from perfeng.store import open_store

    metrics = _flatten(head)
    wanted = {(name, b.stat) for b in budgets for name in names_for(b, kind, metrics)}
    wanted |= {key for key in metrics if key[0] == CALIBRATION_NAME}  # the machine's speed
    commit = head.get("metadata", {}).get("git_commit")
    baseline: dict[tuple[str, str], float] = {}
    with open_store(args.store, must_exist=True) as store:
        for name, stat in sorted(wanted):
            points = store.series(name, stat, kind=kind, branch=config.branch)
            values = [p.value for p in points if commit is None or p.git_commit != commit]
            if values:
                baseline[(name, stat)] = statistics.median(values[-config.last :])
    return baseline


def _file_baseline(path: str, kind: str) -> Metrics:
    from perfeng.cli.compare import load_comparable
    from perfeng.model.result import DocumentError

    try:
        baseline_kind, document = load_comparable(path, "gate")
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None
    if baseline_kind != kind:
        raise ConfigError(f"--baseline {path} is not the same kind of result as the one gated")
    return _flatten(document)


def run(args: argparse.Namespace) -> int:
    from perfeng.cli.compare import load_comparable
    from perfeng.gates.budgets import is_relative, parse_budget
    from perfeng.gates.calibrated import evaluate_calibrated, shift_between
    from perfeng.model.result import DocumentError

    config = read_config(args.budgets)
    try:
        kind_text, document = load_comparable(args.result, "gate")
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None
    kind: Kind = "bench" if kind_text == "bench" else "page" if kind_text == "page" else "run"
    texts = list({"bench": config.bench, "page": config.page}.get(kind, config.load))
    if not texts:
        raise ConfigError(f"{args.budgets}: no [budgets] {_LIST_KEY[kind]} list for this result")
    absolute = [t for t in texts if kind != "bench" and not is_relative(t)]
    budgets = [parse_budget(t, kind) for t in texts if t not in absolute]
    if kind == "page":
        verdicts = _page_absolute(absolute, document)
    else:
        verdicts = _load_absolute(absolute, document["summary"]) if absolute else []
    if budgets:
        head = _flatten(document)
        relative = [b for b in budgets if b.relative is not None]
        baseline = _baseline(relative, kind, document, args, config) if relative else {}
        shift = shift_between(head, baseline) if kind == "bench" else None
        for budget in budgets:
            verdicts += evaluate_calibrated(
                budget, kind, head, baseline, shift, config.inconclusive
            )
    if kind == "bench":
        verdicts += _failed_benchmarks(document)
    verdicts += _incomplete(document)
    _output(verdicts, kind, args)
    return int(
        ExitCode.THRESHOLD_FAILED if any(v.passed is False for v in verdicts) else ExitCode.OK
    )


def _incomplete(document: dict[str, Any]) -> list[BudgetVerdict]:
    """A stopped run or a checkpoint did not measure what was planned: it cannot pass."""
    from perfeng.analysis.result_compare import incomplete

    why = incomplete(document)
    note = f"the result is {why}; gate a complete result"
    return (
        [BudgetVerdict("result complete", "-", "-", None, None, None, False, note)] if why else []
    )


def _failed_benchmarks(document: dict[str, Any]) -> list[BudgetVerdict]:
    """A benchmark that raised cannot meet any budget: it fails the gate, never slips by."""
    return [
        BudgetVerdict(
            "benchmark ran",
            entry["name"],
            "-",
            None,
            None,
            None,
            False,
            f"failed: {entry['error']}",
        )
        for entry in document["benchmarks"]
        if entry.get("error")
    ]


def _baseline(
    budgets: list[Budget],
    kind: Kind,
    document: dict[str, Any],
    args: argparse.Namespace,
    config: Config,
) -> Metrics:
    if args.baseline:
        return _file_baseline(args.baseline, kind)
    return _history_baseline(budgets, kind, document, args, config)


def _output(verdicts: list[BudgetVerdict], kind: Kind, args: argparse.Namespace) -> None:
    from perfeng.report import gate as renderer

    if args.junit:
        try:
            Path(args.junit).write_text(renderer.render_junit(verdicts, kind), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.junit}: {exc}") from None
    if args.json:
        print(json.dumps({"kind": kind, "verdicts": [asdict(v) for v in verdicts]}, indent=2))
    else:
        print(renderer.render_text(verdicts, kind), end="")
