"""The fault language: whole specs, errors with their columns, and the decision core."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from perfeng.proxy.core import Decider, Forward, Hold, Reset
from perfeng.proxy.spec import FaultSpec, FaultSyntaxError, parse_fault

VALID: list[tuple[str, dict[str, Any]]] = [
    ("latency=200ms", {"kind": "latency", "latency_ms": 200.0, "direction": "down", "share": 1}),
    ("latency=200ms,jitter=50ms@25%", {"latency_ms": 200.0, "jitter_ms": 50.0, "share": 0.25}),
    ("latency=100ms/up", {"latency_ms": 100.0, "direction": "up"}),
    ("latency=1s,dir=both", {"latency_ms": 1000.0, "direction": "both"}),
    ("latency=5", {"latency_ms": 5.0}),  # a bare number is in ms, as Toxiproxy's attributes
    ("bandwidth=64KB/s", {"kind": "bandwidth", "rate_bps": 64_000.0}),
    ("bandwidth=1KiB/s/up", {"rate_bps": 1024.0, "direction": "up"}),
    ("bandwidth=500", {"rate_bps": 500.0}),
    ("timeout", {"kind": "timeout", "hold_ms": None}),
    ("timeout=2s", {"hold_ms": 2000.0}),
    ("reset@10%", {"kind": "reset", "share": 0.1}),
    ("reset@0.5", {"share": 0.5}),
    ("slow-close=1s", {"kind": "slow-close", "delay_ms": 1000.0}),
    ("slicer=64B", {"kind": "slicer", "size": 64, "delay_ms": 0.0}),
    ("slicer=1KB,delay=2ms,dir=up", {"size": 1000, "delay_ms": 2.0, "direction": "up"}),
    ("down", {"kind": "down"}),
    (" latency = 3ms , jitter = 1ms @ 50% ", {"latency_ms": 3.0, "jitter_ms": 1.0, "share": 0.5}),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_specs(text: str, expected: dict[str, Any]) -> None:
    spec = parse_fault(text)
    for key, value in expected.items():
        assert getattr(spec, key) == value, key
    assert spec.text == text.strip()


ERRORS = [
    ("latncy=2ms", 1, "did you mean 'latency'"),
    ("", 1, "expected a fault kind"),
    ("@5%", 1, "expected a fault kind"),
    ("latency", 8, "latency needs a value"),
    ("latency=2xs", 9, "invalid duration '2xs'"),
    ("down=3", 5, "down takes no value"),
    ("reset@200%", 7, "invalid share"),
    ("reset@0%", 7, "above 0%"),
    ("reset@1%@2%", 9, "only one '@SHARE'"),
    ("latency=1ms,foo=2", 13, "unknown attribute 'foo' for latency"),
    ("latency=1ms,jitter", 19, "expected '=' and a value after 'jitter'"),
    ("latency=1ms,dir=sideways", 17, "unknown direction 'sideways'"),
    ("bandwidth=64KB/m", 11, "write bytes per second"),
    ("bandwidth=0", 11, "at least 1 B/s"),
    ("slicer=0B", 8, "at least 1 byte"),
    ("reset,jitter=1ms", 7, "it takes no attributes"),
]


@pytest.mark.parametrize(("text", "column", "reason"), ERRORS)
def test_errors_point_at_the_column(text: str, column: int, reason: str) -> None:
    with pytest.raises(FaultSyntaxError) as caught:
        parse_fault(text)
    assert caught.value.column == column, str(caught.value)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def _cycle(*values: float) -> Any:
    """A random source that replays ``values``."""
    source = itertools.cycle(values)
    return lambda: next(source)


def test_share_draws_once_per_connection() -> None:
    decider = Decider(_cycle(0.1, 0.9, 0.2, 0.8))
    decider.add("r", parse_fault("reset@50%"))
    verdicts = [decider.admit(conn) for conn in range(4)]
    assert verdicts == ["reset", "accept", "reset", "accept"]
    # the draw sticks: connection 1 stays untouched however often it is asked
    assert [decider.admit(1) for _ in range(3)] == ["accept"] * 3


def test_a_readded_fault_draws_again() -> None:
    decider = Decider(_cycle(0.9, 0.1))
    decider.add("r", parse_fault("reset@50%"))
    assert decider.admit(1) == "accept"
    decider.add("r", parse_fault("reset@50%"))
    assert decider.admit(1) == "reset"


def test_latency_with_jitter_and_direction() -> None:
    decider = Decider(_cycle(1.0, 0.0, 0.5))  # jitter +j, -j, 0
    decider.add("l", parse_fault("latency=100ms,jitter=20ms"))
    decider.open(1)
    times = [decider.decide(1, "down", b"x", 10.0) for _ in range(3)]
    assert [round(d.pieces[0][0], 6) for d in times if isinstance(d, Forward)] == [
        10.12,
        10.12,  # 10.08 would overtake the first chunk: held to keep the order
        10.12,
    ]
    up = decider.decide(1, "up", b"x", 10.0)
    assert up == Forward(((10.0, b"x"),))  # latency is downstream unless told


def test_bandwidth_paces_the_bytes() -> None:
    decider = Decider(_cycle(0.5))
    decider.add("b", parse_fault("bandwidth=1000"))
    decider.open(1)
    first = decider.decide(1, "down", b"a" * 500, 0.0)
    second = decider.decide(1, "down", b"b" * 1000, 0.1)
    assert isinstance(first, Forward) and isinstance(second, Forward)
    assert first.pieces[0][0] == pytest.approx(0.5)
    assert second.pieces[0][0] == pytest.approx(1.5)


def test_slicer_cuts_and_spaces_the_pieces() -> None:
    decider = Decider(_cycle(0.5))
    decider.add("s", parse_fault("slicer=4B,delay=10ms"))
    decider.open(1)
    decision = decider.decide(1, "down", b"0123456789", 1.0)
    assert isinstance(decision, Forward)
    assert [p for _, p in decision.pieces] == [b"0123", b"4567", b"89"]
    assert [round(t, 6) for t, _ in decision.pieces] == [1.0, 1.01, 1.02]


def test_timeout_holds_then_closes() -> None:
    decider = Decider(_cycle(0.5))
    decider.open(1)
    decider.add("t", parse_fault("timeout=2s"))
    assert decider.decide(1, "up", b"GET", 5.0) == Hold(7.0)
    assert decider.decide(1, "down", b"x", 6.0) == Hold(7.0)  # from the first held byte
    decider.remove("t")
    decider.add("forever", parse_fault("timeout"))
    assert decider.decide(1, "up", b"x", 8.0) == Hold(None)


def test_reset_and_down_reset_open_connections() -> None:
    decider = Decider(_cycle(0.5))
    decider.open(1)
    decider.add("d", parse_fault("down"))
    assert decider.decide(1, "up", b"x", 0.0) == Reset()
    assert decider.admit(2) == "refuse"
    decider.remove("d")
    assert decider.admit(3) == "accept"


def test_slow_close_delay() -> None:
    decider = Decider(_cycle(0.5))
    decider.add("c", FaultSpec(kind="slow-close", delay_ms=1500.0))
    assert decider.close_delay_s(1) == 1.5


SCENARIO = (
    'base_url = "http://127.0.0.1:9"\n[[requests]]\npath = "/"\n'
    '[[workloads]]\ntype = "constant-rate"\nrate = 10\nduration = "5s"\n'
)


def test_toml_fault_timeline(tmp_path: Any) -> None:
    from perfeng.scenario.toml_loader import load_toml_scenario

    path = tmp_path / "s.toml"
    path.write_text(
        SCENARIO + '[[faults]]\nfault = "reset@10%"\nat = "1s"\nfor = "2s"\n'
        '[[faults]]\nfault = "latency=50ms/up"\n'
    )
    first, second = load_toml_scenario(path).faults
    assert (first.spec.kind, first.spec.share, first.at_s, first.for_s) == ("reset", 0.1, 1.0, 2.0)
    assert (second.spec.direction, second.at_s, second.for_s) == ("up", 0.0, None)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('fault = "reset@x"', "[[faults]] #1: invalid fault 'reset@x' at column 7"),
        ('at = "1s"', "[[faults]] #1: 'fault' is required"),
        ('fault = "down"\nwhen = "1s"', "[[faults]] #1: unknown key 'when'"),
        ('fault = "down"\nat = 5', "[[faults]] #1: 'at' must be a duration string"),
        ('fault = "down"\nfor = "soon"', "[[faults]] #1: invalid duration 'soon'"),
    ],
)
def test_toml_fault_errors(tmp_path: Any, table: str, message: str) -> None:
    from perfeng.errors import ConfigError
    from perfeng.scenario.toml_loader import load_toml_scenario

    path = tmp_path / "s.toml"
    path.write_text(SCENARIO + "[[faults]]\n" + table + "\n")
    with pytest.raises(ConfigError) as caught:
        load_toml_scenario(path)
    assert message in str(caught.value) and str(path) in str(caught.value)
