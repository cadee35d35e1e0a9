"""The threshold language: valid expressions, errors with their columns, documented examples."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from perfeng.errors import UsageError
from perfeng.gates import Threshold, ThresholdSyntaxError, parse_threshold, parse_thresholds

DOCS = Path(__file__).resolve().parents[2] / "docs" / "thresholds.md"

VALID: list[tuple[str, dict[str, Any]]] = [
    # latency shorthands and the canonical limit in ms
    ("p99<200ms", {"metric": "latency", "aggregate": "p", "percentile": 99.0, "limit": 200.0}),
    ("p50<=10ms", {"percentile": 50.0, "operator": "<="}),
    ("p90>1ms", {"percentile": 90.0, "operator": ">"}),
    ("p95>=0.5ms", {"percentile": 95.0, "operator": ">=", "limit": 0.5}),
    ("p99.9<1s", {"percentile": 99.9, "limit": 1000.0}),
    ("p(95)<300ms", {"aggregate": "p", "percentile": 95.0}),
    ("p(99.9)<300ms", {"percentile": 99.9}),
    ("p(75)<300ms", {"percentile": 75.0}),
    ("p(100)<300ms", {"percentile": 100.0}),
    ("p( 0.1 )<300ms", {"percentile": 0.1}),
    ("mean<100ms", {"aggregate": "mean", "percentile": None}),
    ("avg<100ms", {"aggregate": "mean"}),
    ("med<100ms", {"aggregate": "p", "percentile": 50.0}),
    ("min>=1ms", {"aggregate": "min"}),
    ("max<2m", {"aggregate": "max", "limit": 120_000.0}),
    ("p99<250us", {"limit": 0.25}),
    ("p99<250µs", {"limit": 0.25}),
    ("p99==200ms", {"operator": "=="}),
    ("p99!=200ms", {"operator": "!="}),
    # metric prefixes
    ("latency.p99<200ms", {"metric": "latency", "percentile": 99.0}),
    ("service_time.p99<100ms", {"metric": "service_time", "unit": "ms"}),
    ("service_time.p(75)<100ms", {"metric": "service_time", "percentile": 75.0}),
    ("service_time.mean<100ms", {"metric": "service_time", "aggregate": "mean"}),
    ("ttfb.p95<100ms", {"metric": "ttfb", "percentile": 95.0, "unit": "ms"}),
    ("tls.max<20ms", {"metric": "tls", "aggregate": "max", "limit": 20.0}),
    ("connect.p(99.9)<1s", {"metric": "connect", "percentile": 99.9, "limit": 1000.0}),
    # whitespace between tokens, kept out of the expression's ends
    ("  p99 < 200 ms  ", {"expression": "p99 < 200 ms", "limit": 200.0}),
    ("p99\t<=\t1.5s", {"limit": 1500.0}),
    # error rate: fraction or percent
    ("error_rate<1%", {"metric": "error_rate", "aggregate": "value", "limit": 0.01}),
    ("error_rate<0.01", {"limit": 0.01, "unit": "ratio"}),
    ("error_rate<=0.5 %", {"limit": 0.005}),
    ("error_rate==0", {"limit": 0.0, "operator": "=="}),
    ("error_rate<100%", {"limit": 1.0}),
    # throughput in req/s
    ("throughput>900", {"metric": "throughput", "limit": 900.0, "unit": "req/s"}),
    ("throughput>=900/s", {"limit": 900.0}),
    ("throughput>=54000/m", {"limit": 900.0}),
    ("throughput>=7200 / h", {"limit": 2.0}),
    # counts
    ("dropped==0", {"metric": "dropped", "unit": "count", "limit": 0.0}),
    ("requests>=1000", {"metric": "requests", "limit": 1000.0}),
    ("errors<10", {"metric": "errors", "limit": 10.0}),
    # selectors
    ("p99{name=login}<200ms", {"selector_name": "login"}),
    ("p99{ name = login }<200ms", {"selector_name": "login"}),
    ("p99 {name=GET /users}<200ms", {"selector_name": "GET /users"}),
    ("p99{name='a,b'}<200ms", {"selector_name": "a,b"}),
    ('p99{name="x=1"}<200ms', {"selector_name": "x=1"}),
    ("error_rate{name=login}<1%", {"metric": "error_rate", "selector_name": "login"}),
    ("service_time.p(99){name=api}<1s", {"metric": "service_time", "selector_name": "api"}),
    # abort
    ("p99<200ms:abort", {"abort": True, "abort_delay_s": 0.0}),
    ("p99<200ms : abort = 10s", {"abort": True, "abort_delay_s": 10.0}),
    ("error_rate<5%:abort=500ms", {"abort": True, "abort_delay_s": 0.5}),
    ("errors<100:abort=1m", {"abort": True, "abort_delay_s": 60.0}),
    ("p99<200ms", {"abort": False, "abort_delay_s": 0.0, "selector_name": None}),
]

INVALID: list[tuple[str, int, str]] = [
    ("p99<<200ms", 5, "expected a number"),
    ("", 1, "expected an aggregate such as p99 or error_rate"),
    ("   ", 4, "expected an aggregate"),
    ("<200ms", 1, "expected an aggregate"),
    ("p99x<200ms", 1, "unknown aggregate 'p99x'; did you mean 'p99'?"),
    ("eror_rate<1%", 1, "did you mean 'error_rate'?"),
    ("troughput>10", 1, "did you mean 'throughput'?"),
    ("P99<200ms", 1, "did you mean 'p99'?"),
    ("zzz<1", 1, "expected one of p50, p90"),
    ("p75<200ms", 1, "write p(75) for other percentiles"),
    ("p50.5<200ms", 1, "write p(50.5) for other percentiles"),
    ("p<200ms", 2, "expected '(' after 'p'"),
    ("p()<200ms", 3, "expected a percentile"),
    ("p(0)<200ms", 3, "above 0 and at most 100"),
    ("p(100.1)<200ms", 3, "above 0 and at most 100"),
    ("p(99<200ms", 5, "expected ')'"),
    ("latency<200ms", 8, "expected '.' and an aggregate after 'latency'"),
    ("latncy.p99<200ms", 1, "unknown metric 'latncy'; did you mean 'latency'?"),
    ("service_time.<1s", 14, "expected an aggregate such as p99 after 'service_time.'"),
    ("service_time.error_rate<1%", 14, "remove the 'service_time.' prefix"),
    ("service_time.p99x<1s", 14, "did you mean 'p99'?"),
    ("p99 200ms", 5, "expected an operator"),
    ("p99=200ms", 4, "'=' is not an operator; did you mean '=='?"),
    ("p99=<200ms", 4, "did you mean '<='?"),
    ("p99=>200ms", 4, "did you mean '>='?"),
    ("p99<", 5, "expected a number"),
    ("p99<-1ms", 5, "expected a number"),
    ("p99<200", 5, "latency limit needs a unit, e.g. 200ms"),
    ("service_time.max<3", 18, "service_time limit needs a unit"),
    ("p99<200 :abort", 5, "needs a unit"),
    ("p99<200xs", 8, "'xs' is not a time unit; use us, ms, s or m"),
    ("p99<200%", 8, "'%' is not a time unit"),
    ("p99<1h", 6, "'h' is not a time unit"),
    ("error_rate<5", 12, "error_rate is a fraction; write 5% for a percent"),
    ("error_rate<101%", 12, "at most 100%"),
    ("error_rate<1ms", 13, "error_rate takes a fraction (0.01) or a percent (1%), not 'ms'"),
    ("throughput>900rps", 15, "throughput is in requests per second"),
    ("throughput>90%", 14, "not '%'"),
    ("throughput>900/d", 15, "not '/d'"),
    ("dropped==0ms", 11, "dropped is a count and takes no unit"),
    ("requests>1.5", 10, "requests is a count: expected a whole number"),
    ("errors<1%", 9, "errors is a count and takes no unit"),
    ("dropped{name=login}==0", 8, "dropped counts arrivals"),
    ("p99{}<1s", 5, "expected a selector key such as name"),
    ("p99{nam=login}<1s", 5, "unknown selector key 'nam'; known keys: name"),
    ("p99{name login}<1s", 10, "expected '=' after 'name'"),
    ("p99{name=}<1s", 10, "expected a name after '='"),
    ("p99{name= }<1s", 11, "expected a name after '='"),
    ("p99{name='login}<1s", 10, "unterminated quoted name"),
    ('p99{name=""}<1s', 10, "empty name"),
    ("p99{name=a,name=b}<1s", 12, "selector key 'name' given twice"),
    ("p99{name=login<1s", 15, "expected ',' or '}'"),
    ("p99<200ms abort", 11, "unexpected text; expected ':abort' or the end"),
    ("p99<200ms;", 10, "unexpected text"),
    ("p99<200ms:", 11, "expected 'abort'"),
    ("p99<200ms:abrot", 11, "unknown option 'abrot'; did you mean 'abort'?"),
    ("p99<200ms:abort=", 17, "expected a delay, e.g. abort=10s"),
    ("p99<200ms:abort=10", 17, "abort delay needs a unit, e.g. 10s"),
    ("p99<200ms:abort=10d", 19, "'d' is not a delay unit"),
    ("p99<200ms:abort=10s x", 21, "unexpected text"),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[row[0] for row in VALID])
def test_valid_expressions(text: str, expected: dict[str, Any]) -> None:
    threshold = parse_threshold(text)
    for field, value in expected.items():
        actual = getattr(threshold, field)
        assert actual == (pytest.approx(value) if isinstance(value, float) else value), field


@pytest.mark.parametrize(("text", "column", "fragment"), INVALID, ids=[r[0] for r in INVALID])
def test_invalid_expressions(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ThresholdSyntaxError) as caught:
        parse_threshold(text)
    error = caught.value
    assert (error.column, error.expression) == (column, text)
    assert fragment in str(error)
    assert str(error).startswith(f"invalid threshold {text!r} at column {column}: ")
    assert "\n" not in str(error)


def test_the_example_message_from_the_design() -> None:
    with pytest.raises(ThresholdSyntaxError) as caught:
        parse_threshold("p99<<200ms")
    assert str(caught.value) == "invalid threshold 'p99<<200ms' at column 5: expected a number"


def test_syntax_errors_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        parse_threshold("p99<200")


def test_all_fields_of_a_full_expression() -> None:
    assert parse_threshold("service_time.p(99.9){name=login} <= 1.5s :abort=10s") == Threshold(
        expression="service_time.p(99.9){name=login} <= 1.5s :abort=10s",
        metric="service_time",
        aggregate="p",
        percentile=99.9,
        selector_name="login",
        operator="<=",
        limit=1500.0,
        unit="ms",
        abort=True,
        abort_delay_s=10.0,
    )


def test_spellings_of_one_threshold_are_equal_but_for_the_text() -> None:
    def core(t: Threshold) -> tuple[Any, ...]:
        return (t.metric, t.aggregate, t.percentile, t.operator, t.limit, t.unit)

    spellings = ["p99<200ms", "p(99)<0.2s", "latency.p99 < 200000us", "latency.p(99)<200ms"]
    assert len({core(t) for t in parse_thresholds(spellings)}) == 1


def test_parse_thresholds_keeps_order_and_stops_at_the_first_error() -> None:
    parsed = parse_thresholds(["p99<1s", "errors==0"])
    assert [t.metric for t in parsed] == ["latency", "errors"]
    with pytest.raises(ThresholdSyntaxError, match="'p99<1'"):
        parse_thresholds(["p99<1s", "p99<1", "bogus"])


@pytest.mark.parametrize("text", [row[0] for row in VALID])
def test_every_prefix_parses_or_points_inside_it(text: str) -> None:
    # The analogue of feeding a parser one byte at a time: a cut-off expression must give a
    # syntax error pointing at most one past its end, never another exception.
    for end in range(len(text)):
        try:
            parse_threshold(text[:end])
        except ThresholdSyntaxError as error:
            assert 1 <= error.column <= end + 1


def test_random_edits_never_crash() -> None:
    generator = random.Random(1234)
    alphabet = "p9.(){}=<>!:%/ msabortname,'\"x"
    for _ in range(3000):
        chars = list(generator.choice(VALID)[0])
        chars[generator.randrange(len(chars))] = generator.choice(alphabet)
        text = "".join(chars)
        try:
            parse_threshold(text)
        except ThresholdSyntaxError as error:
            assert 1 <= error.column <= len(text) + 1


def test_thresholds_are_hashable_values() -> None:
    assert len({parse_threshold("p99<1s"), parse_threshold("p99<1s")}) == 1


# ---- the documented examples parse ----------------------------------------------------------


def _documented_examples() -> list[str]:
    blocks = re.findall(r"^```threshold\n(.*?)^```", DOCS.read_text(encoding="utf-8"), re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_docs_have_examples() -> None:
    assert len(_documented_examples()) >= 20


@pytest.mark.parametrize("text", _documented_examples())
def test_documented_example_parses(text: str) -> None:
    assert parse_threshold(text).expression == text
