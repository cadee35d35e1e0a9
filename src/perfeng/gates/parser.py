"""The threshold language: ``p99<200ms``, ``error_rate{name=login}<1%:abort=10s``.

Modelled on k6 thresholds (https://grafana.com/docs/k6/latest/using-k6/thresholds/): an
aggregate of a metric, an operator and a limit, optionally aborting the run. Unlike k6, limits
carry units (``200ms``, ``1%``, ``54000/m``), so a bare ``p99<200`` is refused rather than
guessed. The grammar is in docs/thresholds.md.

The parser is hand-written recursive descent over a scanner that reads one lexeme at a time on
request, because what a lexeme is depends on where it stands: ``m`` is a unit after a number
but a request name inside a selector. Every error names the 1-based column it refers to.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from perfeng.errors import UsageError
from perfeng.units import NS_PER_UNIT

# The request phases (docs/result-format.md#phases) take the same aggregates as latency.
PHASE_METRICS = ("dns", "connect", "tls", "ttfb", "receive")
METRICS = (
    "latency",
    "service_time",
    *PHASE_METRICS,
    "error_rate",
    "throughput",
    "dropped",
    "requests",
    "errors",
    "recovery_s",
)
OPERATORS = ("<=", ">=", "==", "!=", "<", ">")  # two-character operators first: longest match
SELECTOR_KEYS = ("name",)

# word -> (aggregate, percentile) for the latency and service_time metrics
_LATENCY_AGGREGATES: dict[str, tuple[str, float | None]] = {
    "p50": ("p", 50.0),
    "p90": ("p", 90.0),
    "p95": ("p", 95.0),
    "p99": ("p", 99.0),
    "p99.9": ("p", 99.9),
    "mean": ("mean", None),
    "avg": ("mean", None),
    "med": ("p", 50.0),
    "min": ("min", None),
    "max": ("max", None),
}
_TIME_METRICS = ("latency", "service_time", *PHASE_METRICS)
_VALUE_METRICS = ("error_rate", "throughput", "dropped", "requests", "errors", "recovery_s")
# dropped arrivals never became requests, so have no name; recovery is the whole service's
_UNNAMED_METRICS = ("dropped", "recovery_s")
_UNNAMED_WHY = {
    "dropped": "{metric} counts arrivals that never became requests, so takes no selector",
    "recovery_s": "{metric} is the service's recovery after a fault, so takes no selector",
}
_AGGREGATE_WORDS = (*_LATENCY_AGGREGATES, "p(N)", *_VALUE_METRICS)

_MS_PER_TIME_UNIT = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_SECONDS_PER_RATE_UNIT = {"": 1.0, "/s": 1.0, "/m": 60.0, "/h": 3600.0}
_DELAY_UNITS = ("ms", "s", "m", "h")

_WORD = re.compile(r"p\d+\.\d+|[A-Za-z_][A-Za-z0-9_]*")  # p99.9 is one word
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_UNIT = re.compile(r"%|/\s*[^\W\d]*|[^\W\d]\w*")
_SELECTOR_VALUE = re.compile(r""""[^"]*"|'[^']*'|[^,{}<>!="']+""")
_P_NUMBER = re.compile(r"p(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold; ``limit`` is canonical: ms, a fraction, req/s or a count."""

    expression: str
    metric: str  # one of METRICS
    aggregate: str  # "p", "mean", "min", "max" for times; "value" for the others
    percentile: float | None
    selector_name: str | None
    operator: str
    limit: float
    unit: str  # "ms", "ratio", "req/s" or "count"
    abort: bool = False
    abort_delay_s: float = 0.0


class ThresholdSyntaxError(UsageError):
    """A threshold that does not parse; ``column`` is 1-based."""

    def __init__(self, expression: str, column: int, reason: str) -> None:
        self.expression = expression
        self.column = column
        self.reason = reason
        super().__init__(f"invalid threshold {expression!r} at column {column}: {reason}")


class _Scanner:
    """The text, a position in it, and the lexemes the parser asks for."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str, pos: int | None = None) -> NoReturn:
        raise ThresholdSyntaxError(self.text, (self.pos if pos is None else pos) + 1, reason)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def take(self, literal: str) -> bool:
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def lexeme(self, pattern: re.Pattern[str]) -> str:
        """The match of ``pattern`` at the position (consumed), or '' when none."""
        match = pattern.match(self.text, self.pos)
        if match is None:
            return ""
        self.pos = match.end()
        return match.group()

    def at_end(self) -> bool:
        return self.pos >= len(self.text)


def parse_threshold(text: str) -> Threshold:
    """Parse one expression; ``ThresholdSyntaxError`` (a ``UsageError``) if it is invalid."""
    scanner = _Scanner(text)
    scanner.skip_ws()
    metric, aggregate, percentile = _parse_aggregate(scanner)
    selector_name = _parse_selector(scanner, metric)
    operator = _parse_operator(scanner)
    limit, unit = _parse_limit(scanner, metric)
    abort, delay_s = _parse_abort(scanner)
    scanner.skip_ws()
    if not scanner.at_end():
        scanner.fail("unexpected text" + ("" if abort else "; expected ':abort' or the end"))
    return Threshold(
        expression=text.strip(),
        metric=metric,
        aggregate=aggregate,
        percentile=percentile,
        selector_name=selector_name,
        operator=operator,
        limit=limit,
        unit=unit,
        abort=abort,
        abort_delay_s=delay_s,
    )


def parse_thresholds(texts: Iterable[str]) -> tuple[Threshold, ...]:
    """Parse every expression; the first invalid one raises."""
    return tuple(parse_threshold(text) for text in texts)


# ---- aggregate ------------------------------------------------------------------------------


def _parse_aggregate(s: _Scanner) -> tuple[str, str, float | None]:
    """``[metric.]aggregate`` -> (metric, aggregate, percentile)."""
    start = s.pos
    word = s.lexeme(_WORD)
    if not word:
        s.fail("expected an aggregate such as p99 or error_rate")
    if word in _TIME_METRICS:
        if not s.take("."):
            s.fail(f"expected '.' and an aggregate after {word!r}, e.g. {word}.p99")
        return (word, *_parse_prefixed_aggregate(s, word))
    if s.peek() == "." and word not in _AGGREGATE_WORDS:
        s.fail(_unknown("metric", word, _TIME_METRICS), start)
    if word in _VALUE_METRICS:
        return word, "value", None
    return ("latency", *_latency_aggregate(s, word, start))


def _parse_prefixed_aggregate(s: _Scanner, metric: str) -> tuple[str, float | None]:
    start = s.pos
    word = s.lexeme(_WORD)
    if not word:
        s.fail(f"expected an aggregate such as p99 after '{metric}.'")
    if word in _VALUE_METRICS:
        s.fail(f"{word} is not an aggregate of {metric}; remove the '{metric}.' prefix", start)
    return _latency_aggregate(s, word, start)


def _latency_aggregate(s: _Scanner, word: str, start: int) -> tuple[str, float | None]:
    if word == "p":
        return "p", _parse_percentile_call(s)
    if word in _LATENCY_AGGREGATES:
        return _LATENCY_AGGREGATES[word]
    s.fail(_unknown_aggregate(word), start)


def _parse_percentile_call(s: _Scanner) -> float:
    """The ``(N)`` of ``p(N)``, with 0 < N <= 100."""
    s.skip_ws()
    if not s.take("("):
        s.fail("expected '(' after 'p', e.g. p(95)")
    s.skip_ws()
    start = s.pos
    text = s.lexeme(_NUMBER)
    if not text:
        s.fail("expected a percentile, e.g. p(95)")
    percentile = float(text)
    if not 0 < percentile <= 100:
        s.fail("a percentile must be above 0 and at most 100", start)
    s.skip_ws()
    if not s.take(")"):
        s.fail("expected ')'")
    return percentile


def _unknown_aggregate(word: str) -> str:
    # p75 reads naturally but is not one of the shorthands; point at the general form rather
    # than silently accepting any pN (a typo like p9 for p99 would then pass unnoticed).
    shorthand = _P_NUMBER.fullmatch(word)
    if shorthand and 0 < float(shorthand.group(1)) <= 100:
        return f"unknown aggregate {word!r}; write p({shorthand.group(1)}) for other percentiles"
    return _unknown("aggregate", word, _AGGREGATE_WORDS)


def _unknown(what: str, word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word.lower(), known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "expected one of " + ", ".join(known)
    return f"unknown {what} {word!r}; {hint}"


# ---- selector -------------------------------------------------------------------------------


def _parse_selector(s: _Scanner, metric: str) -> str | None:
    """``{name=login}`` -> 'login'; None when there is no selector."""
    s.skip_ws()
    brace = s.pos
    if not s.take("{"):
        return None
    if metric in _UNNAMED_METRICS:
        s.fail(_UNNAMED_WHY[metric].format(metric=metric), brace)
    pairs: dict[str, str] = {}
    while True:
        key, value = _parse_selector_pair(s, pairs)
        pairs[key] = value
        s.skip_ws()
        if s.take("}"):
            return pairs.get("name")
        if not s.take(","):
            s.fail("expected ',' or '}'")


def _parse_selector_pair(s: _Scanner, seen: dict[str, str]) -> tuple[str, str]:
    s.skip_ws()
    start = s.pos
    key = s.lexeme(_WORD)
    if not key:
        s.fail("expected a selector key such as name")
    if key not in SELECTOR_KEYS:
        s.fail(f"unknown selector key {key!r}; known keys: {', '.join(SELECTOR_KEYS)}", start)
    if key in seen:
        s.fail(f"selector key {key!r} given twice", start)
    s.skip_ws()
    if not s.take("="):
        s.fail(f"expected '=' after {key!r}")
    s.skip_ws()
    return key, _parse_selector_value(s, key)


def _parse_selector_value(s: _Scanner, key: str) -> str:
    start = s.pos
    text = s.lexeme(_SELECTOR_VALUE)
    if text in ("''", '""'):
        s.fail(f"empty {key}", start)
    if not text:
        if s.peek() in ("'", '"'):
            s.fail(f"unterminated quoted {key}")
        s.fail(f"expected a {key} after '=' (quote it if it contains , {{ }} < > ! = or quotes)")
    if text[0] in ("'", '"'):
        return text[1:-1]
    return text.rstrip()  # keep inner spaces ("GET /users"), drop the ones before '}'


# ---- operator, limit, abort -----------------------------------------------------------------


def _parse_operator(s: _Scanner) -> str:
    s.skip_ws()
    for operator in OPERATORS:
        if s.take(operator):
            return operator
    meant = {"=<": "<=", "=>": ">=", "=": "=="}
    for typo, operator in meant.items():
        if s.text.startswith(typo, s.pos):
            s.fail(f"{typo!r} is not an operator; did you mean {operator!r}?")
    s.fail("expected an operator: <, <=, >, >=, == or !=")


def _parse_limit(s: _Scanner, metric: str) -> tuple[float, str]:
    """The number and its unit, converted to the metric's canonical unit."""
    s.skip_ws()
    start = s.pos
    number = s.lexeme(_NUMBER)
    if not number:
        s.fail("expected a number")
    s.skip_ws()
    unit_pos = s.pos
    unit = re.sub(r"\s", "", s.lexeme(_UNIT))
    limit = _Limit(s, metric, number, start, unit, unit_pos)
    if metric in _TIME_METRICS:
        return limit.time_ms(), "ms"
    if metric == "error_rate":
        return limit.ratio(), "ratio"
    if metric == "throughput":
        return limit.rate(), "req/s"
    if metric == "recovery_s":  # the worst fault window's time to recover (docs/faults.md)
        return limit.time_ms() / 1000, "s"
    return limit.count(), "count"


@dataclass(frozen=True)
class _Limit:
    """A limit as written, and its conversion for each kind of metric."""

    s: _Scanner
    metric: str
    number: str
    start: int
    unit: str
    unit_pos: int

    def time_ms(self) -> float:
        if not self.unit:
            self.s.fail(f"{self.metric} limit needs a unit, e.g. {self.number}ms", self.start)
        if self.unit not in _MS_PER_TIME_UNIT:
            self.s.fail(f"{self.unit!r} is not a time unit; use us, ms, s or m", self.unit_pos)
        return float(self.number) * _MS_PER_TIME_UNIT[self.unit]

    def ratio(self) -> float:
        value = float(self.number)
        if self.unit == "%":
            if value > 100:
                self.s.fail("an error rate is at most 100%", self.start)
            return value / 100
        if self.unit:
            self.s.fail(
                f"error_rate takes a fraction (0.01) or a percent (1%), not {self.unit!r}",
                self.unit_pos,
            )
        if value > 1:
            self.s.fail(f"error_rate is a fraction; write {self.number}% for a percent", self.start)
        return value

    def rate(self) -> float:
        if self.unit not in _SECONDS_PER_RATE_UNIT:
            self.s.fail(
                f"throughput is in requests per second (900, 900/s or 54000/m), not {self.unit!r}",
                self.unit_pos,
            )
        return float(self.number) / _SECONDS_PER_RATE_UNIT[self.unit]

    def count(self) -> float:
        if self.unit:
            self.s.fail(f"{self.metric} is a count and takes no unit", self.unit_pos)
        if not self.number.isdigit():
            self.s.fail(f"{self.metric} is a count: expected a whole number", self.start)
        return float(self.number)


def _parse_abort(s: _Scanner) -> tuple[bool, float]:
    """``:abort`` or ``:abort=DELAY`` -> (abort, delay in seconds)."""
    s.skip_ws()
    if not s.take(":"):
        return False, 0.0
    s.skip_ws()
    start = s.pos
    word = s.lexeme(_WORD)
    if word != "abort":
        s.fail(_unknown("option", word, ("abort",)) if word else "expected 'abort'", start)
    s.skip_ws()
    if not s.take("="):
        return True, 0.0
    return True, _parse_delay_s(s)


def _parse_delay_s(s: _Scanner) -> float:
    s.skip_ws()
    start = s.pos
    number = s.lexeme(_NUMBER)
    if not number:
        s.fail("expected a delay, e.g. abort=10s")
    s.skip_ws()
    unit_pos = s.pos
    unit = s.lexeme(_UNIT)
    if not unit:
        s.fail(f"abort delay needs a unit, e.g. {number}s", start)
    if unit not in _DELAY_UNITS:
        s.fail(f"{unit!r} is not a delay unit; use ms, s, m or h", unit_pos)
    return float(number) * NS_PER_UNIT[unit] / 1e9
