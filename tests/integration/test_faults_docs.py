"""Every command of docs/faults.md runs against a loopback service and does what the guide
says: the proxy prints its addresses, the curl calls drive its control API, and the load runs
(flags and the [[faults]] timeline) record their fault windows."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perfeng.analysis.faults import fault_outcomes
from perfeng.model.faults import read_outcomes, read_windows, to_builtins
from perfeng.testing.servers import ServerProcess, start_in_process
from tests.conftest import require_program
from tests.integration.cli_helpers import perfeng

GUIDE = Path(__file__).parents[2] / "docs" / "faults.md"
pytestmark = pytest.mark.timeout(90)


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def commands(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def service() -> Iterator[ServerProcess]:
    with start_in_process("fast") as server:
        yield server


def test_the_proxy_and_its_control_api(service: ServerProcess) -> None:
    curl = require_program("curl")
    (command,) = commands(blocks("console")[0])
    upstream = f"127.0.0.1:{service.port}"
    command = command.replace("127.0.0.1:8080", upstream).replace(":8081", ":0")
    argv = shlex.split(command.replace(":8474", ":0"))
    process = subprocess.Popen(
        [sys.executable, "-m", "perfeng", *argv[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline().strip(), process.stdout.readline().strip()]
        shown = commands(blocks("text")[0])
        pattern = [
            re.escape(line).replace("8081", r"\d+").replace("8474", r"\d+") for line in shown
        ]
        pattern = [p.replace("127\\.0\\.0\\.1:8080", re.escape(upstream)) for p in pattern]
        for line, expected in zip(printed, pattern, strict=True):
            assert re.fullmatch(expected, line), (line, expected)
        control = printed[1].split()[1].removesuffix("/faults").removeprefix("http://")
        said = []
        for call in commands(blocks("console")[1]):
            args = shlex.split(call.replace("127.0.0.1:8474", control))
            done = subprocess.run([curl, *args[1:]], capture_output=True, text=True, timeout=10)
            assert done.returncode == 0, done.stderr
            said.append(json.loads(done.stdout) if done.stdout.strip() else None)
        listed, added, removed, stats = said
        assert [f["fault"] for f in listed["faults"]] == ["latency=100ms@50%"]
        assert added["name"] == "flaky" and added["share"] == 0.1
        assert removed is None and set(stats) >= {"connections", "resets", "bytes_down"}
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_load_runs(service: ServerProcess, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{service.port}"
    flags, timeline = commands(blocks("console")[2]), commands(blocks("console")[3])
    (tmp_path / "faults.toml").write_text(blocks("toml")[0].replace("http://127.0.0.1:8080", url))
    for command in (*flags, *timeline):
        args = shlex.split(command.replace("http://127.0.0.1:8080", url))[1:]
        done = perfeng(*args, cwd=tmp_path)
        # recovery_s<3s may fail on a loaded machine (a late generator's lag is latency)
        expected = (0, 1) if "--threshold" in args else (0,)
        assert done.returncode in expected, (command, done.stdout, done.stderr)
        assert "faults (recovery" in done.stdout
    check_reset_run(json.loads((tmp_path / "run.json").read_text()), url)
    timeline = json.loads((tmp_path / "timeline.json").read_text())["summary"]["faults"]
    assert [entry["kind"] for entry in timeline] == ["reset", "latency"]
    assert timeline[0]["errors"] > 0
    assert timeline[1]["p99_ms"] >= 100  # the answers in the window waited 100 +/- 20 ms


def check_reset_run(document: dict[str, Any], url: str) -> None:
    """A 1-s reset window: its errors, its recovery, and what the analysis decides from the
    document's own series (a loaded machine may delay the recovery; the rule is under test)."""
    summary = document["summary"]
    (entry,) = read_outcomes(summary["faults"])
    assert entry.kind == "reset" and 0.5 <= entry.start_s <= 1.5
    assert entry.end_s - entry.start_s == pytest.approx(1.0, abs=0.2)
    assert entry.errors >= 30 and entry.error_rate >= 0.3  # every request in it was reset
    assert entry.lost >= entry.errors
    marked = [e for e in summary["timeseries"] if e.get("faults")]
    assert marked and all(e["faults"] == ["reset"] for e in marked)  # the window's seconds
    windows = read_windows(document["faults"]["windows"])
    assert to_builtins(fault_outcomes(summary["timeseries"], windows)) == summary["faults"]
    (verdict,) = summary["thresholds"]
    assert verdict["metric"] == "recovery_s" and verdict["observed"] == entry.recovery_s
    if document["generator"]["trustworthy"]:  # a lagging generator's latency is its own
        assert entry.recovered and entry.recovery_s is not None and entry.recovery_s < 3
    assert url.startswith(document["scenario"]["base_url"])  # the real target, not the proxy
    assert document["faults"]["proxy"]["stats"]["resets"] >= entry.errors
