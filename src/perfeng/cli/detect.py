"""``perfeng detect``: change points in a benchmark history, and is the newest level worse?

The series comes from a source function (a CSV file today); one shared path then runs the
analysis and prints the table or the JSON object, so another source only adds a function.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perfeng.errors import ConfigError, ExitCode, UsageError

if TYPE_CHECKING:
    from perfeng.analysis.changepoint import ChangePoint

MIN_POINTS = 6
COMMIT_COLUMNS = ("commit", "git_commit")
TIME_COLUMNS = ("time", "created_utc")  # created_utc: what `perfeng history export` writes
LABEL_COLUMNS = (*COMMIT_COLUMNS, *TIME_COLUMNS)
COUNTED_STATS = ("instructions", "est_cycles")  # bench --instructions (docs/bench.md)
COUNTED_MIN_MAGNITUDE = 0.01
DEFAULT_WINDOW = 50  # the --window default (cli/main.py): a window the user did not choose
# Plain decimal or exponent notation, ASCII digits only: float() also takes 1_000 and "١٢".
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NON_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
Row = tuple[int, list[str]]  # a CSV row: (line number, cells)


@dataclass(frozen=True)
class Series:
    """One metric over time, oldest first, with the commit and time of each value if known."""

    source: str  # where it came from, for messages and the JSON ("file.csv")
    column: str
    values: list[float]
    commits: list[str] | None = None
    times: list[str] | None = None


@dataclass(frozen=True)
class Options:
    alpha: float
    window: int
    min_size: int
    min_magnitude: float
    higher_is_better: bool


def run(args: argparse.Namespace) -> int:
    if args.series is None and args.metric is None:
        raise UsageError("give a CSV file or --metric NAME:STAT (history)")
    if args.series is not None and args.metric is not None:
        raise UsageError("give either a CSV file or --metric NAME:STAT (history), not both")
    if args.metric is None and (args.store or args.branch):
        raise UsageError("--store and --branch go with --metric")
    options = parse_options(args)
    if args.metric is not None:
        series = series_from_store(args.metric, args.store, args.branch)
        if series.column == "throughput" and not args.higher_is_better:
            options = dataclasses.replace(options, higher_is_better=True)
    else:
        series = series_from_csv(args.series, args.column)
    if args.min_magnitude is None and series.column in COUNTED_STATS:
        # Counts have no noise to hide a small step in: below 1 % is not a change.
        options = dataclasses.replace(options, min_magnitude=COUNTED_MIN_MAGNITUDE)
    return analyse(series, options, as_json=args.json)


def series_from_store(metric: str, url: str | None, branch: str | None) -> Series:
    """``NAME:STAT`` over the history database, oldest first (``total:p99``,
    ``bench_sort:median``): the figures ``perfeng history export`` lists."""
    from perfeng.gates.budgets import BENCH_STATS, PAGE_STATS, RUN_STATS
    from perfeng.store import open_store

    name, _, stat = metric.rpartition(":")
    known = dict.fromkeys((*RUN_STATS, *BENCH_STATS, *PAGE_STATS))
    if not name or stat not in known:
        raise UsageError(
            f"invalid --metric {metric!r}: use NAME:STAT, e.g. total:p99, bench_sort:median or"
            " page:lcp "
            f"(STAT one of {', '.join(known)})"
        )
    with open_store(url, must_exist=True) as store:
        points = store.series(name, stat, branch=branch)
        where = store.url
    if len(points) < MIN_POINTS:
        raise ConfigError(
            f"{where}: {len(points)} stored values of {metric!r}; need at least {MIN_POINTS}"
        )
    return Series(
        f"{where} {metric}",
        stat,
        [p.value for p in points],
        [p.git_commit or "" for p in points],
        [p.created_utc for p in points],
    )


def parse_options(args: argparse.Namespace) -> Options:
    from perfeng.units import parse_fraction

    alpha = _number(args.alpha, "--alpha")
    if not 0 < alpha < 1:
        raise UsageError(f"invalid --alpha {args.alpha!r}: must be between 0 and 1")
    min_size = _whole(args.min_size, "--min-size")
    if min_size < 2:
        raise UsageError(f"invalid --min-size {args.min_size!r}: must be at least 2")
    window = _whole(args.window, "--window")
    if window < 2 * min_size and window == DEFAULT_WINDOW:
        raise UsageError(
            f"invalid --min-size {args.min_size!r}: needs a window of at least {2 * min_size} "
            f"(--window, default {DEFAULT_WINDOW})"
        )
    if window < 2 * min_size:
        raise UsageError(
            f"invalid --window {args.window!r}: must be at least 2 x --min-size = {2 * min_size}"
        )
    magnitude = parse_fraction(args.min_magnitude or "0", "--min-magnitude", high=10.0)
    return Options(alpha, window, min_size, magnitude, args.higher_is_better)


def _whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"invalid {what} {text!r}: expected a whole number") from None


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"invalid {what} {text!r}: expected a number") from None
    if not math.isfinite(value):
        raise UsageError(f"invalid {what} {text!r}: expected a finite number")
    return value


def series_from_csv(path_text: str, column: str | None) -> Series:
    """A CSV file with a header: the values of ``column`` (default ``value``, or the only
    numeric column), with the ``commit``/``git_commit`` and ``time`` columns when present."""
    from pathlib import Path

    path = Path(path_text)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read: {reason}") from None
    rows = _rows(path, text)
    if not rows:
        raise ConfigError(f"{path}: empty file: expected a header line and values")
    header, body = _header(path, rows[0]), rows[1:]
    name = _pick_column(path, header, body, column)
    values = _numbers(path, body, header.index(name))
    if len(values) < MIN_POINTS:
        raise ConfigError(f"{path}: {len(values)} values in {name!r}; need at least {MIN_POINTS}")
    commit = next((c for c in COMMIT_COLUMNS if c in header), None)
    time = next((c for c in TIME_COLUMNS if c in header), None)
    return Series(
        str(path),
        name,
        values,
        _labels(body, header.index(commit)) if commit else None,
        _labels(body, header.index(time)) if time else None,
    )


def _rows(path: Any, text: str) -> list[Row]:
    """The CSV rows that are not blank, each with the line it ends on."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise ConfigError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None
    return rows


