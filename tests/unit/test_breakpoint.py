"""Where a breakpoint ramp broke: the load its plan had reached when an abort threshold fired,
as recorded in the result and shown in the reports."""

from __future__ import annotations

from typing import Any

import pytest

from perfeng.analysis.breakpoint import breakpoint_of, value_at
from perfeng.engine.workloads.pattern import make_pattern
from perfeng.model.breakpoint import read_breakpoint
from perfeng.model.watch import ShapeError, to_builtins
from perfeng.report.patterns import describe, pattern_lines
from perfeng.workflows.patterns import AbortClock, note_breakpoint

ABORT = "abort: p99<100ms:abort: 128ms (limit 100ms) fail"


def document(
    pattern: str = "breakpoint",
    interrupted: str | None = ABORT,
    ran_s: float = 3.4,
    users: int | None = None,
) -> dict[str, Any]:
    workload = make_pattern(pattern, peak=None if users else 1000.0, users=users, duration_s=10.0)
    return {
        "workloads": [{**workload.to_dict(), "plan": workload.plan().to_dict()}],
        "interrupted": interrupted,
        "metadata": {"duration_s": ran_s},
        "summary": {
            "thresholds": [
                {"expression": "error_rate<5%:abort", "abort": True, "pass": True},
                {"expression": "p99<100ms:abort", "abort": True, "pass": False},
            ],
            "timeseries": [
                {"elapsed_s": 0.0, "achieved_rate": 40.0},
                {"elapsed_s": 1.0, "achieved_rate": 150.0},
                {"elapsed_s": 2.0, "achieved_rate": 190.0},
                {"elapsed_s": 3.0, "achieved_rate": 210.0},  # after the abort: drain
            ],
        },
    }


def test_the_rate_the_ramp_had_reached_when_it_broke() -> None:
    point = breakpoint_of(document(), aborted_at_s=2.68)
    assert point is not None
    assert (point.broke, point.unit, point.rate, point.users) == (True, "req/s", 268.0, None)
    assert (point.at_s, point.threshold, point.planned_peak) == (2.68, "p99<100ms:abort", 1000.0)
    assert point.verdict == "p99<100ms:abort: 128ms (limit 100ms) fail"
    assert point.peak_answered_rps == 190.0  # the seconds before the break only
    assert describe(point) == (
        "breakpoint: broke at 268 req/s, 2.7 s into the ramp, by p99<100ms:abort; "
        "the most answered in one second: 190/s"
    )


def test_without_the_moment_the_run_length_stands_in() -> None:
    point = breakpoint_of(document(ran_s=3.4))
    assert point is not None and point.at_s == 3.4 and point.rate == 340.0


def test_a_ramp_that_did_not_break() -> None:
    point = breakpoint_of(document(interrupted=None, ran_s=9.98))  # the last answer came early
    assert point is not None
    assert (point.broke, point.rate, point.at_s, point.threshold) == (False, 1000.0, 10.0, None)
    assert describe(point).startswith("breakpoint: did not break up to 1,000 req/s")


def test_a_ramp_stopped_by_a_signal() -> None:
    point = breakpoint_of(document(interrupted="SIGINT", ran_s=5.0))
    assert point is not None and not point.broke and point.stopped_by == "SIGINT"
    assert describe(point).startswith(
        "breakpoint: stopped (SIGINT) at 500 req/s before it broke (the ramp goes to 1,000 req/s)"
    )


def test_the_closed_model_breaks_at_a_user_count() -> None:
    point = breakpoint_of(document(users=50), aborted_at_s=4.0)
    assert point is not None
    assert (point.unit, point.rate, point.users) == ("users", None, 20)
    assert "broke at 20 users" in describe(point)


def test_other_runs_have_no_breakpoint() -> None:
    assert breakpoint_of(document(pattern="load")) is None
    plain = document(pattern="load")
    note_breakpoint(plain, 2.0)
    assert "breakpoint" not in plain["summary"] and pattern_lines(plain) == []


def test_the_result_records_it_in_its_declared_shape() -> None:
    result = document()
    note_breakpoint(result, 2.68)
    recorded = result["summary"]["breakpoint"]
    assert read_breakpoint(recorded, "run.json") == breakpoint_of(document(), 2.68)
    assert pattern_lines(result)[0].startswith("breakpoint: broke at 268 req/s")
    with pytest.raises(ShapeError, match=r"summary\.breakpoint"):
        read_breakpoint({**recorded, "at_s": "soon"}, "run.json")
    assert to_builtins(read_breakpoint(recorded, "x")) == recorded


def test_the_plan_value_between_and_after_stages() -> None:
    stages = [
        {"duration_s": 10.0, "start": 0.0, "end": 100.0},
        {"duration_s": 10.0, "start": 100.0, "end": 100.0},
    ]
    assert [value_at(stages, t) for t in (0.0, 2.5, 10.0, 15.0, 25.0)] == [
        0.0, 25.0, 100.0, 100.0, 100.0,
    ]  # fmt: skip


def test_the_abort_clock_notes_the_first_abort() -> None:
    clock = AbortClock()
    assert clock.wrap(None) is None
    answers = iter([None, "abort: x", "abort: y"])
    check = clock.wrap(lambda _recorder, _elapsed: next(answers))
    assert check is not None
    assert [check(None, t) for t in (1.0, 2.0, 3.0)] == [None, "abort: x", "abort: y"]
    assert clock.at_s == 2.0
