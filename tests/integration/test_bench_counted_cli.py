"""``perfeng bench --instructions`` under the real Valgrind: separate runs agree, a change of
work is found, children are refused for callables and counted for commands, and a missing
Valgrind is one line, exit 2. Kept small: callgrind runs code about 100 times slower."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_program
from tests.integration.cli_helpers import perfeng

BENCH = """\
import subprocess

REPS = {reps}
DATA = list(range(50))[::-1]


def bench_small():
    for _ in range(REPS):
        sorted(DATA)


def bench_child():
    subprocess.run(["true"], check=True)
"""


@pytest.fixture(scope="module")
def valgrind() -> str:
    return require_program("valgrind")


def _write(folder: Path, reps: int) -> Path:
    folder.mkdir()
    path = folder / "bench_counted.py"
    path.write_text(BENCH.format(reps=reps), encoding="utf-8")
    return path


def _read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="callables are counted on x86-64 only (commands anywhere)",
)
def test_processes_agree_and_a_change_of_work_is_found(valgrind: str, tmp_path: Path) -> None:
    base = _write(tmp_path / "base", reps=50)
    head = _write(tmp_path / "head", reps=52)  # +4 % work, less the call's own cost
    # 2 processes; the refused benchmark is not started again after the first
    quick = ["--processes", "2", "--values", "1", "--warmups", "1"]
    first = perfeng("bench", "--instructions", *quick, str(base), "--out", "a.json", cwd=tmp_path)
    assert first.returncode == 2, first.stderr  # bench_child is refused
    assert "bench_child" in first.stdout and "started 1 process(es)" in first.stdout
    document = _read(tmp_path / "a.json")
    small = document["benchmarks"][0]
    assert small["unit"] == "instructions" and small["error"] is None
    assert small["est_cycles"]["stats"]["median"] > 0
    assert document["settings"]["mode"] == "instructions"
    low, high = min(small["values"]), max(small["values"])  # two separate worker processes
    assert len(small["values"]) == 2 and (high - low) / low < 0.001  # measured: equal
    changed = perfeng(
        "bench",
        "--instructions",
        "--processes",
        "1",
        *quick[2:],
        "-k",
        "small",
        str(head),
        "--out",
        "c.json",
        cwd=tmp_path,
    )
    assert changed.returncode == 0, changed.stderr
    slower = perfeng("compare", "a.json", "c.json", cwd=tmp_path)
    assert slower.returncode == 1, slower.stdout
    assert "slower" in slower.stdout and "counted benchmark results" in slower.stdout


def test_a_command_is_counted_with_its_children(valgrind: str, tmp_path: Path) -> None:
    one = perfeng(
        "bench",
        "--instructions",
        "--cmd",
        "seq 2000 | cat",
        "--cmd",
        "false",
        "--runs",
        "1",
        "--json",
        cwd=tmp_path,
    )
    assert one.returncode == 2  # false exits 1
    entries = {e["name"]: e for e in json.loads(one.stdout)["benchmarks"]}
    piped = entries["seq 2000 | cat"]
    assert piped["unit"] == "instructions" and piped["values"][0] > 0
    assert piped["shell_instructions"] > 0  # sh -c '' counted and subtracted
    assert "exited with code 1" in entries["false"]["error"]


def test_without_valgrind_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = perfeng_without_path(empty, tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "apt-get install valgrind" in result.stderr


def perfeng_without_path(path: Path, cwd: Path) -> Any:
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "perfeng", "bench", "--instructions", "--cmd", "true"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PATH": str(path)},
        timeout=60,
        check=False,
    )


def test_base_and_min_time_are_refused_with_a_reason(tmp_path: Path) -> None:
    base = perfeng("bench", "--instructions", "x", "--base", "y", "--base-out", "b.json")
    assert base.returncode == 2 and "perfeng compare" in base.stderr
    timed = perfeng("bench", "--instructions", "--cmd", "true", "--min-time", "1s")
    assert timed.returncode == 2 and "--min-time" in timed.stderr
