"""Evaluating thresholds against summaries built by the real recorder, and the abort watch."""

from __future__ import annotations

from typing import Any

import pytest

from perfeng.gates import AbortWatch, Verdict, evaluate, evaluate_all, parse_threshold
from perfeng.model.recorder import Recorder
from perfeng.model.result import summarize, totals_of
from perfeng.model.sample import Sample

MS = 1_000_000
S = 1_000_000_000
HDR = 1e-3  # HdrHistogram keeps 3 significant digits


def _summary(samples: list[Sample], dropped: int = 0, seconds: int = 10) -> dict[str, Any]:
    recorder = Recorder(start_ns=0, wall_start_s=1000.0)
    for sample in samples:
        recorder.record(sample)
    recorder.record_dropped(dropped)
    measurements = recorder.finish(seconds * S, 1000.0 + seconds, generator={})
    return summarize(totals_of(measurements))


def _run_samples() -> list[Sample]:
    """login: latencies 1..100 ms; search: 200 requests, 10ms service plus 5ms queueing, 4 fail."""
    samples = []
    for i in range(1, 101):
        sent = i * 10 * MS
        samples.append(Sample("login", sent, sent, sent + i * MS, 200, None, 100, 1000))
    for i in range(200):
        sent = 5 * S + i * 10 * MS
        failed = i % 50 == 0
        status, error = (500, "http_5xx") if failed else (200, None)
        samples.append(Sample("search", sent - 5 * MS, sent, sent + 10 * MS, status, error, 1, 1))
    return samples


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    """300 requests in 10 s (30/s), 4 errors (1.33%), 3 dropped arrivals."""
    return _summary(_run_samples(), dropped=3)


@pytest.fixture(scope="module")
def empty() -> dict[str, Any]:
    return _summary([])


# expression, observed (None: no data), passed
CASES: list[tuple[str, float | None, bool]] = [
    # latency of the whole run: 100 values 1..100 ms and 200 of 15 ms
    ("min>=1ms", 1.0, True),
    ("p50<16ms", 15.0, True),
    ("med<16ms", 15.0, True),
    ("p(75)<26ms", 25.0, True),
    ("max<100ms", 100.0, False),
    # latency and service time per name
    ("p50{name=login}<=50.1ms", 50.0, True),
    ("p90{name=login}<90ms", 90.0, False),
    ("p95{name=login}>90ms", 95.0, True),
    ("p99{name=login}<100ms", 99.0, True),
    ("p99.9{name=login}<=0.11s", 100.0, True),
    ("p(75){name=login}<76ms", 75.0, True),
    ("p(99.9){name=login}>99ms", 100.0, True),
    ("mean{name=login}<51ms", 50.5, True),
    ("avg{name=login}>51ms", 50.5, False),
    ("p99{name=search}<11ms", 15.0, False),
    ("latency.p99{name=search}<16ms", 15.0, True),
    ("service_time.p99{name=search}<11ms", 10.0, True),
    ("service_time.p(75){name=search}<=10.1ms", 10.0, True),
    ("service_time.min{name=search}>=10000us", 10.0, True),
    ("p99{name=login}<200ms", 99.0, True),
    # rates and counts
    ("error_rate<1%", 4 / 300, False),
    ("error_rate<2%", 4 / 300, True),
    ("error_rate{name=search}<=0.02", 0.02, True),
    ("error_rate{name=search}<2%", 0.02, False),
    ("error_rate{name=login}==0", 0.0, True),
    ("throughput>=30", 30.0, True),
    ("throughput<1800/m", 30.0, False),
    ("throughput{name=login}==10/s", 10.0, True),
    ("requests==300", 300.0, True),
    ("requests{name=search}!=200", 200.0, False),
    ("errors<=4", 4.0, True),
    ("errors{name=login}==0", 0.0, True),
    ("dropped==0", 3.0, False),
    ("dropped<5", 3.0, True),
    # a name that never ran
    ("p99{name=nope}<1s", None, False),
    ("errors{name=nope}==0", None, False),
]


