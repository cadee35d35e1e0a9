"""Threshold verdicts as JUnit XML, which CI systems show as test results."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from perfeng.report.values import observed_text


def render(document: dict[str, Any]) -> str:
    verdicts = document["summary"]["thresholds"]
    cases = [
        Case(
            verdict["expression"],
            verdict["pass"],
            _failure_message(verdict),
            verdict.get("note") or "",
            f"observed {observed_text(verdict['observed'], verdict.get('unit', ''))} "
            f"{verdict.get('unit', '')}; margin {verdict.get('margin')}",
        )
        for verdict in verdicts
    ]
    return render_cases("perfeng.thresholds", cases, document["metadata"].get("duration_s", 0))


def _failure_message(verdict: dict[str, Any]) -> str:
    observed = observed_text(verdict["observed"], verdict.get("unit", ""))
    return f"observed {observed}, limit {verdict['limit']:g} {verdict.get('unit', '')}"


@dataclass(frozen=True)
class Case:
    """One test case: a threshold or budget and its outcome (``passed`` None: skipped)."""

    name: str
    passed: bool | None
    message: str
    detail: str
    output: str


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """XML 1.0 cannot carry control characters even escaped: a request name with a NUL
    would make the whole file unreadable, so such characters become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def render_cases(suite_name: str, cases: list[Case], seconds: float) -> str:
    failures = sum(case.passed is False for case in cases)
    skipped = sum(case.passed is None for case in cases)
    time = f"{seconds:.3f}"
    tests, failed = str(len(cases)), str(failures)
    suites = ElementTree.Element(
        "testsuites", name="perfeng", tests=tests, failures=failed, time=time
    )
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name=suite_name,
        tests=tests,
        failures=failed,
        errors="0",
        skipped=str(skipped),
        time=time,
    )
    for case in cases:
        case = Case(
            _xml(case.name), case.passed, _xml(case.message), _xml(case.detail), _xml(case.output)
        )
        element = ElementTree.SubElement(suite, "testcase", classname=suite_name, name=case.name)
        if case.passed is False:
            failure = ElementTree.SubElement(
                element, "failure", message=case.message, type=suite_name
            )
            failure.text = case.detail or None
        elif case.passed is None:
            ElementTree.SubElement(element, "skipped", message=case.detail or case.message)
        ElementTree.SubElement(element, "system-out").text = case.output
    ElementTree.indent(suites)
    body: str = ElementTree.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
