"""hey's output: the summary it prints (``Summaries``) and ``-o csv`` (``Samples``).

hey prints times in seconds with 4 decimals (0.1 ms). Its text summary gives the fastest,
slowest and average request, the 10/25/50/75/90/95/99th percentiles, the count per status
and per error text. Its CSV has one row per answered request: the total time, its phases
(``DNS+dialup``, ``DNS``, ``Request-write``, ``Response-delay``, ``Response-read``), the status
and the ``offset`` from the run's start; requests that got no answer are not in it.
"""

from __future__ import annotations

import csv
import io
import re

from perfeng.importers import classes
from perfeng.importers.parsed import (
    ParseError,
    Request,
    Samples,
    Source,
    Spectrum,
    Summaries,
    check_line_end,
)

NAME = "all"  # hey tests one URL and records no name
CSV_HEADER = (
    "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset"
)
_SECONDS = re.compile(r"^\s*(Total|Slowest|Fastest|Average):\s+([\d.]+) secs", re.M)
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)% in ([\d.]+) secs", re.M)
_STATUS = re.compile(r"^\s*\[(\d+)\]\s+(\d+) responses", re.M)
_ERROR = re.compile(r"^\s*\[(\d+)\]\s+(.+)$")
_TOTAL_DATA = re.compile(r"^\s*Total data:\s+(\d+) bytes", re.M)


def looks_like_text(text: str) -> bool:
    return text.lstrip().startswith("Summary:") and "Requests/sec:" in text[:2000]


def looks_like_csv(text: str) -> bool:
    return text.startswith(CSV_HEADER)


def parse_text(text: str) -> Summaries:
    if not looks_like_text(text):
        raise ParseError("not hey output: no 'Summary:' with 'Requests/sec:'", 1)
    if "Status code distribution:" not in text:
        raise ParseError(
            "no 'Status code distribution:': the output is cut short (truncated file?)",
            text.count("\n") + 1,
        )
    seconds = {m.group(1): float(m.group(2)) * 1000 for m in _SECONDS.finditer(text)}
    statuses = {int(m.group(1)): int(m.group(2)) for m in _STATUS.finditer(text)}
    errors_by_class, failed, notes = _error_section(text)
    answered = sum(statuses.values())
    bad = {s: n for s, n in statuses.items() if s >= 400}
    for status, count in bad.items():
        error = classes.of_status(status) or "protocol"
        errors_by_class[error] = errors_by_class.get(error, 0) + count
    data = _TOTAL_DATA.search(text)
    spectrum = Spectrum(
        requests=answered + failed,
        errors=failed + sum(bad.values()),
        percentiles=tuple(
            (float(m.group(1)), float(m.group(2)) * 1000) for m in _PERCENTILE.finditer(text)
        ),
        mean_ms=seconds.get("Average"),
        min_ms=seconds.get("Fastest"),
        max_ms=seconds.get("Slowest"),
        errors_by_class=errors_by_class,
        bytes_received=int(data.group(1)) if data else 0,
        answered=answered,
    )
    return Summaries(
        source=Source("hey", "hey text summary"),
        names={NAME: spectrum},
        duration_s=seconds.get("Total", 0.0) / 1000,
        notes=(
            *notes,
            _latency_note(spectrum),
            "no per-second series and no request phases: hey's summary prints only their"
            " averages (hey -o csv has both)",
            "hey records no request names: every request is under 'all'",
        ),
    )


def _latency_note(spectrum: Spectrum) -> str:
    if not spectrum.timed:
        return "no latency figures: hey got no answer to any request"
    return (
        f"the latency distribution is reconstructed from the {len(spectrum.percentiles)}"
        " percentiles hey printed (of the answered requests, to 0.1 ms); fastest, slowest,"
        " average and those percentiles are hey's own figures"
    )


def _error_section(text: str) -> tuple[dict[str, int], int, list[str]]:
    """The requests that got no answer, by class, from hey's 'Error distribution'."""
    by_class: dict[str, int] = {}
    failed, unknown = 0, 0
    start = text.find("Error distribution:")
    if start < 0:
        return by_class, 0, []
    for line in text[start:].splitlines()[1:]:
        match = _ERROR.match(line)
        if match is None:
            continue
        count = int(match.group(1))
        failed += count
        error = classes.of_text(match.group(2))
        if error is None:
            unknown += count
        else:
            by_class[error] = by_class.get(error, 0) + count
    notes = [f"{unknown} errors have no class: their text names no known cause"] if unknown else []
    return by_class, failed, notes


def parse_csv(text: str) -> Samples:
    if not looks_like_csv(text):
        raise ParseError(f"not hey -o csv output: the header is not {CSV_HEADER!r}", 1)
    check_line_end(text)
    rows = list(csv.reader(io.StringIO(text)))
    requests = [_request(row, number) for number, row in enumerate(rows[1:], 2) if row]
    if not requests:
        raise ParseError("hey CSV without a single request", 1)
    return Samples(
        source=Source("hey", "hey -o csv"),
        requests=tuple(requests),
        relative_times=True,
        notes=(
            "hey's CSV holds answered requests only: requests that got no answer (refused,"
            " reset, timed out) are not in it",
            "times are to 0.1 ms, as hey writes them",
            "hey's offsets count from its run's start; the start is placed by the file's"
            " modification time minus the run's span",
            "hey records no request names: every request is under 'all'",
        ),
    )


def _request(row: list[str], line: int) -> Request:
    if len(row) != 8:
        raise ParseError(f"{len(row)} fields where hey writes 8 (truncated file?)", line)
    try:
        total, dialup, dns, _write, delay, read = (_ns(v) for v in row[:6])
        status, offset = int(row[6]), _ns(row[7])
    except ValueError:
        raise ParseError(f"not a hey CSV row: {','.join(row)!r}", line) from None
    return Request(
        name=NAME,
        start_ns=offset,
        duration_ns=total,
        status=status,
        error=classes.of_status(status),
        connect_ns=max(dialup - dns, 0) if dialup else -1,
        dns_ns=dns if dns else -1,
        ttfb_ns=delay,
        receive_ns=read,
    )


def _ns(seconds: str) -> int:
    return round(float(seconds) * 1_000_000_000)
