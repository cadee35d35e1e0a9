"""``perfeng assess`` and ``perfeng diagnose`` end to end, on the demo service started by
``--target-cmd``: the whole job inside its budget, one folder with the verdict."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from perfeng.model.assessment import read_assessment
from tests.integration.cli_helpers import perfeng
from tests.integration.findings_helpers import accepts, wait_for_quiet_machine
from tests.integration.test_findings_services import free_port

BUDGET_S = 45


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, float]:
    """The command of docs/diagnose.md and the README, as documented."""
    from tests.integration.test_diagnose_docs import commands, runnable

    (command,) = [c for c in commands() if " assess " in c]
    assert f"--budget {BUDGET_S}s" in command
    work = tmp_path_factory.mktemp("assess")
    out = work / "assessment"
    wait_for_quiet_machine()
    started = time.monotonic()
    result = perfeng(*runnable(command, free_port(), 0), cwd=work)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return out, result.stdout, took


def test_assess_stays_in_its_budget_and_says_where_it_is(
    assessed: tuple[Path, str, float],
) -> None:
    _, stdout, took = assessed
    assert took < BUDGET_S + 15  # start-up, the report and the service's stop on top
    for number in (1, 2, 3, 4):
        assert f"[{number}/4]" in stdout
    assert "of the budget left" in stdout


def test_assessment_holds_the_verdict_the_runs_and_the_findings(
    assessed: tuple[Path, str, float],
) -> None:
    out, stdout, _ = assessed
    data = json.loads((out / "assessment.json").read_text())
    assessment = read_assessment(data, "assessment.json")
    assert assessment.kind == "assess" and assessment.slos == ["p99<100ms"]
    assert assessment.sustainable_rps is not None and 40 <= assessment.sustainable_rps <= 400
    assert assessment.baseline is not None and assessment.baseline["p50_ms"] > 4
    assert [p.name for p in assessment.phases] == ["baseline", "capacity", "diagnosis"]
    assert set(assessment.runs) == {"baseline", "diagnosis"}
    steps = assessment.capacity["steps"] if assessment.capacity else []
    assert steps and all(s["target_cpu_pct"] is not None for s in steps)
    top = next(f for f in assessment.findings if f.id not in ("generator", "watch_unavailable"))
    assert accepts([{"id": f.id} for f in assessment.findings], top.id, "cpu_saturation")
    if top.id == "cpu_saturation":
        assert top.where[0].function == "_burn"
        assert "limited by CPU in `_burn`" in assessment.verdict
    assert f"sustains {assessment.sustainable_rps:,.0f} req/s" in assessment.verdict
    assert "verdict: perfeng finds that" in stdout
    page = (out / "report.html").read_text()
    assert "perfeng assessment" in page and "<svg" in page
    assert (out / "target.log").exists()


def test_diagnose_prints_the_findings_of_a_result(assessed: tuple[Path, str, float]) -> None:
    out, _, _ = assessed
    text = perfeng("diagnose", str(out / "assessment.json"))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Findings, highest impact first:")
    as_json = perfeng("diagnose", str(out / "assessment.json"), "--json")
    findings = json.loads(as_json.stdout)
    assert findings and {
        "id",
        "title",
        "severity",
        "impact",
        "evidence",
        "where",
        "next_step",
    } <= set(findings[0])
    markdown = perfeng("diagnose", str(out / "assessment.json"), "--format", "md")
    assert "### Findings" in markdown.stdout
    stricter = perfeng("diagnose", str(out / "assessment.json"), "--slo", "p99<1ms", "--json")
    assert json.loads(stricter.stdout)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{", "not valid JSON"),
        ('{"format": "perfeng-bench", "format_version": 1}', "not a perfeng run result"),
        ('{"format": "perfeng-assessment", "format_version": 1, "runs": {}}', "no run"),
    ],
)
def test_diagnose_bad_input(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    result = perfeng("diagnose", str(path))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_diagnose_names_a_damaged_section(
    assessed: tuple[Path, str, float], tmp_path: Path
) -> None:
    out, _, _ = assessed
    run = json.loads((out / "assessment.json").read_text())["runs"]["diagnosis"]
    run["resources"]["trees"][0]["samples"][0]["cpu_pct"] = "lots"
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(run))
    result = perfeng("diagnose", str(path))
    assert result.returncode == 2
    assert "resources.trees[0].samples[0].cpu_pct" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "10s"], "at least 30s"),
        ([], "give at least one --slo"),
        (["--start", "0"], "the start rate must be above 0"),
    ],
)
def test_assess_bad_input(args: list[str], message: str) -> None:
    slo = [] if not args else ["--slo", "p99<100ms"]
    result = perfeng("assess", "http://127.0.0.1:9/", *slo, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
