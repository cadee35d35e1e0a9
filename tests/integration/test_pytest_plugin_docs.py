"""docs/bench.md, "Benchmarks inside your pytest suite": the example test file and every
command shown run, in order, in a fresh folder; the options table names every option."""

from __future__ import annotations

import json
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from perfeng.model.bench import check_bench_document
from tests.conftest import require_program
from tests.integration.cli_helpers import perfeng

GUIDE = Path(__file__).parents[2] / "docs" / "bench.md"
TITLE = "## Benchmarks inside your pytest suite"
# Appended to each measuring pytest command so it stays short (4 values per benchmark).
QUICK = ["--perfeng-preset", "fast", "--perfeng-min-time", "2ms", "--perfeng-processes", "2"]
# The comparisons shown are of the same code: a loose minimum effect keeps noise from failing.
LOOSE = {"pytest": ["--perfeng-min-effect", "300%"], "perfeng": ["--min-effect", "300%"]}
# Exit 6, inconclusive, is a verdict too: the machine's speed moved between the two separate
# runs by more than a correction may be trusted for (a load swing on a shared machine).
INCONCLUSIVE = 6


def _section() -> str:
    return GUIDE.read_text().partition(TITLE)[2]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _section(), flags=re.DOTALL)


def _commands(block: str) -> list[list[str]]:
    return [shlex.split(line.split("  #")[0]) for line in block.splitlines() if line.strip()]


def _example(folder: Path) -> None:
    (example,) = [b for b in _blocks("python") if b.startswith("# test_sorting.py")]
    (folder / "test_sorting.py").write_text(example)


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=90,
        check=False,
    )


def test_the_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERFENG_STORE", raising=False)  # history add: the folder's own store
    _example(tmp_path)
    commands = _commands(_blocks("console")[0])
    assert [c[0] for c in commands] == ["pytest", "pytest", "pytest", "perfeng", "perfeng"]
    for program, *args in commands:
        comparing = "compare" in args[0] or "--perfeng-compare" in args
        if comparing:
            args += LOOSE[program]
        if program == "pytest":
            result = _pytest([*args, *QUICK] if "--perfeng-bench" in args else args, tmp_path)
        else:
            result = perfeng(*args, cwd=tmp_path, timeout=60)
        allowed = (0, INCONCLUSIVE) if comparing else (0,)
        assert result.returncode in allowed, (args, result.stdout[-2000:], result.stderr[-2000:])
        assert "verdict:" in result.stdout or not comparing
    head = json.loads((tmp_path / "head.json").read_text())
    check_bench_document(head, "head.json")
    assert [(b["name"], b["isolation"]) for b in head["benchmarks"]] == [
        ("test_sorting.py::test_sort[100]", "in-process"),
        ("test_sorting.py::test_sort[1000]", "in-process"),
        ("test_sorting.py::test_sort_in_place", "in-process"),
        ("test_sorting.py::test_join", "worker processes"),
    ]
    assert len(head["benchmarks"][2]["values"]) == 20  # pedantic: rounds=20


def test_the_options_table_names_every_option() -> None:
    shown = set(re.findall(r"`(--perfeng-[a-z-]+)", _section()))
    help_text = _pytest(["--help"], GUIDE.parent).stdout
    assert shown == set(re.findall(r"(--perfeng-[a-z-]+)", help_text))


def test_the_counting_example_runs(tmp_path: Path) -> None:
    require_program("valgrind")
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("counting callables needs an x86-64 CPU")
    _example(tmp_path)
    (command,) = _commands(_blocks("console")[1])
    assert command[0] == "pytest" and "--perfeng-instructions" in command
    result = _pytest([*command[1:], "--perfeng-preset", "fast"], tmp_path)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert "not counted" in result.stdout and "test_sorting.py::test_sort[100]" in result.stdout
    counted = json.loads((tmp_path / "counted.json").read_text())
    check_bench_document(counted, "counted.json")
    (entry,) = counted["benchmarks"]  # the marked test without fixtures only
    assert (entry["name"], entry["unit"]) == ("test_sorting.py::test_join", "instructions")
    assert (
        entry["isolation"] == "worker processes" and counted["settings"]["mode"] == "instructions"
    )
    compared = perfeng("compare", "counted.json", "counted.json", cwd=tmp_path)
    assert compared.returncode == 0 and "instructions" in compared.stdout, compared.stderr
