"""Parsing and formatting of user-given durations, rates and counts."""

from __future__ import annotations

import re

import pytest

from perfeng.errors import UsageError
from perfeng.units import (
    format_duration_ns,
    format_ms,
    parse_duration_ns,
    parse_duration_s,
    parse_positive_int,
    parse_rate,
)

S = 10**9

DURATIONS: list[tuple[str, int]] = [
    ("10s", 10 * S),
    ("0s", 0),
    ("1s", S),
    ("250ms", 250_000_000),
    ("1.5m", 90 * S),
    ("2h", 7200 * S),
    ("1h", 3600 * S),
    ("3m", 180 * S),
    ("100ns", 100),
    ("1ns", 1),
    ("1us", 1_000),
    ("1µs", 1_000),
    ("2.5us", 2_500),
    ("0.5ms", 500_000),
    ("1.25s", 1_250_000_000),
    (".5s", S // 2),
    ("5.s", 5 * S),
    ("5.", 5 * S),
    ("30", 30 * S),  # a bare number is in seconds by default
    ("0.001", 1_000_000),
    (" 10s ", 10 * S),
    ("10 s", 10 * S),
    ("10\tms", 10_000_000),
    ("007s", 7 * S),
    ("86400s", 86_400 * S),
    ("0.1ns", 0),  # rounds to whole nanoseconds
    ("0.5ns", 0),
    ("1.5ns", 2),
]


@pytest.mark.parametrize(("text", "ns"), DURATIONS)
def test_parse_duration_ns(text: str, ns: int) -> None:
    value = parse_duration_ns(text)
    assert value == ns
    assert isinstance(value, int)


@pytest.mark.parametrize(("text", "ns"), DURATIONS)
def test_parse_duration_s(text: str, ns: int) -> None:
    assert parse_duration_s(text) == pytest.approx(ns / 1e9, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "unit", "ns"),
    [
        ("250", "ms", 250_000_000),
        ("250", "us", 250_000),
        ("250", "ns", 250),
        ("2", "m", 120 * S),
        ("2", "h", 7200 * S),
        ("2s", "ms", 2 * S),  # an explicit unit wins over the default
        ("1.5", "s", 1_500_000_000),
    ],
)
def test_parse_duration_default_unit(text: str, unit: str, ns: int) -> None:
    assert parse_duration_ns(text, default_unit=unit) == ns


BAD_DURATIONS = [
    "",
    " ",
    "s",
    "ms",
    "-1s",
    "+1s",
    "1e3s",
    "1e3",
    "10 sec",
    "10sec",
    "10S",
    "10MS",
    "1d",
    "1w",
    "abc",
    "1s2",
    "1m30s",
    "1..5s",
    "1.5.s",
    ".",
    ".s",
    "inf",
    "nan",
    "1,5s",
    "1_000s",
    "10 s s",
    "9" * 400,  # overflows a float: still a usage error, not a crash
    "9" * 400 + "h",
]


def _short(text: str) -> str:
    return (text if len(text) <= 12 else f"{text[:4]}...({len(text)} chars)") or "empty"


@pytest.mark.parametrize("text", BAD_DURATIONS, ids=[_short(t) for t in BAD_DURATIONS])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError, match=r"^invalid duration ") as info:
        parse_duration_ns(text)
    assert repr(text) in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError):
        parse_duration_s(text)


RATES: list[tuple[str, float]] = [
    ("500", 500.0),
    ("500/s", 500.0),
    ("500/sec", 500.0),
    ("500/second", 500.0),
    ("30000/m", 500.0),
    ("30000/min", 500.0),
    ("30000/minute", 500.0),
    ("200/h", 200 / 3600),
    ("7200/hour", 2.0),
    ("0.5", 0.5),
    (".5", 0.5),
    ("1.", 1.0),
    ("0", 0.0),  # parses; the workloads refuse a zero rate
    (" 500 / s ", 500.0),
    ("500 /s", 500.0),
    ("1/m", 1 / 60),
    ("1000000", 1e6),
]


@pytest.mark.parametrize(("text", "rate"), RATES)
def test_parse_rate(text: str, rate: float) -> None:
    assert parse_rate(text) == pytest.approx(rate, rel=1e-15)


BAD_RATES = [
    "",
    " ",
    "-5",
    "+5",
    "5/",
    "/s",
    "5/d",
    "5/ms",
    "5/S",
    "5 per s",
    "abc",
    "5s",
    "1e3",
    "1,000",
    "inf",
    "nan",
    "5/s/s",
    "5//s",
]


