"""wrk and wrk2 ``--latency`` output (the text they print) -> ``Summaries``.

wrk prints the 50/75/90/99th percentiles, mean, standard deviation and max of the latency;
wrk2 prints a percentile table and, with ``-U``/``--u_latency`` or ``--latency``, the whole
HdrHistogram "Detailed Percentile spectrum" (value, percentile, total count), which gives a
far closer reconstruction. wrk2's first spectrum is the corrected latency (from the intended
send time); the "Uncorrected Latency" section after it is ignored.
"""

from __future__ import annotations

import re

from perfeng.importers.parsed import ParseError, Source, Spectrum, Summaries
from perfeng.model.sample import ErrorClass

_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_RUNNING = re.compile(r"^Running (\S+) test @ (\S+)", re.M)
_LATENCY = re.compile(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", re.M)
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\S+)\s*$")
_SPECTRUM_ROW = re.compile(r"^\s*(\d+\.\d+)\s+(\d\.\d+)\s+(\d+)(?:\s+(?:\d+\.\d+|inf))?\s*$")
_MEAN = re.compile(r"#\[Mean\s*=\s*([\d.]+),")
_MAX = re.compile(r"#\[Max\s*=\s*([\d.]+),\s*Total ?count\s*=\s*([\d.]+)\]", re.I)
_TOTAL = re.compile(r"^\s*(\d+) requests in (\S+), (\S+) read", re.M)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def looks_like(text: str) -> bool:
    return bool(_RUNNING.search(text[:2000]))


def time_ms(text: str, line: int = 0) -> float:
    """wrk's own time format (format_time: 250.00us, 1.47ms, 2.00s, 1.00m) in ms."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ParseError(f"not a wrk time: {text!r}", line)
    return float(match.group(1)) * _TIME_UNITS_MS[match.group(2)]


def _bytes(text: str) -> int:
    match = re.fullmatch(r"([\d.]+)([KMGT]?B)", text)
    return round(float(match.group(1)) * _SIZE_UNITS[match.group(2)]) if match else 0


def parse(text: str) -> Summaries:
    running = _RUNNING.search(text)
    if running is None:
        raise ParseError("not wrk output: no 'Running ... test @ URL' line", 1)
    total = _TOTAL.search(text)
    if total is None:
        raise ParseError(
            "no 'N requests in T' line: the output is cut short (truncated file?)",
            text.count("\n") + 1,
        )
    spectrum, version = _latencies(text)
    requests, errors, by_class, notes = _counts(text, int(total.group(1)))
    notes += _calibration_note(text, int(total.group(1)))
    spectrum = Spectrum(
        requests=requests,
        errors=errors,
        percentiles=spectrum.percentiles,
        mean_ms=spectrum.mean_ms,
        max_ms=spectrum.max_ms,
        errors_by_class=by_class,
        bytes_received=_bytes(total.group(3)),
        answered=int(total.group(1)),
    )
    return Summaries(
        source=Source("wrk2" if version == "wrk2" else "wrk", "wrk --latency text"),
        names={running.group(2): spectrum},
        duration_s=time_ms(total.group(2)) / 1000,
        notes=(*notes, *_latency_notes(version, len(spectrum.percentiles))),
    )


def _latencies(text: str) -> tuple[Spectrum, str]:
    """The latency figures: wrk2's detailed spectrum when printed, else the percentile lines
    under "Latency Distribution" with the thread stats' mean and max."""
    rows = _spectrum_rows(text)
    if rows:
        mean, top = _MEAN.search(text), _MAX.search(text)
        return Spectrum(
            requests=0,
            errors=0,
            percentiles=tuple(rows),
            mean_ms=float(mean.group(1)) if mean else None,
            max_ms=float(top.group(1)) if top else rows[-1][1],
        ), "wrk2"
    stats = _LATENCY.search(text)
    percentiles = _percentile_lines(text)
    if stats is None or not percentiles:
        raise ParseError("wrk output without a latency distribution: run wrk with --latency", 0)
    line = text[: stats.start()].count("\n") + 1
    version = "wrk2" if "HdrHistogram" in text else "wrk"
    return Spectrum(
        requests=0,
        errors=0,
        percentiles=tuple(percentiles),
        mean_ms=time_ms(stats.group(1), line),
        max_ms=time_ms(stats.group(3), line),
    ), version


def _percentile_lines(text: str) -> list[tuple[float, float]]:
    found: list[tuple[float, float]] = []
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if "Latency Distribution" in line:
            for row_number, row in enumerate(lines[number:], number + 1):
                match = _PERCENTILE.match(row)
                if match is None:
                    break
                found.append((float(match.group(1)), time_ms(match.group(2), row_number)))
            break
    return found


def _spectrum_rows(text: str) -> list[tuple[float, float]]:
    """(percentile, ms) of the first "Detailed Percentile spectrum" (the corrected one)."""
    start = text.find("Detailed Percentile spectrum")
    if start < 0:
        return []
    rows: list[tuple[float, float]] = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("#["):
            break
        match = _SPECTRUM_ROW.match(line)
        if match:
            rows.append((float(match.group(2)) * 100, float(match.group(1))))
    return rows


def _counts(text: str, answered: int) -> tuple[int, int, dict[str, int], list[str]]:
    """Requests, errors and their classes: wrk's socket errors are requests that got no
    answer (read and write errors are counted as resets); its non-2xx/3xx responses are
    errors whose status wrk does not print, so they stay unclassified."""
    socket = _SOCKET.search(text)
    connect, read, write, timeout = (int(g) for g in socket.groups()) if socket else (0,) * 4
    non_2xx_match = _NON_2XX.search(text)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    by_class = {
        ErrorClass.CONNECT.value: connect,
        ErrorClass.RESET.value: read + write,
        ErrorClass.TIMEOUT.value: timeout,
    }
    notes = []
    if non_2xx:
        notes.append(
            f"{non_2xx} non-2xx/3xx responses are errors without a class: wrk does not say"
            " which status they had"
        )
    failed = connect + read + write + timeout
    return answered + failed, failed + non_2xx, {k: v for k, v in by_class.items() if v}, notes


def _calibration_note(text: str, answered: int) -> list[str]:
    """wrk2 leaves its calibration period (the first seconds) out of its histogram."""
    top = _MAX.search(text)
    counted = round(float(top.group(2))) if top else answered
    if counted >= answered:
        return []
    return [
        f"wrk2's spectrum holds {counted} of the {answered} requests (it leaves its calibration"
        " period out); the distribution is scaled to all of them"
    ]


def _latency_notes(version: str, points: int) -> list[str]:
    return [
        f"the latency distribution is reconstructed from the {points} percentiles {version}"
        " printed; mean, max and those percentiles are the tool's own figures",
        "no per-second series: wrk prints totals only",
        "no minimum latency: wrk does not print it",
        "no request phases (connect, time to first byte): wrk does not print them",
    ]