def _header(path: Any, row: Row) -> list[str]:
    line, cells = row
    header = [c.strip() for c in cells]
    if all(_cell_number(c) is not None for c in header):
        raise ConfigError(f"{path}:{line}: no header line: the first line must name the columns")
    named = [name for name in header if name]
    duplicate = next((name for name in named if named.count(name) > 1), None)
    if duplicate is not None:
        raise ConfigError(f"{path}:{line}: duplicate column {duplicate!r}")
    return header


def _pick_column(path: Any, header: list[str], body: list[Row], column: str | None) -> str:
    if column is not None:
        if column not in header:
            raise ConfigError(f"{path}: no column {column!r} (columns: {', '.join(header)})")
        return column
    if "value" in header:
        return "value"
    numeric = [
        name
        for i, name in enumerate(header)
        if name not in LABEL_COLUMNS and body and all(_is_number(row, i) for _, row in body)
    ]
    if len(numeric) != 1:
        raise ConfigError(
            f"{path}: no 'value' column and {len(numeric)} numeric columns; "
            f"choose one with --column (columns: {', '.join(header)})"
        )
    return numeric[0]


def _cell_number(cell: str) -> float | None:
    """The number in a cell (inf and nan included), or None: only plain decimal or exponent
    notation counts, not Python's 1_000 nor non-ASCII digits."""
    text = cell.strip()
    if NUMBER.fullmatch(text) or NON_FINITE.fullmatch(text):
        return float(text)
    return None


def _is_number(row: list[str], i: int) -> bool:
    value = _cell_number(row[i]) if i < len(row) else None
    return value is not None and math.isfinite(value)