@pytest.mark.parametrize("text", BAD_RATES, ids=[t or "empty" for t in BAD_RATES])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(UsageError, match=r"^invalid rate ") as info:
        parse_rate(text)
    assert repr(text) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("10", 10), ("100000", 100_000), (" 5 ", 5), ("007", 7), ("+3", 3)],
)
def test_parse_positive_int(text: str, value: int) -> None:
    assert parse_positive_int(text, "--users") == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "must be at least 1"),
        ("-1", "must be at least 1"),
        ("-0", "must be at least 1"),
        ("1.5", "expected a whole number"),
        ("1.0", "expected a whole number"),
        ("abc", "expected a whole number"),
        ("", "expected a whole number"),
        ("1e3", "expected a whole number"),
        ("ten", "expected a whole number"),
        ("0x10", "expected a whole number"),
    ],
)
def test_parse_positive_int_rejects(text: str, reason: str) -> None:
    with pytest.raises(UsageError, match=rf"^invalid --users {re.escape(repr(text))}: {reason}$"):
        parse_positive_int(text, "--users")


FORMATTED_DURATIONS: list[tuple[float, str]] = [
    (0, "0us"),
    (400, "0us"),
    (1_000, "1us"),
    (850_000, "850us"),
    (999_000, "999us"),
    (1_000_000, "1ms"),
    (1_500_000, "1.5ms"),
    (12_300_000, "12.3ms"),
    (123_400_000, "123ms"),
    (999_000_000, "999ms"),
    (1_000_000_000, "1.00s"),
    (4_200_000_000, "4.20s"),
    (59_000_000_000, "59.00s"),
    (60 * S, "1m00s"),
    (125 * S, "2m05s"),
    (3600 * S, "60m00s"),
    (4_200_000_000.0, "4.20s"),  # floats are accepted
]


@pytest.mark.parametrize(("ns", "text"), FORMATTED_DURATIONS)
def test_format_duration_ns(ns: float, text: str) -> None:
    assert format_duration_ns(ns) == text


_SHORT = re.compile(r"^(\d+)us$|^(\d+(?:\.\d+)?)ms$|^(\d+\.\d\d)s$|^(\d+)m(\d\d)s$")

BOUNDARIES = [
    999_499,
    999_500,
    999_999,
    999_499_999,
    999_500_000,
    999_600_000,
    999_999_999,
    59_994_999_999,
    59_995_000_000,
    59_999_999_999,
    119_600_000_000,
]


@pytest.mark.parametrize("ns", BOUNDARIES + [ns for ns, _ in FORMATTED_DURATIONS])
def test_format_duration_ns_stays_in_its_unit(ns: float) -> None:
    """Just below a unit boundary the number must not round up out of its unit: no '1000us',
    no '1e+03ms', no '60.00s', no '1m60s'."""
    text = format_duration_ns(ns)
    match = _SHORT.match(text)
    assert match, text
    us, ms, s, _minutes, seconds = match.groups()
    if us is not None:
        assert int(us) < 1000, text
    if ms is not None:
        assert float(ms) < 1000, text
    if s is not None:
        assert float(s) < 60, text
    if seconds is not None:
        assert int(seconds) < 60, text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "-"),
        (0, "0.00"),
        (0.004, "0.00"),
        (0.005001, "0.01"),
        (1.234, "1.23"),
        (9.99, "9.99"),
        (10, "10.0"),
        (12.345, "12.3"),
        (99.94, "99.9"),
        (100, "100"),
        (123.4, "123"),
        (999.4, "999"),
        (1_234.6, "1,235"),
        (1_000_000, "1,000,000"),
    ],
)
def test_format_ms(ms: float | None, text: str) -> None:
    assert format_ms(ms) == text


def test_fractions_need_a_percent_sign_above_one() -> None:
    from perfeng.units import parse_fraction

    assert parse_fraction("5%", "x", high=10) == pytest.approx(0.05)
    assert parse_fraction("0.05", "x", high=10) == pytest.approx(0.05)
    assert parse_fraction("250%", "x", high=10) == pytest.approx(2.5)
    with pytest.raises(UsageError, match=r"write a percentage \(10%\) or a fraction below 1"):
        parse_fraction("10", "--min-effect", high=10)
    with pytest.raises(UsageError, match="at most 1"):
        parse_fraction("1.5", "--alpha")
