"""The fault windows in the terminal summary, the markdown report and the HTML report."""

from __future__ import annotations

import io
from typing import Any

from perfeng.report import html, markdown
from perfeng.report.terminal import print_summary
from tests.unit.test_report_renderers import document

FAULTS = [
    {
        "kind": "reset",
        "fault": "reset@50%",
        "start_s": 0.05,
        "end_s": 0.15,
        "requests": 40,
        "errors": 20,
        "dropped": 0,
        "error_rate": 0.5,
        "p99_ms": 3.25,
        "recovered": False,
        "recovery_s": None,
        "lost": 20,
        "baseline_p99_ms": 2.0,
        "baseline_error_rate": 0.0,
        "note": "not recovered before the run ended",
    }
]


def _faulty() -> dict[str, Any]:
    doc = document()
    doc["summary"]["faults"] = FAULTS
    return doc


def test_markdown_fault_table() -> None:
    text = markdown.render(_faulty())
    assert "| fault | window s | requests | error rate | p99 ms | recovery | lost |" in text
    assert "| reset@50% | 0.1-0.1 | 40 | 50.0% | 3.25 | not recovered | 20 |" in text
    assert "| fault |" not in markdown.render(document())


def test_terminal_fault_table() -> None:
    stream = io.StringIO()
    print_summary(_faulty(), stream, out_path=None)
    assert "faults (recovery" in stream.getvalue() and "not recovered" in stream.getvalue()


def test_html_shades_the_windows() -> None:
    page = html.run_sections(_faulty(), None)
    assert "<h2>Faults</h2>" in page and "reset@50%" in page
    assert page.count("#f59e0b") == 3  # one span on each of the three panels
    plain = html.run_sections(document(), None)
    assert "<h2>Faults</h2>" not in plain and "#f59e0b" not in plain
