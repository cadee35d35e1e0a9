"""Markdown and JUnit renderers on a real document; user strings stay inert."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from perfeng.gates import evaluate_all, parse_thresholds
from perfeng.model.recorder import Recorder
from perfeng.model.result import build_document
from perfeng.model.sample import Sample
from perfeng.report import junit, markdown

NASTY = "<script>alert(1)</script>|x"


def document(*thresholds: str) -> dict[str, Any]:
    recorder = Recorder(0, 1000.0)
    for i in range(100):
        done = 1_000_000 * (i + 1)
        recorder.record(Sample(NASTY, done - 2_000_000, done - 2_000_000, done, 200, None, 9, 9))
    measurements = recorder.finish(200_000_000, 1000.2, {"warnings": ["<b>hot</b>"]})
    meta = {
        "perfeng_version": "0",
        "start_utc": "t",
        "host": "h",
        "git_commit": None,
        "duration_s": 0.2,
    }
    doc = build_document(metadata=meta, workloads=[], measurements=measurements, thresholds=[])
    verdicts = evaluate_all(parse_thresholds(thresholds), doc["summary"])
    doc["summary"]["thresholds"] = [v.to_dict() for v in verdicts]
    return doc


def test_markdown_escapes_names_and_shows_verdicts() -> None:
    text = markdown.render(document("p99<1s", "p50<1ms"))
    assert "<script>" not in text
    assert "\\<script\\>alert(1)\\</script\\>\\|x" in text
    assert "**FAIL**" in text
    assert "✅ `p99<1s`" in text and "❌ `p50<1ms`" in text
    assert "<b>" not in text


def test_markdown_without_thresholds() -> None:
    assert "no thresholds" in markdown.render(document())


def test_junit_is_valid_xml_with_one_case_per_threshold() -> None:
    root = ElementTree.fromstring(junit.render(document("p99<1s", "p50<1ms", "errors==0")))
    assert root.attrib["tests"] == "3"
    assert root.attrib["failures"] == "1"
    cases = root.findall("./testsuite/testcase")
    assert [c.attrib["name"] for c in cases] == ["p99<1s", "p50<1ms", "errors==0"]
    assert [c.find("failure") is not None for c in cases] == [False, True, False]


def test_junit_replaces_characters_xml_cannot_carry() -> None:
    from xml.etree import ElementTree

    from perfeng.report.junit import Case, render_cases

    text = render_cases("s", [Case("GET /\x00\x1b", False, "m\x01", "", "ok")], 0.0)
    case = ElementTree.fromstring(text.split("\n", 1)[1]).find("testsuite/testcase")
    assert case is not None and case.get("name") == "GET /\ufffd\ufffd"
