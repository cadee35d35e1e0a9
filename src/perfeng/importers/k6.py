"""k6 results: the ``--out json`` stream of points (``Samples``) and the end-of-test summary
JSON (``Summaries``), both as documented by k6.

Points: one JSON object a line, ``{"type": "Metric" | "Point", "metric": ..., "data": ...}``.
Each ``http_req_duration`` point is one request: ``data.value`` its duration in ms,
``data.time`` when k6 stamped it (at the request's end), ``data.tags`` its ``name``,
``status``, ``expected_response`` and ``error_code``. The phase metrics
(``http_req_waiting``, ``_receiving``, ``_connecting``, ``_tls_handshaking``) are points of
their own, not joined to their request: they become the per-name phase histograms.

Summary: ``handleSummary``'s data (``metrics.NAME.values``) or the legacy
``--summary-export`` file (``metrics.NAME`` holding the values directly). Trend values are
milliseconds: ``avg``, ``min``, ``med``, ``max``, ``p(N)``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from perfeng.importers import classes
from perfeng.importers.parsed import ParseError, Request, Samples, Source, Spectrum, Summaries
from perfeng.model.sample import ErrorClass

NAME = "all"  # the summary's figures cover every request
_PHASES = {
    "http_req_waiting": "ttfb",
    "http_req_receiving": "receive",
    "http_req_connecting": "connect",
    "http_req_tls_handshaking": "tls",
}
_SETUP = ("connect", "tls")  # zero on a reused connection: not a phase that happened
_FRACTION = re.compile(r"\.(\d+)")
_PERCENTILE = re.compile(r"p\((\d+(?:\.\d+)?)\)")


def looks_like_points(text: str) -> bool:
    first = text.lstrip()[:300]
    return first.startswith("{") and re.search(r'"type"\s*:\s*"(Metric|Point)"', first) is not None


def looks_like_summary(text: str) -> bool:
    return text.lstrip().startswith("{") and '"metrics"' in text and "http_req" in text


# ---- points ---------------------------------------------------------------------------


def parse_points(text: str) -> Samples:
    if not looks_like_points(text):
        raise ParseError('not k6 --out json output: no {"type": "Metric"|"Point"} lines', 1)
    requests: list[Request] = []
    phases: dict[str, dict[str, list[int]]] = {}
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        point = _point(line, number, last=number == len(lines))
        if point is None:
            continue
        metric, data = point
        if metric == "http_req_duration":
            requests.append(_request(data, number))
        elif metric in _PHASES:
            _phase(phases, _PHASES[metric], data, number)
    if not requests:
        raise ParseError("no http_req_duration points: not an HTTP test's output", 1)
    return Samples(
        source=Source("k6", "k6 --out json"),
        requests=tuple(requests),
        notes=(
            "per-request points: histograms, per-name figures and the per-second series are"
            " exact (k6 stamps each request at its end; its start is that less its duration)",
            "phases come from k6's own phase points (waiting, receiving, connecting, TLS);"
            " k6 folds DNS into http_req_blocked, which is not kept",
            "the k6 version is not in the file",
        ),
        phases={n: {p: tuple(v) for p, v in ph.items()} for n, ph in phases.items()},
    )


def _point(line: str, number: int, last: bool) -> tuple[str, dict[str, Any]] | None:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        reason = "a line cut off mid-way (truncated file?)" if last else "a line that is not JSON"
        raise ParseError(reason, number) from None
    if not isinstance(entry, dict) or entry.get("type") not in ("Metric", "Point"):
        raise ParseError('not a k6 line: no "type": "Metric" or "Point"', number)
    if entry["type"] != "Point":
        return None
    data = entry.get("data")
    if not isinstance(data, dict) or not isinstance(entry.get("metric"), str):
        raise ParseError("a point without metric or data", number)
    return entry["metric"], data


def _time_ns(text: Any, number: int) -> int:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(f"not an RFC 3339 time: {text!r}", number) from None
    fraction = _FRACTION.search(str(text))
    nanos = int((fraction.group(1) + "000000000")[:9]) if fraction else 0
    return int(moment.replace(microsecond=0).timestamp()) * 1_000_000_000 + nanos


def _value_ns(data: dict[str, Any], number: int) -> int:
    value = data.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ParseError(f"a point whose value is not a duration: {value!r}", number)
    return round(value * 1_000_000)


def _request(data: dict[str, Any], number: int) -> Request:
    tags = data.get("tags") or {}
    duration = _value_ns(data, number)
    status_text = str(tags.get("status", "0"))
    status = int(status_text) if status_text.isdigit() else 0
    return Request(
        name=str(tags.get("name") or tags.get("url") or NAME),
        start_ns=_time_ns(data.get("time"), number) - duration,
        duration_ns=duration,
        status=status,
        error=_error(tags, status),
    )


def _error(tags: dict[str, Any], status: int) -> str | None:
    """k6's own verdict (the expected_response tag, k6 0.31+), else status >= 400 or none."""
    expected = tags.get("expected_response")
    failed = expected == "false" if expected is not None else status == 0 or status >= 400
    if not failed:
        return None
    return classes.of_status(status) or _error_code(str(tags.get("error_code", "")), status)


