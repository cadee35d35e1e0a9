"""Every command of docs/monitoring.md runs: rules from the three spec formats (checked by
promtool), the monitor against a real loopback target with a webhook and --save, and the
error-budget reports (history; Prometheus unreachable gives one line and exit 3; the
Prometheus path itself runs in test_monitoring_e2e.py)."""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from perfeng.testing.servers import closed_port
from tests.conftest import require_program
from tests.integration.cli_helpers import perfeng
from tests.integration.monitor_helpers import Hooks, MonitorProcess, switchable

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "monitoring.md"
pytestmark = pytest.mark.timeout(180)


def commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    return [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip()]


def _args(command: str) -> list[str]:
    return [a.replace("docs/slo/", f"{ROOT}/docs/slo/") for a in shlex.split(command)[1:]]


def test_the_guide_covers_each_command() -> None:
    kinds = {" ".join(shlex.split(c)[: 2 if " monitor " in c else 3]) for c in commands()}
    assert kinds == {
        "perfeng slo rules",
        "promtool check rules",
        "perfeng monitor",
        "perfeng slo report",
    }


def test_rules_commands_and_promtool(tmp_path: Path) -> None:
    promtool = require_program("promtool")
    for command in commands():
        args = _args(command)
        if command.startswith("promtool"):
            done = subprocess.run(
                [promtool, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert "SUCCESS: 36 rules found" in done.stdout
        elif args[:2] == ["slo", "rules"]:
            done = perfeng(*args, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            if "-o" in args:
                assert "36 rules for 2 SLO(s) (perfeng spec)" in done.stderr
            else:
                assert "alert:" in done.stdout and "slo:sli_error:ratio_rate" in done.stdout


def test_monitor_then_budget_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFENG_STORE", f"sqlite:///{tmp_path / 'history.db'}")
    (monitor_command,) = [c for c in commands() if c.startswith("perfeng monitor")]
    hooks = Hooks()
    with switchable() as target:
        target.routes["/health"] = target.routes["/svc"]
        args = [
            a.replace("http://127.0.0.1:8080", target.url).replace(
                "http://127.0.0.1:9095/hook", hooks.url
            )
            for a in _args(monitor_command)
        ]
        at = args.index("--every")
        args[at : at + 2] = ["--rate", "20"]  # 10 s between probes is too slow for a test
        args += ["--period", "1h", "--listen", "127.0.0.1:0", "--duration", "8s"]
        monitor = MonitorProcess(args[1:])
        try:
            monitor.wait_for("probing", 30)
            time.sleep(2)
            target.failing = True
            monitor.wait_for("FIRING page: availability>99.9%", 30)
            assert hooks.next(30)["status"] == "firing"
            target.failing = False
            assert monitor.process.wait(60) == 0
        finally:
            monitor.kill()
            hooks.close()
    monitor._reader.join(5)
    assert monitor.wait_for("stopped", 1)
    assert monitor.wait_for("saved ", 1)  # --save: the last period, at least

    history, prometheus = [c for c in commands() if c.startswith("perfeng slo report")]
    shown = perfeng(*_args(history), "--period", "1h", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "# Error budgets" in shown.stdout
    assert "## availability>99.9%" in shown.stdout and "| budget left |" in shown.stdout
    assert "| worst window |" in shown.stdout  # the failing seconds

    port = closed_port()
    refused = perfeng(*_args(prometheus.replace("9090", str(port))), cwd=tmp_path)
    assert refused.returncode == 3
    assert refused.stderr.startswith("perfeng: error: cannot reach Prometheus at")
    assert refused.stderr.count("\n") == 1


def test_the_readme_commands_are_the_guides() -> None:
    """The README's monitoring block repeats commands this module runs from the guide."""
    readme = (ROOT / "README.md").read_text().split("### Watching production")[1]
    (block,) = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)[:1]
    shown = [line.strip() for line in block.splitlines() if line.strip()]
    assert len(shown) == 3
    assert set(shown) <= set(commands())
