"""Which documents the history store takes: kinds, versions, names."""

from __future__ import annotations

from typing import Any

import pytest

from perfeng.errors import ConfigError
from perfeng.store.documents import KINDS, kind_of, names_of
from tests.store_samples import bench_document, capacity_document, run_document


def test_each_format_has_its_kind() -> None:
    assert kind_of(run_document(seed=1)) == "run"
    assert kind_of(bench_document(seed=1)) == "bench"
    assert kind_of(capacity_document(10.0)) == "capacity"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "not a perfeng result"),
        ({"format": "pyperf"}, "not a perfeng result"),
        ({"format": "perfeng-run"}, "format_version"),
        ({"format": "perfeng-run", "format_version": "1"}, "format_version"),
        ({"format": "perfeng-run", "format_version": True}, "format_version"),
        ({"format": "perfeng-run", "format_version": 1}, "'summary' section"),
        ({"format": "perfeng-bench", "format_version": 1, "benchmarks": {}}, "'benchmarks'"),
        ({"format": "perfeng-capacity", "format_version": 1}, "'capacity' section"),
    ],
)
def test_anything_else_is_refused_in_one_line(document: Any, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        kind_of(document, "x.json")
    assert str(caught.value).startswith("x.json: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("fmt", sorted(KINDS))
def test_a_newer_format_version_is_refused(fmt: str) -> None:
    document = {
        "perfeng-run": run_document,
        "perfeng-bench": bench_document,
        "perfeng-capacity": lambda seed: capacity_document(float(seed)),
    }[fmt](seed=3)
    document["format_version"] = KINDS[fmt][1] + 1
    with pytest.raises(ConfigError, match="newer than this perfeng reads"):
        kind_of(document)


def test_names_are_the_request_or_benchmark_names() -> None:
    names = ("GET /", "POST /cart")
    assert names_of(run_document(seed=1, names=names)) == names
    bench = bench_document(seed=1, names=("a", "b"), failing=("c",))
    assert names_of(bench) == ("a", "b", "c")
    assert names_of(capacity_document(1.0)) == ()