def _numbers(path: Any, body: list[Row], i: int) -> list[float]:
    values = []
    for line, row in body:
        cell = row[i].strip() if i < len(row) else ""
        value = _cell_number(cell)
        if value is None:
            raise ConfigError(f"{path}:{line}: expected a number, got {cell!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{path}:{line}: expected a finite number, got {cell!r}")
        values.append(value)
    return values


def _labels(body: list[Row], i: int) -> list[str]:
    return [row[i].strip() if i < len(row) else "" for _, row in body]


def analyse(series: Series, options: Options, *, as_json: bool) -> int:
    """The shared path: detect, print, and exit 1 when the newest segment is worse."""
    from perfeng.analysis.changepoint import detect, newest_is_regression

    try:
        points = detect(
            series.values,
            alpha=options.alpha,
            window=options.window,
            min_magnitude=options.min_magnitude,
            min_size=options.min_size,
        )
    except ValueError as exc:  # options are checked above, so this is about the values
        raise ConfigError(f"{series.source}: {exc}") from None
    worse = newest_is_regression(series.values, points, higher_is_better=options.higher_is_better)
    if as_json:
        print(json.dumps(to_json(series, options, points, worse), indent=1))
    else:
        print(render(series, options, points, worse))
    return int(ExitCode.THRESHOLD_FAILED if worse else ExitCode.OK)


def _point_dict(series: Series, point: ChangePoint) -> dict[str, Any]:
    def finite(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return {
        "index": point.index,
        "commit": (series.commits[point.index] or None) if series.commits else None,
        "time": (series.times[point.index] or None) if series.times else None,
        "mean_before": point.mean_before,
        "mean_after": point.mean_after,
        "change_percent": finite(point.change_percent),
        "p_value": point.p_value,
    }


def to_json(
    series: Series, options: Options, points: list[ChangePoint], worse: bool
) -> dict[str, Any]:
    return {
        "source": series.source,
        "column": series.column,
        "values": len(series.values),
        "options": {
            "alpha": options.alpha,
            "window": options.window,
            "min_size": options.min_size,
            "min_magnitude": options.min_magnitude,
            "higher_is_better": options.higher_is_better,
        },
        "change_points": [_point_dict(series, p) for p in points],
        "newest_segment_start": points[-1].index if points else 0,
        "newest_is_regression": worse,
    }


def render(series: Series, options: Options, points: list[ChangePoint], worse: bool) -> str:
    lines = [
        f"{series.source}: {len(series.values)} values of {series.column!r}; "
        f"{len(points)} change point{'' if len(points) == 1 else 's'} "
        f"(alpha {options.alpha:g}, window {options.window}, min size {options.min_size}"
        + (f", min magnitude {options.min_magnitude:.3g}" if options.min_magnitude else "")
        + ")"
    ]
    if points:
        lines += _table(series, points)
    lines.append(_verdict(series, options, points, worse))
    return "\n".join(lines)


def _table(series: Series, points: list[ChangePoint]) -> list[str]:
    rows = [["index", "commit", "mean before → after", "change", "p-value"]]
    if series.times:
        rows[0].insert(2, "time")
    for p in points:
        row = [
            str(p.index),
            _short(series.commits[p.index]) if series.commits else "-",
            f"{p.mean_before:.4g} → {p.mean_after:.4g}",
            f"{p.change_percent:+.1f}%",
            f"{p.p_value:.2g}",
        ]
        if series.times:
            row.insert(2, series.times[p.index])
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def _verdict(series: Series, options: Options, points: list[ChangePoint], worse: bool) -> str:
    better = "higher" if options.higher_is_better else "lower"
    if not points:
        return f"newest segment: no change point, no regression ({better} is better)"
    last = points[-1]
    where = f"from index {last.index}" + (
        f" (commit {_short(series.commits[last.index])})"
        if series.commits and series.commits[last.index]
        else ""
    )
    verdict = "REGRESSION" if worse else "no regression"
    return (
        f"newest segment {where}: {verdict}, {last.change_percent:+.1f}% against the "
        f"segment before ({better} is better)"
    )


def _short(commit: str) -> str:
    """A commit as people read it (12 hex digits); the JSON keeps it whole."""
    return commit[:12] if commit else "-"
