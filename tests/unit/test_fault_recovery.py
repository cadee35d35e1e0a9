"""Recovery after a fault on synthetic series with known answers."""

from __future__ import annotations

from typing import Any

import pytest

from perfeng.analysis.faults import fault_outcomes, worst_recovery_s
from perfeng.model.faults import FaultWindow, read_outcomes, to_builtins


def _second(at: int, p99: float = 2.0, requests: int = 100, errors: int = 0) -> dict[str, Any]:
    return {
        "elapsed_s": float(at),
        "duration_s": 1.0,
        "requests": requests,
        "errors": errors,
        "dropped": 0,
        "p99_ms": p99,
        "histogram": None,
    }


def _series(bad: dict[int, dict[str, Any]], length: int = 12) -> list[dict[str, Any]]:
    return [_second(at, **bad.get(at, {})) for at in range(length)]


WINDOW = FaultWindow(kind="reset", fault="reset@50%", start_s=4.0, end_s=6.0)


def test_errors_during_the_window_and_an_immediate_recovery() -> None:
    series = _series({4: {"errors": 50}, 5: {"errors": 40}})
    (outcome,) = fault_outcomes(series, [WINDOW])
    assert (outcome.requests, outcome.errors, outcome.error_rate) == (200, 90, 0.45)
    assert outcome.recovered and outcome.recovery_s == 0.0
    assert outcome.lost == 90
    assert outcome.baseline_p99_ms == 2.0 and outcome.baseline_error_rate == 0.0


def test_slow_recovery_counts_from_the_window_end() -> None:
    # latency stays high for 3 s after the fault: 2 * 1.5 + 5 = 8 ms is the band's edge
    series = _series(
        {4: {"p99": 200}, 5: {"p99": 200}, 6: {"p99": 50}, 7: {"p99": 9}, 8: {"p99": 8.1}}
    )
    (outcome,) = fault_outcomes(series, [WINDOW])
    assert outcome.p99_ms == 200
    assert outcome.recovery_s == 3.0


def test_a_single_good_second_is_not_a_recovery() -> None:
    series = _series({6: {"errors": 30}, 8: {"errors": 30}})  # flapping after the fault
    (outcome,) = fault_outcomes(series, [WINDOW])
    assert outcome.recovery_s == 3.0  # 9, 10, 11 are the first three good seconds in a row
    assert outcome.lost == 60


def test_never_recovered() -> None:
    series = _series({at: {"errors": 100} for at in range(4, 12)})
    (outcome,) = fault_outcomes(series, [WINDOW])
    assert not outcome.recovered and outcome.recovery_s is None
    assert "run ended" in outcome.note
    assert outcome.lost == 800
    assert worst_recovery_s([to_builtins(outcome)]) == (
        None,
        "the reset fault at 4s did not recover",
    )


def test_the_next_fault_cuts_the_search() -> None:
    second = FaultWindow(kind="down", fault="down", start_s=7.0, end_s=8.0)
    series = _series({at: {"errors": 100} for at in (4, 5, 6, 7)})
    first, then = fault_outcomes(series, [second, WINDOW])  # sorted by start
    assert first.kind == "reset" and first.recovery_s is None
    assert "next fault" in first.note
    assert then.recovery_s == 0.0


def test_the_baseline_leaves_out_the_first_second_and_takes_the_median() -> None:
    series = _series({0: {"p99": 80}, 1: {"p99": 3}, 2: {"p99": 2}, 3: {"p99": 2}, 6: {"p99": 8.5}})
    (outcome,) = fault_outcomes(series, [WINDOW])
    assert outcome.baseline_p99_ms == 2.0
    assert outcome.recovery_s == 1.0  # 8.5 ms is above 2 * 1.5 + 5


def test_no_baseline() -> None:
    window = FaultWindow(kind="down", fault="down", start_s=0.0, end_s=1.0)
    (outcome,) = fault_outcomes(_series({}), [window])
    assert outcome.recovery_s is None and "no baseline" in outcome.note


def test_no_windows() -> None:
    assert fault_outcomes(_series({}), []) == []
    assert worst_recovery_s([]) == (None, "no fault windows in this run")


