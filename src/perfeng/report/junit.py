"""Threshold verdicts as JUnit XML, which CI systems show as test results."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from perfeng.report.values import observed_text


def render(document: dict[str, Any]) -> str:
    summary = document["summary"]
    verdicts = summary["thresholds"]
    failures = sum(not v["pass"] for v in verdicts)
    seconds = f"{document['metadata'].get('duration_s', 0):.3f}"
    suites = ElementTree.Element(
        "testsuites", name="perfeng", tests=str(len(verdicts)), failures=str(failures), time=seconds
    )
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name="perfeng.thresholds",
        tests=str(len(verdicts)),
        failures=str(failures),
        errors="0",
        time=seconds,
    )
    for verdict in verdicts:
        case = ElementTree.SubElement(
            suite, "testcase", classname="perfeng.thresholds", name=verdict["expression"]
        )
        observed = observed_text(verdict["observed"], verdict.get("unit", ""))
        if not verdict["pass"]:
            failure = ElementTree.SubElement(
                case,
                "failure",
                message=f"observed {observed}, limit {verdict['limit']:g} "
                f"{verdict.get('unit', '')}",
                type="threshold",
            )
            failure.text = verdict.get("note") or None
        ElementTree.SubElement(
            case, "system-out"
        ).text = f"observed {observed} {verdict.get('unit', '')}; margin {verdict.get('margin')}"
    ElementTree.indent(suites)
    body: str = ElementTree.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
