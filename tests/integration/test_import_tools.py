"""wrk, hey and JMeter run briefly against the demo service; ``perfeng import`` reads what
they wrote and must find the request counts and percentiles the tools themselves printed.
With CI=true the three programs must be installed (`make system-deps`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from perfeng.demo.server import DemoProcess
from tests.conftest import require_program
from tests.integration.cli_helpers import perfeng

PLAN = Path(__file__).parents[1] / "data" / "imports" / "jmeter_plan"
JMETER_HOME = Path("/usr/share/jmeter")
THREADS, LOOPS = 4, 50  # the plan's two samplers: 2 * 4 * 50 = 400 samples
pytestmark = pytest.mark.timeout(120)


def _import(path: Path, *extra: str) -> tuple[dict[str, Any], str]:
    out = path.with_suffix(".run.json")
    done = perfeng("import", str(path), "-o", str(out), *extra, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(out.read_text()), done.stdout


def _run(command: list[str], timeout: float = 30) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_wrk_output(demo: DemoProcess, tmp_path: Path) -> None:
    wrk = require_program("wrk")
    text = _run([wrk, "-t1", "-c4", "-d1s", "--latency", f"{demo.url}/fast"])
    (tmp_path / "wrk.txt").write_text(text)
    document, stdout = _import(tmp_path / "wrk.txt")
    assert "as wrk --latency text (picked by --from auto)" in stdout
    summary = document["summary"]
    total = re.search(r"(\d+) requests in", text)
    assert total and summary["requests"] == int(total.group(1)) > 0
    printed = re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)$", text, re.M)
    assert len(printed) == 3, text
    for pct, value, unit in printed:
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        assert summary["latency_ms"][f"p{pct}"] == round(float(value) * scale, 3)
    assert document["metadata"]["imported_from"]["tool"] == "wrk"


def test_hey_text_and_csv(demo: DemoProcess, tmp_path: Path) -> None:
    hey = require_program("hey")
    text = _run([hey, "-n", "300", "-c", "4", f"{demo.url}/fast"])
    (tmp_path / "hey.txt").write_text(text)
    document, _ = _import(tmp_path / "hey.txt", "--from", "hey")
    summary = document["summary"]
    statuses = sum(int(n) for n in re.findall(r"\[\d+\]\s+(\d+) responses", text))
    assert summary["requests"] == statuses == 300
    for pct, seconds in re.findall(r"^\s+(50|90|95|99)% in ([\d.]+) secs", text, re.M):
        assert summary["latency_ms"][f"p{pct}"] == round(float(seconds) * 1000, 3)

    rows = _run([hey, "-n", "300", "-c", "4", "-o", "csv", f"{demo.url}/fast"])
    (tmp_path / "hey.csv").write_text(rows)
    document, _ = _import(tmp_path / "hey.csv")
    summary = document["summary"]
    assert summary["requests"] == 300 and summary["errors"] == 0
    slowest = max(float(r.split(",")[0]) for r in rows.splitlines()[1:]) * 1000
    assert abs(summary["latency_ms"]["max"] - slowest) <= 0.001 * slowest + 0.001


@dataclass(frozen=True)
class JMeterRun:
    csv: Path
    xml: Path
    printed: str  # JMeter's own "summary =" line


def _jmeter_command(port: int, folder: Path) -> list[str]:
    """JMeter 2.13 in one JVM after allow_xstream.bsh: Debian bookworm's xstream refuses the
    classes of a test plan (ForbiddenClassException) until they are allowed."""
    java = shutil.which("java")
    assert java is not None, "java comes with Debian's jmeter package"
    classpath = ":".join(
        [
            str(JMETER_HOME / "bin" / "ApacheJMeter.jar"),
            str(JMETER_HOME / "lib" / "*"),
            str(JMETER_HOME / "lib" / "ext" / "*"),
            "/usr/share/java/bsh.jar",
        ]
    )
    return [
        java,
        "-cp",
        classpath,
        f"-Djmeter.home={JMETER_HOME}",
        "bsh.Interpreter",
        str(PLAN / "allow_xstream.bsh"),
        "-n",
        "-t",
        str(PLAN / "plan.jmx"),
        "-l",
        str(folder / "samples.csv"),
        "-j",
        str(folder / "jmeter.log"),
        f"-Jport={port}",
        f"-Jthreads={THREADS}",
        f"-Jloops={LOOPS}",
        f"-Jxmlout={folder / 'samples.xml'}",
        "-Jjmeter.save.saveservice.output_format=csv",
        "-Jjmeter.save.saveservice.print_field_names=true",
    ]


@pytest.fixture(scope="module")
def jmeter_run(demo: DemoProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JMeterRun]:
    """One JMeter run (a JVM start costs seconds): a CSV JTL and an XML JTL of its samples."""
    require_program("jmeter")
    folder = tmp_path_factory.mktemp("jmeter")
    out = _run(_jmeter_command(demo.port, folder), timeout=90)
    printed = re.search(r"^summary = .*$", out, re.M)
    assert printed, out
    yield JMeterRun(folder / "samples.csv", folder / "samples.xml", printed.group(0))


def test_jmeter_jtl_csv_and_xml(jmeter_run: JMeterRun) -> None:
    # e.g. "summary =    400 in     1s =  778.2/s Avg:     2 Min:     0 Max:    54 Err:   200"
    match = re.search(
        r"summary =\s+(\d+) in .* Avg:\s+(\d+) Min:\s+(\d+) Max:\s+(\d+) Err:\s+(\d+)",
        jmeter_run.printed,
    )
    assert match, jmeter_run.printed
    count, avg, low, high, errors = (int(g) for g in match.groups())
    for path in (jmeter_run.csv, jmeter_run.xml):
        document, stdout = _import(path, "--from", "jmeter")
        summary = document["summary"]
        assert (summary["requests"], summary["errors"]) == (count, errors) == (400, 200)
        assert summary["by_name"]["missing"]["errors_by_class"] == {"http_4xx": 200}
        latency = summary["latency_ms"]
        assert abs(latency["mean"] - avg) <= 1  # JMeter prints the mean in whole ms
        assert abs(latency["max"] - high) <= 0.001 * high + 0.001
        assert latency["min"] is not None and latency["min"] <= max(low, 0.001)
        assert len(summary["timeseries"]) >= 1
        assert "JMeter JTL" in stdout