@pytest.mark.parametrize(("text", "observed", "passed"), CASES, ids=[c[0] for c in CASES])
def test_evaluate_against_a_recorded_run(
    run: dict[str, Any], text: str, observed: float | None, passed: bool
) -> None:
    verdict = evaluate(parse_threshold(text), run)
    assert verdict.observed == (None if observed is None else pytest.approx(observed, rel=HDR))
    assert verdict.passed is passed


def test_margin_is_positive_with_room_to_spare(run: dict[str, Any]) -> None:
    def margin(text: str) -> float | None:
        return evaluate(parse_threshold(text), run).margin

    assert margin("p99{name=login}<200ms") == pytest.approx(101.0, abs=0.1)
    assert margin("p99{name=search}<11ms") == pytest.approx(-4.0, abs=0.1)
    assert margin("p99{name=search}>11ms") == pytest.approx(4.0, abs=0.1)
    assert margin("throughput>=25") == 5.0
    assert margin("throughput>=30") == 0.0
    assert margin("dropped==0") == -3.0
    assert margin("dropped!=0") == 3.0
    assert margin("error_rate{name=search}<5%") == pytest.approx(0.03)


def test_unknown_name_fails_with_a_note(run: dict[str, Any]) -> None:
    verdict = evaluate(parse_threshold("p99{name=nope}<1s"), run)
    assert (verdict.observed, verdict.margin, verdict.passed) == (None, None, False)
    assert verdict.note == "no requests named 'nope'"


@pytest.mark.parametrize(
    ("text", "observed", "passed"),
    [
        ("p99<200ms", None, False),
        ("p(75)<200ms", None, False),
        ("service_time.mean<1s", None, False),
        ("dropped==0", 0.0, True),
        ("errors==0", 0.0, True),
        ("requests>0", 0.0, False),
        ("requests==0", 0.0, True),
        ("error_rate<1%", 0.0, True),
        ("throughput>0", 0.0, False),
    ],
)
def test_an_empty_run(
    empty: dict[str, Any], text: str, observed: float | None, passed: bool
) -> None:
    verdict = evaluate(parse_threshold(text), empty)
    assert (verdict.observed, verdict.passed) == (observed, passed)
    assert verdict.note == ("no data" if observed is None else "")


def test_percentiles_not_stored_need_the_histograms(run: dict[str, Any]) -> None:
    without = {key: value for key, value in run.items() if key != "histograms"}
    verdict = evaluate(parse_threshold("p(75)<1s"), without)
    assert (verdict.observed, verdict.passed) == (None, False)
    assert "histogram" in verdict.note
    assert evaluate(parse_threshold("p(99)<1s"), without).passed  # stored: no histogram needed


def test_evaluate_all_keeps_order(run: dict[str, Any]) -> None:
    thresholds = [parse_threshold(t) for t in ("errors<=4", "dropped==0", "p99<1s")]
    verdicts = evaluate_all(thresholds, run)
    assert [v.threshold for v in verdicts] == thresholds
    assert [v.passed for v in verdicts] == [True, False, True]


def test_to_dict(run: dict[str, Any]) -> None:
    verdict = evaluate(parse_threshold("error_rate{name=search} <= 2%:abort"), run)
    assert verdict.to_dict() == {
        "expression": "error_rate{name=search} <= 2%:abort",
        "metric": "error_rate",
        "observed": 0.02,
        "limit": 0.02,
        "unit": "ratio",
        "operator": "<=",
        "pass": True,
        "margin": 0.0,
        "abort": True,
        "note": "",
    }


@pytest.mark.parametrize(
    ("text", "observed", "passed", "note", "line"),
    [
        ("p99<200ms", 153.2, True, "", "p99<200ms: 153.2ms (limit 200ms) pass"),
        ("p99<0.5s", 612.0, False, "", "p99<0.5s: 612ms (limit 500ms) fail"),
        ("error_rate<1%", 0.0125, False, "", "error_rate<1%: 1.25% (limit 1%) fail"),
        ("throughput>=54000/m", 912.5, True, "", "throughput>=54000/m: 912.5/s (limit 900/s) pass"),
        ("dropped==0", 0.0, True, "", "dropped==0: 0 (limit 0) pass"),
        ("p99<1s", None, False, "no data", "p99<1s: - (limit 1000ms) fail (no data)"),
    ],
)
def test_describe(text: str, observed: float | None, passed: bool, note: str, line: str) -> None:
    verdict = Verdict(parse_threshold(text), observed, passed, None, note)
    assert verdict.describe() == line


