"""Every command of docs/diagnose.md runs, against the real demo service (the assess one is
run in full by test_assess_cli.py)."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

from perfeng.demo.server import DemoProcess
from tests.integration.cli_helpers import perfeng
from tests.integration.test_findings_services import free_port

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "diagnose.md"


def commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    return [ln.strip() for b in blocks for ln in b.splitlines() if ln.startswith("perfeng")]


def runnable(command: str, port: int, pid: int) -> list[str]:
    """The documented command with this test's port, PID and interpreter."""
    text = command.replace("8080", str(port)).replace("4242", str(pid))
    args = shlex.split(text)[1:]
    return [
        a.replace("perfeng demo serve", f"{sys.executable} -m perfeng demo serve") for a in args
    ]


def test_the_guide_documents_every_command_kind() -> None:
    kinds = {shlex.split(c)[1] for c in commands()}
    assert kinds == {"load", "diagnose", "capacity", "assess"}


def test_watched_loads_then_diagnose(demo: DemoProcess, tmp_path: Path) -> None:
    for command in [c for c in commands() if " load " in c]:
        uses_pid = "--target-pid" in command
        port = demo.port if uses_pid else free_port()
        result = perfeng(*runnable(command, port, demo.process.pid), cwd=tmp_path)
        assert result.returncode in (0, 1), (command, result.stderr)
        document = json.loads((tmp_path / "run.json").read_text())
        assert document["resources"]["trees"][0]["samples"]
        assert document["profile"]["status"] == "ok"
        assert document["findings"]
        for diagnose in [c for c in commands() if " diagnose " in c]:
            shown = perfeng(*runnable(diagnose, port, 0), cwd=tmp_path)
            assert shown.returncode == 0, shown.stderr
            assert "Findings" in shown.stdout


def test_capacity_find_with_a_started_target(tmp_path: Path) -> None:
    (command,) = [c for c in commands() if " capacity " in c]
    result = perfeng(*runnable(command, free_port(), 0), cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "target CPU" in result.stdout  # each step's CPU, from watching
    assert "max sustainable rate:" in result.stdout
