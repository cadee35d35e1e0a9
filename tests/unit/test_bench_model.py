"""The benchmark document: its shape, writing it out and reading it back, bad files refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perfeng.model.bench import (
    FORMAT,
    FORMAT_VERSION,
    STATS_KEYS,
    bench_entry,
    build_bench_document,
    check_bench_document,
    empty_stats,
    load_bench_document,
)
from perfeng.model.result import DocumentError

SETTINGS = {
    "preset": "fast",
    "processes": 2,
    "values_per_process": 2,
    "warmups": 1,
    "min_time_s": 0.05,
}


def _stats(n: int) -> dict[str, Any]:
    return {**dict.fromkeys(STATS_KEYS, 1.0), "n": n, "outliers": 0}


def _document() -> dict[str, Any]:
    ok = bench_entry(
        name="bench_a[n=1]",
        kind="callable",
        source="bench_a.py::bench_a",
        params={"n": 1},
        loops=64,
        values=[1.0, 1.1],
        warmups=[2.0],
        stats=_stats(2),
    )
    failed = bench_entry(
        name="bench_b",
        kind="callable",
        source="bench_a.py::bench_b",
        values=[1.0],
        stats=empty_stats(0.95),
        error="ValueError: no",
    )
    return build_bench_document(metadata={"host": "h"}, settings=SETTINGS, benchmarks=[ok, failed])


def test_document_shape() -> None:
    document = _document()
    assert (document["format"], document["format_version"]) == (FORMAT, FORMAT_VERSION)
    ok, failed = document["benchmarks"]
    assert ok["values"] == [1.0, 1.1] and ok["warmups"] == [2.0] and ok["unit"] == "s"
    assert ok["shell_overhead_s"] is None and ok["executable"] is None and ok["error"] is None
    assert failed["values"] == [] and failed["error"] == "ValueError: no"
    assert failed["stats"]["n"] == 0 and failed["stats"]["median"] is None
    assert list(ok["stats"]) == list(STATS_KEYS)
    assert document["interrupted"] is False


def test_entry_and_document_refuse_missing_keys() -> None:
    with pytest.raises(ValueError, match="stats lacks"):
        bench_entry(name="a", kind="callable", source="a", stats={"n": 1})
    with pytest.raises(ValueError, match="settings lacks"):
        build_bench_document(metadata={}, settings={"preset": "default"}, benchmarks=[])


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(_document()))
    assert load_bench_document(path) == _document()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty file"),
        ('{"format": "perfeng-bench", "format_', "truncated file"),
        ('{"hello": 1}', "not a perfeng result"),
        ("[1, 2]", "not a perfeng result"),
        ('{"format": "perfeng-run", "format_version": 1}', "a perfeng-run document"),
        ('{"format": "perfeng-bench"}', "format_version missing"),
        ('{"format": "perfeng-bench", "format_version": 2}', "newer than this perfeng"),
        ('{"format": "perfeng-bench", "format_version": 1}', "section missing"),
    ],
)
def test_bad_files_are_refused_in_one_line(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bench.json"
    path.write_text(text)
    with pytest.raises(DocumentError, match=reason) as caught:
        load_bench_document(path)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no such file"):
        load_bench_document(tmp_path / "nope.json")


def test_damaged_entry_is_named() -> None:
    document = _document()
    document["benchmarks"][1]["values"] = ["x"]
    with pytest.raises(DocumentError, match="benchmark 2 is incomplete"):
        check_bench_document(document, "bench.json")


def test_a_command_quicker_than_its_shell_may_read_zero() -> None:
    """The writer floors (run - shell start-up) at 0; the reader must take back what it wrote
    (seen with `--cmd true`, where a run can be quicker than the median shell start-up)."""
    document = _document()
    entry = document["benchmarks"][1]
    entry["values"] = [0.0, 1e-4]
    entry["shell_overhead_s"] = 0.002
    check_bench_document(document, "bench.json")
    entry["shell_overhead_s"] = None  # without a shell a zero is impossible: damaged
    with pytest.raises(DocumentError, match="benchmark 2 is incomplete"):
        check_bench_document(document, "bench.json")
