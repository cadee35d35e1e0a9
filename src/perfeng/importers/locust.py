"""Locust ``--csv PREFIX`` files -> ``Summaries``.

``PREFIX_stats.csv`` gives each name's counts, mean, min, max and its 50..100th percentiles;
``PREFIX_failures.csv`` the failures by name and error text; ``PREFIX_stats_history.csv``
(one row a second with ``--csv-full-history``, else only the "Aggregated" rows) the series.
Locust rounds its response times for the percentiles (integer ms below 100 ms, two
significant digits above), and its history's percentiles are over a window of the last
seconds, not the second itself.
"""

from __future__ import annotations

import csv
import io

from perfeng.importers import classes
from perfeng.importers.parsed import ParseError, Second, Source, Spectrum, Summaries, check_line_end

STATS_HEADER = "Type,Name,Request Count,Failure Count"
HISTORY_HEADER = "Timestamp,User Count,Type,Name"
FAILURES_HEADER = "Method,Name,Error,Occurrences"
_AGGREGATED = "Aggregated"
_PERCENTILE_COLUMNS = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%",
                       "99.99%", "100%")  # fmt: skip
_STATS_COLUMNS = ("Type", "Name", "Request Count", "Failure Count", "Average Response Time",
                  "Min Response Time", "Max Response Time", "Requests/s",
                  "Average Content Size", *_PERCENTILE_COLUMNS)  # fmt: skip


def kind_of(text: str) -> str | None:
    """Which Locust CSV this is: stats, history or failures."""
    for kind, header in (
        ("stats", STATS_HEADER),
        ("history", HISTORY_HEADER),
        ("failures", FAILURES_HEADER),
    ):
        if text.startswith(header):
            return kind
    return None


def _rows(text: str, header: str, what: str) -> list[tuple[int, dict[str, str]]]:
    if not text.startswith(header):
        raise ParseError(f"not Locust's {what} CSV: the header does not start {header!r}", 1)
    check_line_end(text)
    reader = csv.reader(io.StringIO(text))
    columns = next(reader)
    rows = []
    for number, row in enumerate(reader, 2):
        if not row:
            continue
        if len(row) != len(columns):
            raise ParseError(
                f"{len(row)} fields where the header has {len(columns)} (truncated file?)", number
            )
        rows.append((number, dict(zip(columns, row, strict=True))))
    return rows


def parse(stats: str, history: str | None = None, failures: str | None = None) -> Summaries:
    rows = _rows(stats, STATS_HEADER, "stats")
    missing = [c for c in _STATS_COLUMNS if c not in rows[0][1]] if rows else []
    if missing:
        raise ParseError(f"unknown Locust stats layout: no {', '.join(missing)} column", 1)
    named = [(n, r) for n, r in rows if r["Name"] != _AGGREGATED]
    aggregated = next((r for _, r in rows if r["Name"] == _AGGREGATED), None)
    if aggregated is None:
        raise ParseError("no 'Aggregated' row: the stats file is cut short (truncated file?)", 0)
    by_name, unclassified = _failures(failures)
    names = {_key(row, named): _spectrum(row, n, by_name.get(row["Name"], {})) for n, row in named}
    overall = _spectrum(aggregated, 0, {})
    rate = _float(aggregated["Requests/s"], 0)
    duration = overall.requests / rate if rate > 0 else 0.0
    seconds = _seconds(history) if history else ()
    notes = _notes(failures is not None, history is not None, sum(unclassified.values()))
    return Summaries(
        source=Source("locust", "Locust --csv"),
        names=names,
        duration_s=duration,
        overall=overall,
        start_s=float(seconds[0].time) if seconds else None,
        notes=notes,
        seconds=seconds,
    )


def _key(row: dict[str, str], rows: list[tuple[int, dict[str, str]]]) -> str:
    """The request name; "METHOD name" when the name appears with several methods."""
    same = sum(1 for _, other in rows if other["Name"] == row["Name"])
    return f"{row['Type']} {row['Name']}" if same > 1 else row["Name"]


def _float(text: str, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParseError(f"not a number: {text!r}", line) from None


def _spectrum(row: dict[str, str], line: int, by_class: dict[str, int]) -> Spectrum:
    requests = int(_float(row["Request Count"], line))
    return Spectrum(
        requests=requests,
        errors=int(_float(row["Failure Count"], line)),
        percentiles=_percentiles(row, line),
        mean_ms=_float(row["Average Response Time"], line) if requests else None,
        min_ms=_float(row["Min Response Time"], line) if requests else None,
        max_ms=_float(row["Max Response Time"], line) if requests else None,
        errors_by_class=by_class,
        bytes_received=round(_float(row["Average Content Size"], line) * requests),
    )


def _percentiles(row: dict[str, str], line: int) -> tuple[tuple[float, float], ...]:
    return tuple(
        (float(column.rstrip("%")), _float(row[column], line))
        for column in _PERCENTILE_COLUMNS
        if row.get(column) not in (None, "", "N/A")
    )


def _failures(text: str | None) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """name -> class -> count, and name -> count of errors whose text names no class."""
    by_name: dict[str, dict[str, int]] = {}
    unclassified: dict[str, int] = {}
    if text is None:
        return by_name, unclassified
    for number, row in _rows(text, FAILURES_HEADER, "failures"):
        count = int(_float(row["Occurrences"], number))
        error = classes.of_text(row["Error"])
        if error is None:
            unclassified[row["Name"]] = unclassified.get(row["Name"], 0) + count
            continue
        counts = by_name.setdefault(row["Name"], {})
        counts[error] = counts.get(error, 0) + count
    return by_name, unclassified


def _seconds(text: str) -> tuple[Second, ...]:
    """The Aggregated rows, as one entry a second: requests and failures since the row
    before (the file's counts are running totals), and the row's percentiles."""
    seconds: list[Second] = []
    done = failed = 0
    for number, row in _rows(text, HISTORY_HEADER, "stats history"):
        if row["Name"] != _AGGREGATED:
            continue
        total = int(_float(row["Total Request Count"], number))
        failures = int(_float(row["Total Failure Count"], number))
        seconds.append(
            Second(
                time=int(_float(row["Timestamp"], number)),
                requests=max(total - done, 0),
                errors=max(failures - failed, 0),
                percentiles=_window(_percentiles(row, number)),
            )
        )
        done, failed = total, failures
    return tuple(seconds)


def _window(percentiles: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    """Locust writes 0 for every percentile while its window holds no response yet: unknown,
    not 0 ms."""
    return percentiles if any(ms for _, ms in percentiles) else ()


def _notes(failures: bool, history: bool, unclassified: int) -> tuple[str, ...]:
    notes = [
        "the latency distributions are reconstructed from Locust's 11 percentiles (rounded by"
        " Locust: integer ms below 100 ms); mean, min, max and the percentiles are Locust's"
        " own figures",
        "no request phases: Locust does not record them",
        "the Locust version is not in its CSV files",
    ]
    if history:
        notes.append(
            "the per-second series comes from the stats history's Aggregated rows; their"
            " percentiles are Locust's, over its window of the last seconds"
        )
    else:
        notes.append("no per-second series: no _stats_history.csv beside the stats file")
    if not failures:
        notes.append("errors not classified: no _failures.csv beside the stats file")
    elif unclassified:
        notes.append(f"{unclassified} failures have no class: their text names no known cause")
    return tuple(notes)