# ---- abort watch ----------------------------------------------------------------------------


def _rate(error_rate: float) -> dict[str, Any]:
    """The part of a summary an error_rate threshold reads."""
    return {"error_rate": error_rate, "requests": 100}


GOOD, BAD = _rate(0.0), _rate(0.5)


def test_abort_watch_ignores_thresholds_without_abort() -> None:
    watch = AbortWatch([parse_threshold("error_rate<1%")])
    assert watch.thresholds == ()
    assert watch.update(0.0, BAD) is None


def test_abort_without_delay_fires_on_the_first_failure() -> None:
    watch = AbortWatch([parse_threshold("error_rate<1%:abort")])
    assert watch.update(1.0, GOOD) is None
    fired = watch.update(2.0, BAD)
    assert fired is not None
    assert (fired.threshold.expression, fired.observed, fired.passed) == (
        "error_rate<1%:abort",
        0.5,
        False,
    )


def test_abort_delay_needs_continuous_failure() -> None:
    watch = AbortWatch([parse_threshold("error_rate<1%:abort=10s")])
    assert watch.update(0.0, BAD) is None  # failing since 0
    assert watch.update(9.9, BAD) is None
    assert watch.update(10.0, GOOD) is None  # passing again resets the clock
    assert watch.update(11.0, BAD) is None  # failing since 11
    assert watch.update(20.5, BAD) is None
    fired = watch.update(21.0, BAD)
    assert fired is not None and fired.observed == 0.5
    assert watch.update(22.0, BAD) == fired  # keeps firing while it keeps failing


def test_abort_watch_returns_the_first_of_several_that_fire() -> None:
    slow = parse_threshold("p99<100ms:abort=5s")
    erring = parse_threshold("error_rate<1%:abort")
    watch = AbortWatch([slow, erring])
    summary = {"error_rate": 0.5, "latency_ms": {"p99": 150.0}}
    first = watch.update(0.0, summary)
    assert first is not None and first.threshold == erring
    later = watch.update(5.0, summary)
    assert later is not None and later.threshold == slow


def test_no_data_neither_starts_nor_resets_the_abort_clock() -> None:
    watch = AbortWatch([parse_threshold("p99<100ms:abort=5s")])
    no_data: dict[str, Any] = {"latency_ms": {"p99": None}}
    slow: dict[str, Any] = {"latency_ms": {"p99": 150.0}}
    assert watch.update(0.0, no_data) is None
    assert watch.update(1.0, slow) is None  # failing since 1, not since 0
    assert watch.update(5.5, no_data) is None
    assert watch.update(5.9, slow) is None
    assert watch.update(6.0, slow) is not None


def test_abort_watch_on_recorded_runs() -> None:
    healthy = _summary(_run_samples()[:100])  # login only: no errors
    watch = AbortWatch([parse_threshold("error_rate<1%:abort=2s"), parse_threshold("p99<1s:abort")])
    run = _summary(_run_samples())
    assert watch.update(1.0, healthy) is None
    assert watch.update(2.0, run) is None
    fired = watch.update(4.0, run)
    assert fired is not None
    assert fired.threshold.metric == "error_rate"
    assert fired.observed == pytest.approx(4 / 300, rel=HDR)


def test_phase_thresholds() -> None:
    """ttfb of 8 ms and receive of 2 ms on reused connections; one request opened its own."""
    samples = []
    for i in range(50):
        sent = i * 20 * MS
        samples.append(
            Sample("api", sent, sent, sent + 10 * MS, 200, None, 10, 10, sent, sent + 8 * MS)
        )
    summary = _summary(samples)
    assert evaluate(parse_threshold("ttfb.p99<9ms"), summary).observed == pytest.approx(8.0, HDR)
    assert evaluate(parse_threshold("receive.max<=2ms"), summary).passed
    assert not evaluate(parse_threshold("ttfb.p(99.9){name=api}<7ms"), summary).passed
    missing = evaluate(parse_threshold("tls.p99<20ms"), summary)
    assert (missing.observed, missing.passed) == (None, False)
    assert missing.note == "no request went through the tls phase"
