"""Every example in docs/bench.md and the benchmark section of docs/result-format.md runs."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from perfeng.bench.table import HEADERS
from perfeng.model.bench import check_bench_document

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "bench.md"
# Appended to each documented command so it stays short; every documented flag is still used.
QUICK_CALLABLES = ["--processes", "1", "--values", "2", "--warmups", "0", "--min-time", "1ms"]
QUICK_COMMANDS = ["--runs", "2", "--warmups", "0"]


def _blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.DOTALL)


def _commands() -> list[str]:
    lines = [ln for block in _blocks(GUIDE, "console") for ln in block.splitlines()]
    return [
        ln.split("  #")[0].strip()
        for ln in lines
        if ln.startswith("perfeng bench") and "--instructions" not in ln  # test_bench_counted_docs
    ]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfeng", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=90,
        check=False,
    )


def test_the_guide_shows_the_example_files_exactly() -> None:
    shown = [b for b in _blocks(GUIDE, "python") if b.startswith("# examples/")]
    assert len(shown) == 2
    for block in shown:
        first, _, body = block.partition("\n")
        assert body == (ROOT / first.removeprefix("# ")).read_text(), first


def test_the_examples_folder_holds_what_the_guide_names() -> None:
    result = _run(["bench", "examples/bench", *QUICK_CALLABLES, "--json"], ROOT)
    assert result.returncode == 0, result.stderr
    names = [b["name"] for b in json.loads(result.stdout)["benchmarks"]]
    assert names == [
        "bench_sorted_range",
        "sort_reversed[n=100]",
        "sort_reversed[n=1000]",
        "join_numbers[n=10]",
        "join_numbers[n=1000]",
        "dump_json",
    ]


@pytest.mark.parametrize("command", _commands())
def test_guide_commands_run(command: str, tmp_path: Path) -> None:
    args = [a.replace("examples/", f"{ROOT}/examples/") for a in shlex.split(command)[1:]]
    args += QUICK_COMMANDS if "--cmd" in args else QUICK_CALLABLES
    result = _run(args, tmp_path)
    assert result.returncode == 0, result.stderr
    if "--out" in args:
        (reader,) = [b for b in _blocks(GUIDE, "python") if "bench.json" in b]
        out = subprocess.run(
            [sys.executable, "-c", reader],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=True,
        )
        assert out.stdout.splitlines()[0].split()[0] == "join_numbers[n=10]"
        assert all(line.split()[2] == "us" for line in out.stdout.splitlines())
    else:
        assert result.stdout.split()[:3] == ["benchmark", "median", "(CI)"]


def test_the_output_sample_has_the_real_columns() -> None:
    (sample,) = re.findall(r"```\n(benchmark .*?)```", GUIDE.read_text(), flags=re.DOTALL)
    header = re.split(r"\s{2,}", sample.splitlines()[0].strip())
    assert tuple(header) == HEADERS


def test_result_format_example_is_a_valid_document(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "result-format.md").read_text()
    section = text[text.index("## The benchmark document") :]
    (example,) = _blocks_in(section, "json")
    document = json.loads(example)
    check_bench_document(document, "result-format.md")
    result = _run(
        ["bench", f"{ROOT}/examples/bench", "-k", "n=1000]", *QUICK_CALLABLES, "--json"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    real = json.loads(result.stdout)
    assert set(document) == set(real)
    assert set(document["settings"]) == set(real["settings"])
    assert set(document["metadata"]) <= set(real["metadata"])
    real_entry = real["benchmarks"][0]
    shown_entry = document["benchmarks"][0]
    assert set(shown_entry) == set(real_entry)
    assert set(shown_entry["stats"]) == set(real_entry["stats"])
    for key in ("user_s", "system_s", "shell_overhead_s", "runs", "min_runs"):
        assert key in section


def _blocks_in(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)