def test_worst_window_counts() -> None:
    outcomes = [
        {"kind": "a", "start_s": 1, "recovery_s": 2.0},
        {"kind": "b", "start_s": 5, "recovery_s": 7.5},
    ]
    assert worst_recovery_s(outcomes) == (7.5, "")


def test_outcomes_round_trip_their_declared_shape() -> None:
    outcomes = fault_outcomes(_series({4: {"errors": 5}}), [WINDOW])
    assert read_outcomes(to_builtins(outcomes)) == outcomes
    with pytest.raises(ValueError, match="recovery_s"):
        read_outcomes([{**to_builtins(outcomes[0]), "recovery_s": "soon"}])


def test_recovery_threshold_takes_the_worst_window() -> None:
    from perfeng.gates import evaluate, parse_threshold

    threshold = parse_threshold("recovery_s<10s")
    assert (threshold.metric, threshold.limit, threshold.unit) == ("recovery_s", 10.0, "s")
    faults = [
        {"kind": "reset", "start_s": 2, "recovery_s": 3.0},
        {"kind": "down", "start_s": 9, "recovery_s": 12.0},
    ]
    verdict = evaluate(threshold, {"faults": faults})
    assert (verdict.observed, verdict.passed, verdict.margin) == (12.0, False, -2.0)
    assert verdict.describe() == "recovery_s<10s: 12s (limit 10s) fail"
    assert evaluate(parse_threshold("recovery_s<=500ms"), {"faults": faults[:1]}).observed == 3.0
    nothing = evaluate(threshold, {"faults": []})
    assert not nothing.passed and nothing.note == "no fault windows in this run"


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("recovery_s<10", 12, "needs a unit"),
        ("recovery_s<10%", 14, "not a time unit"),
        ("recovery_s{name=a}<1s", 11, "takes no selector"),
    ],
)
def test_recovery_threshold_errors(text: str, column: int, reason: str) -> None:
    from perfeng.gates import ThresholdSyntaxError, parse_threshold

    with pytest.raises(ThresholdSyntaxError) as caught:
        parse_threshold(text)
    assert caught.value.column == column and reason in str(caught.value)


def test_findings_for_no_and_slow_recovery() -> None:
    from perfeng.analysis.faults import fault_findings

    never = fault_outcomes(_series({at: {"errors": 100} for at in range(4, 12)}), [WINDOW])
    (finding,) = fault_findings({"faults": to_builtins(never)})
    assert finding.id == "no_recovery" and finding.severity == "critical"
    assert (
        finding.title
        == "No recovery after the reset fault at 4 s (not recovered before the run ended)"
    )
    assert finding.figures["lost"] == 800 and finding.window_s == [4.0, 6.0]
    late = _series({at: {"p99": 50} for at in range(4, 12)}, length=20)
    (slow,) = fault_findings({"faults": to_builtins(fault_outcomes(late, [WINDOW]))})
    assert slow.id == "slow_recovery" and slow.severity == "warning"
    assert slow.figures["recovery_s"] == 6.0 and slow.window_s == [6.0, 12.0]
    quick = fault_outcomes(_series({4: {"errors": 9}}), [WINDOW])
    assert fault_findings({"faults": to_builtins(quick)}) == []
    assert fault_findings({}) == []


def test_the_seconds_of_each_window_are_marked() -> None:
    from perfeng.analysis.faults import faults_by_second

    short = FaultWindow(kind="down", fault="down", start_s=8.3, end_s=8.8)
    marks = faults_by_second(_series({}), [WINDOW, short])
    assert marks[3:10] == [[], ["reset@50%"], ["reset@50%"], [], [], ["down"], []]


def test_no_verdict_without_room_to_recover() -> None:
    from perfeng.analysis.faults import fault_findings

    series = _series({at: {"errors": 100} for at in range(4, 8)}, length=8)
    (outcome,) = fault_outcomes(series, [WINDOW])
    assert outcome.after_s == 2.0 and outcome.recovery_s is None
    (finding,) = fault_findings({"faults": to_builtins([outcome])})
    assert finding.severity == "info"
    assert finding.title.startswith(
        "Recovery not judged after the reset fault at 4 s: only 2 s of load followed it"
    )
