"""Which documents the history store takes: kinds, versions, names."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest

from perfeng.errors import ConfigError
from perfeng.store.documents import KINDS, check_storable, kind_of, names_of, non_finite
from tests.store_samples import bench_document, capacity_document, page_document, run_document


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
        ({"format": "perfeng-run", "format_version": 0}, "format_version"),
        ({"format": "perfeng-run", "format_version": -(10**30)}, "format_version"),
        ({"format": {"a": 1}, "format_version": 1}, "not a perfeng result"),
        ({"format": ["perfeng-run"], "format_version": 1}, "not a perfeng result"),
        ({"format": 7, "format_version": 1}, "not a perfeng result"),
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
        "perfeng-page": lambda seed: page_document(float(seed)),
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


@pytest.mark.parametrize(
    ("value", "text"),
    [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")],
)
def test_nan_and_infinities_are_refused_with_their_place(value: float, text: str) -> None:
    document = run_document(seed=4, names=("GET /",))
    document["summary"]["by_name"]["GET /"]["latency_ms"]["p99"] = value
    assert non_finite(document) == (text, "summary.by_name.GET /.latency_ms.p99")
    with pytest.raises(ConfigError, match=f"contains {text} at summary.by_name") as caught:
        check_storable(document, "r.json")
    assert str(caught.value).startswith("r.json: ")


def test_non_finite_looks_into_lists_and_passes_finite_documents() -> None:
    bench = bench_document(seed=5)
    assert non_finite(bench) is None
    assert check_storable(bench) == "bench"
    bench["benchmarks"][1]["values"][3] = math.nan
    assert non_finite(bench) == ("NaN", "benchmarks[1].values[3]")


def test_a_deeply_nested_document_does_not_hit_the_recursion_limit() -> None:
    nested: Any = 1.0
    for _ in range(sys.getrecursionlimit() * 2):
        nested = [nested]
    document = capacity_document(2.0) | {"extra": nested}
    assert non_finite(document) is None


def test_a_page_result_is_stored_as_its_median_runs_figures() -> None:
    from perfeng.model.page import read_page
    from perfeng.store.metrics import flatten

    document = page_document(1234.0)
    read_page(document, "page.json")  # the sample is a valid page document
    assert kind_of(document) == "page"
    rows = {stat: value for name, stat, value in flatten(document) if name == "page"}
    assert rows["lcp"] == 1234.0 and rows["cls"] == 0.01 and rows["transfer_kb"] == 12.5
    assert set(rows) == {
        "ttfb",
        "fcp",
        "lcp",
        "cls",
        "tbt",
        "dcl",
        "load",
        "requests",
        "transfer_kb",
    }
