"""The demo teaches: each endpoint of the real demo service, under the demo's own load and
watched as the demo watches it, gets the diagnosis it was written to show."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from perfeng.demo.server import DemoProcess
from perfeng.model.findings import LIMITS, read_findings
from perfeng.workflows.demo import QUICK_ENDPOINTS, DemoSettings, run_demo, top_finding
from tests.integration.cli_helpers import perfeng
from tests.integration.findings_helpers import accepts, wait_for_quiet_machine

SECONDS = 8.0  # per endpoint: 1 s unloaded, a ramp to 600/s, then the peak held

EXPECTED = {
    "/fast": "no_bottleneck",
    "/io": "no_bottleneck",
    "/cpu": "cpu_saturation",
    "/lock": "serialisation",
    "/pool": "pool_limit",
    "/flaky": "errors_under_load",
    "/leak": "memory_growth",
}


def diagnose(service: DemoProcess, path: str) -> tuple[dict[str, Any], list[Any]]:
    wait_for_quiet_machine()
    settings = DemoSettings(seconds=SECONDS, endpoints=(path,), on_event=lambda _: None)
    assessment = run_demo(service.url, service.process.pid, settings)
    document = assessment.runs[path]
    return document, read_findings(document["findings"], path)


@pytest.mark.parametrize("path", sorted(set(EXPECTED) - set(QUICK_ENDPOINTS)))
def test_each_endpoint_gets_its_diagnosis(demo: DemoProcess, path: str) -> None:
    """The endpoints `demo --quick` leaves out; its own five are checked on its runs below."""
    document, findings = diagnose(demo, path)
    check_diagnosis(path, document, findings)


def check_diagnosis(path: str, document: dict[str, Any], findings: list[Any]) -> None:
    top = top_finding(findings)
    assert top is not None
    assert accepts(findings, top.id, EXPECTED[path]), [(f.id, f.title) for f in findings]
    if top.id != EXPECTED[path]:
        return  # the machine was busy with other work: perfeng rightly did not guess
    if EXPECTED[path] == "no_bottleneck":
        assert not [f.id for f in findings if f.id in LIMITS]
        assert document["resources"]["trees"][0]["samples"], "the service was watched"
    check = CHECKS.get(path)
    if check is not None and "machine_busy" not in [f.id for f in findings]:
        check(top)  # the figures hold on a machine that the run itself saw quiet


def _cpu(finding: Any) -> None:
    assert finding.where[0].function == "_burn"  # the demo's CPU function, named
    assert finding.where[0].own_share > 0.5
    assert finding.figures["busiest_process_pct"] > 85


def _lock(finding: Any) -> None:
    assert finding.where, "the profile shows where requests wait"
    assert finding.where[0].function.endswith("write_ledger")
    assert "ledger_lock" in (finding.where[0].code or "")
    assert finding.figures["in_service"] < 1.6


def _pool(finding: Any) -> None:
    assert 3 <= finding.figures["in_service"] <= 5.5  # a pool of 4


def _flaky(finding: Any) -> None:
    assert 5.5 <= finding.figures["in_flight_at_onset"] <= 11  # 8 slots
    # Below the onset errors come only from bursts past 8 in flight, which a busy shared
    # machine makes now and then (2 % seen in CI); far below the 35 % above the onset.
    assert finding.figures["error_rate_low_load"] < 0.06


def _leak(finding: Any) -> None:
    per_request = finding.figures["per_request"]
    assert 0.7 * 1024 <= per_request <= 1.3 * 1024  # within 30 % of the true 1 KiB


CHECKS = {"/cpu": _cpu, "/lock": _lock, "/pool": _pool, "/flaky": _flaky, "/leak": _leak}


def test_demo_quick_reads_as_a_lesson(tmp_path: Path) -> None:
    wait_for_quiet_machine()
    out = tmp_path / "demo"
    result = perfeng("demo", "--quick", "--out", str(out), timeout=180)
    assert result.returncode == 0, result.stderr
    assert "What the demo shows:" in result.stdout
    assert f"report written to {out / 'report.html'}" in result.stdout
    # durations and rates as people write them: no 4.28571s
    assert not re.search(r"\d\.\d{4,}", result.stdout), result.stdout
    assessment = json.loads((out / "assessment.json").read_text())
    assert assessment["format"] == "perfeng-assessment" and assessment["kind"] == "demo"
    found = {item["path"]: item["finding"] for item in assessment["lessons"]}
    assert set(found) == set(QUICK_ENDPOINTS)
    for path in QUICK_ENDPOINTS:  # each lesson is the diagnosis its endpoint was written for
        document = assessment["runs"][path]
        check_diagnosis(path, document, read_findings(document["findings"], path))
    page = (out / "report.html").read_text()
    assert "What limits it, first things first" in page and "<svg" in page
    assert sum(p["seconds"] for p in assessment["phases"]) < 60
