"""The findings rules on recorded runs of real services (tests/data/recorded, made by
benchmarks/record_findings.py): the demo's endpoints as `perfeng demo` watches them, gunicorn's
CPU-bound handler and uvicorn's blocking call in the event loop. No process runs here: the
analysis reads what was measured."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from perfeng.analysis.diagnose import diagnose
from perfeng.model.findings import LIMITS
from perfeng.model.result import check_document

RECORDED = Path(__file__).parents[1] / "data" / "recorded"
FILES = sorted(RECORDED.glob("*.json.gz"))


def load(path: Path) -> tuple[dict[str, Any], str]:
    with gzip.open(path, "rt", encoding="utf-8") as source:
        data = json.load(source)
    return data["document"], data["expected"]


def test_there_are_recordings_of_every_cause() -> None:
    expected = {load(path)[1] for path in FILES}
    assert expected >= {
        "cpu_saturation",
        "serialisation",
        "pool_limit",
        "errors_under_load",
        "memory_growth",
        "no_bottleneck",
    }


@pytest.mark.parametrize("path", FILES, ids=[p.name.split(".")[0] for p in FILES])
def test_a_recorded_run_gets_its_diagnosis(path: Path) -> None:
    document, expected = load(path)
    check_document(document, path.name)
    findings = diagnose(document)
    top = next(f for f in findings if f.id not in ("generator", "watch_unavailable"))
    assert top.id == expected, [(f.id, f.title) for f in findings]
    if expected == "no_bottleneck":
        assert not [f.id for f in findings if f.id in LIMITS]
    if expected == "cpu_saturation":
        assert top.where[0].function in ("_burn", "checksum_orders")
    if expected == "serialisation":
        assert top.where and top.where[0].function.endswith(("write_ledger", "update_inventory"))
    if expected == "memory_growth":
        assert 0.6 * 1024 <= float(top.figures["per_request"] or 0) <= 1.4 * 1024
