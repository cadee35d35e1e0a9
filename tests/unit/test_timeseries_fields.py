"""Per-second entries carry what the report draws: p50/p90/p99/max and errors by class."""

from __future__ import annotations

from perfeng.model.merge import merge_totals
from perfeng.model.recorder import Recorder
from perfeng.model.result import summarize, totals_of
from perfeng.model.sample import Sample

S = 1_000_000_000


def run(errors: list[tuple[int, str]], wall: float = 1000.0) -> Recorder:
    recorder = Recorder(0, wall)
    for i in range(1, 101):
        done = i * 10_000_000  # 100 requests in the first second, 1..100 ms
        recorder.record(
            Sample("r", done - i * 1_000_000, done - i * 1_000_000, done, 200, None, 1, 1)
        )
    for done, error in errors:
        status = 503 if error == "http_5xx" else 0
        recorder.record(Sample("r", done - 1_000_000, done - 1_000_000, done, status, error, 1, 0))
    return recorder


def test_entries_have_percentiles_and_error_classes() -> None:
    recorder = run([(S + 1, "http_5xx"), (S + 2, "http_5xx"), (S + 3, "connect")])
    totals = totals_of(recorder.finish(2 * S, 1002.0, {}))
    first, second = summarize(totals)["timeseries"]
    assert first["p50_ms"] < first["p90_ms"] < first["p99_ms"] <= first["max_ms"]
    assert 99.0 <= first["max_ms"] <= 100.5
    assert first["errors_by_class"] == {}
    assert second["errors_by_class"] == {"connect": 1, "http_5xx": 2}
    assert second["errors"] == 3


def test_merge_adds_error_classes_second_by_second() -> None:
    a = totals_of(run([(S + 1, "timeout")]).finish(2 * S, 1002.0, {}))
    b = totals_of(run([(S + 1, "timeout"), (S + 2, "reset")]).finish(2 * S, 1002.0, {}))
    merged = summarize(merge_totals([a, b]))["timeseries"]
    assert merged[1]["errors_by_class"] == {"reset": 1, "timeout": 2}


def test_runs_one_after_another_are_laid_end_to_end() -> None:
    """A run ending at 1000.5 and the next starting there share second 1000: each slice covers
    half of it, so the merged second is 1 s long at the mean target rate, not the sum."""
    first = Recorder(0, 1000.0, gauges=lambda _now: (100.0, 0))
    first.record(Sample("a", 0, 0, 1_000_000, 200, None, 1, 1))
    a = totals_of(first.finish(S // 2, 1000.5, {}))
    second = Recorder(0, 1000.5, gauges=lambda _now: (300.0, 0))
    second.record(Sample("b", 0, 0, 1_000_000, 200, None, 1, 1))
    b = totals_of(second.finish(S // 2, 1001.0, {}))
    (merged,) = summarize(merge_totals([a, b]))["timeseries"]
    assert merged["duration_s"] == 1.0
    assert merged["target_rate"] == 200.0
    assert merged["requests"] == 2
