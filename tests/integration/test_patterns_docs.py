"""docs/patterns.md as a user meets it: every plan it prints is what --dry-run prints, every
error it quotes is what perfeng says, and its breakpoint run breaks against a real service
that saturates (the threaded test service's /serial: one lock held 5 ms, ~200 req/s)."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.testing.servers import FastServer, serve_in_thread
from tests.integration.cli_helpers import perfeng
from tests.integration.test_findings_services import free_port, wait_for
from tests.services.launch import command

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "patterns.md"
DOC_URL = "http://127.0.0.1:8080"
pytestmark = pytest.mark.timeout(120)


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def examples() -> list[tuple[str, str]]:
    """(command, its documented output) of every console block."""
    found = []
    for block in blocks("console"):
        for part in block.split("$ perfeng ")[1:]:
            command, _, output = part.partition("\n")
            found.append((command, output.rstrip("\n")))
    return found


def plans() -> list[tuple[str, str]]:
    return [(c, out) for c, out in examples() if not out.startswith("...")]


def flat(text: str) -> str:
    """Rich wraps long lines at the terminal's width; compare the words."""
    return " ".join(text.split())


@pytest.mark.parametrize(("command", "output"), plans(), ids=lambda v: v.split("\n")[0][:50])
def test_every_plan_is_the_one_documented(command: str, output: str, tmp_path: Path) -> None:
    (tmp_path / "spike.toml").write_text(blocks("toml")[0])
    done = perfeng(*shlex.split(command), cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n") == output


def test_every_pattern_has_a_documented_plan() -> None:
    patterns = {m for c, _ in plans() for m in re.findall(r"--pattern (\w+)", c)}
    assert patterns == {"smoke", "load", "stress", "spike", "soak", "breakpoint"}
    assert any(c.endswith(".toml --dry-run") for c, _ in plans())


MISTAKES = {
    "the load pattern needs its peak": ["--pattern", "load"],
    "duration 5s is too short": ["--pattern", "load", "--peak", "5/s", "--duration", "5s"],
    "a spike lasts at most": ["--pattern", "spike", "--peak", "5/s", "--duration", "1h"],
    "--pattern and --stages": ["--pattern", "load", "--peak", "5/s", "--stages", "1s:5"],
}


def test_the_documented_errors_are_what_perfeng_says(tmp_path: Path) -> None:
    said = [line for line in blocks("text")[0].splitlines() if line]
    assert len(said) == len(MISTAKES)
    for line, (start, args) in zip(said, MISTAKES.items(), strict=True):
        done = perfeng("load", f"{DOC_URL}/", *args, "--dry-run", cwd=tmp_path, timeout=60)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip() == line and start in line


def test_the_soak_command_parses(tmp_path: Path) -> None:
    (text,) = [b for b in blocks("text") if b.startswith("perfeng load")]
    args = shlex.split(text)[1:]
    done = perfeng(*args, "--dry-run", cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "checks over the hold: latency drift" in done.stdout


@pytest.fixture(scope="module")
def serial_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        command("threaded", port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(port, process)
        yield f"http://127.0.0.1:{port}/serial"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize("extra", [[], ["--workers", "2"]], ids=["one process", "two workers"])
def test_the_breakpoint_run_breaks_where_the_service_saturates(
    serial_url: str, tmp_path: Path, extra: list[str]
) -> None:
    ((command_text, output),) = [(c, o) for c, o in examples() if o.startswith("...")]
    args = shlex.split(command_text.replace(f"{DOC_URL}/api/orders", serial_url))
    out = tmp_path / "run.json"
    # bounded: a 10 s ramp at most, stopped by the abort threshold within a few seconds
    done = perfeng(*args, *extra, "--grace", "1s", "--out", str(out), cwd=tmp_path, timeout=60)
    assert done.returncode == 1, done.stderr
    documented = output.splitlines()[-1]
    shape = re.escape(documented)
    for number in sorted(set(re.findall(r"\d[\d,.]*", documented)), key=len, reverse=True):
        shape = shape.replace(re.escape(number), r"\d[\d,.]*")
    assert re.search(shape, flat(done.stdout)), done.stdout
    point = json.loads(out.read_text())["summary"]["breakpoint"]
    assert point["broke"] and point["threshold"] == "p99<100ms:abort"
    # the ramp is 100 req/s per second: the rate recorded is the plan's when the abort fired
    # (with --workers, when the parent judged the merged figures)
    assert point["rate"] == pytest.approx(100 * point["at_s"], abs=0.1)  # at_s to the ms
    # /serial answers ~200/s at most: the break comes after that and well before the peak
    assert 0.5 < point["at_s"] < 9.0
    assert point["peak_answered_rps"] < 300


def test_a_ramp_the_target_takes_does_not_break(tmp_path: Path) -> None:
    with serve_in_thread(FastServer(port=0)) as server:
        done = perfeng(
            "load",
            server.url,
            "--pattern",
            "breakpoint",
            "--peak",
            "60/s",
            "--duration",
            "1s",
            "--out",
            str(tmp_path / "run.json"),
            cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert "breakpoint: did not break up to 60 req/s" in flat(done.stdout)
    document = json.loads((tmp_path / "run.json").read_text())
    assert [t["expression"] for t in document["summary"]["thresholds"]] == [
        "p99<1s:abort",
        "error_rate<5%:abort",
    ]
    assert document["workloads"][0]["pattern"] == "breakpoint"
    assert document["summary"]["breakpoint"]["broke"] is False