def _error_code(code: str, status: int) -> str:
    """k6's error codes: 1050 timeout, 11xx DNS, 121x dial, 1200/1201/1220 connection
    broken or reset, 13xx TLS; an answer k6 did not expect otherwise a failed check."""
    if code == "1050":
        return ErrorClass.TIMEOUT.value
    if code.startswith("11"):
        return ErrorClass.DNS.value
    if code.startswith("121"):
        return ErrorClass.CONNECT.value
    if code.startswith("12"):
        return ErrorClass.RESET.value
    if code.startswith("13"):
        return ErrorClass.TLS.value
    return ErrorClass.PROTOCOL.value if status == 0 else ErrorClass.CHECK_FAILED.value


def _phase(
    phases: dict[str, dict[str, list[int]]], phase: str, data: dict[str, Any], n: int
) -> None:
    value = _value_ns(data, n)
    if phase in _SETUP and value == 0:
        return
    tags = data.get("tags") or {}
    name = str(tags.get("name") or tags.get("url") or NAME)
    phases.setdefault(name, {}).setdefault(phase, []).append(value)


# ---- end-of-test summary --------------------------------------------------------------


def parse_summary(text: str) -> Summaries:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON ({exc.msg}; truncated file?)", exc.lineno) from None
    metrics = document.get("metrics") if isinstance(document, dict) else None
    if not isinstance(metrics, dict):
        raise ParseError('not a k6 summary: no "metrics" object', 1)
    legacy = not any(isinstance(m, dict) and "values" in m for m in metrics.values())
    duration = _trend(metrics, "http_req_duration", legacy)
    reqs = _values(metrics, "http_reqs", legacy)
    count = _number(reqs, "count", "http_reqs")
    failed = _values(metrics, "http_req_failed", legacy, required=False)
    errors = int(_number(failed, "passes", "http_req_failed")) if failed else 0
    seconds = _duration_s(document, count, _number(reqs, "rate", "http_reqs"))
    received = _values(metrics, "data_received", legacy, required=False)
    spectrum = Spectrum(
        requests=int(count),
        errors=errors,
        percentiles=_percentiles(duration),
        mean_ms=_optional(duration, "avg"),
        min_ms=_optional(duration, "min"),
        max_ms=_optional(duration, "max"),
        bytes_received=int(received.get("count", 0)) if received else 0,
    )
    layout = "--summary-export" if legacy else "handleSummary"
    return Summaries(
        source=Source("k6", f"k6 end-of-test summary ({layout} JSON)"),
        names={NAME: spectrum},
        duration_s=seconds,
        notes=_summary_notes(spectrum, errors),
    )


def _values(
    metrics: dict[str, Any], name: str, legacy: bool, required: bool = True
) -> dict[str, Any]:
    metric = metrics.get(name)
    values = metric.get("values") if isinstance(metric, dict) and not legacy else metric
    if not isinstance(values, dict):
        if required:
            raise ParseError(f"the k6 summary has no {name} metric (not an HTTP test?)", 0)
        return {}
    return values


def _trend(metrics: dict[str, Any], name: str, legacy: bool) -> dict[str, Any]:
    values = _values(metrics, name, legacy)
    if not any(k in values for k in ("avg", "med", "max")):
        raise ParseError(f"{name} is not a trend of avg/med/max (unknown k6 layout)", 0)
    return values


def _number(values: dict[str, Any], key: str, metric: str) -> float:
    value = values.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ParseError(f"{metric}.{key} missing or not a number of at least 0", 0)
    return float(value)


def _optional(values: dict[str, Any], key: str) -> float | None:
    value = values.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _percentiles(values: dict[str, Any]) -> tuple[tuple[float, float], ...]:
    found = [(50.0, float(values["med"]))] if _optional(values, "med") is not None else []
    for key, value in values.items():
        match = _PERCENTILE.fullmatch(key)
        if match and _optional(values, key) is not None:
            found.append((float(match.group(1)), float(value)))
    return tuple(sorted(set(found)))


def _duration_s(document: dict[str, Any], count: float, rate: float) -> float:
    state = document.get("state")
    millis = state.get("testRunDurationMs") if isinstance(state, dict) else None
    if isinstance(millis, int | float) and millis > 0:
        return float(millis) / 1000
    return count / rate if rate > 0 else 0.0


def _summary_notes(spectrum: Spectrum, errors: int) -> tuple[str, ...]:
    notes = [
        f"the latency distribution is reconstructed from the {len(spectrum.percentiles)}"
        " percentiles in k6's summary (summaryTrendStats); avg, min, max and those"
        " percentiles are k6's own figures",
        "no per-second series and no per-name figures: the summary has totals only"
        " (k6 --out json has both)",
        "the k6 version is not in the file",
    ]
    if errors:
        notes.append(
            f"{errors} errors (http_req_failed) have no class: the summary does not say why"
        )
    return tuple(notes)
