"""Every example in docs/detect.md runs and prints what the page shows."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).parents[2] / "docs" / "detect.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def examples() -> list[tuple[str, str]]:
    """(command, expected output) for each `$ perfeng ...` line of the console blocks."""
    found = []
    for block in blocks("console"):
        for chunk in block.split("$ ")[1:]:
            command, _, output = chunk.partition("\n")
            found.append((command, output))
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("detect-docs")
    subprocess.run([sys.executable, "-c", blocks("python")[0]], cwd=path, check=True)
    return path


def test_the_page_has_examples() -> None:
    assert len(blocks("python")) == 2
    assert len(examples()) == 3


@pytest.mark.parametrize(("command", "expected"), examples())
def test_console_examples_print_what_the_page_shows(
    workdir: Path, command: str, expected: str
) -> None:
    args = shlex.split(command)
    assert args[0] == "perfeng"
    result = subprocess.run(
        [sys.executable, "-m", "perfeng", *args[1:]],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stderr == ""
    if "--json" in args:
        document = json.loads(result.stdout)
        assert same(document, json.loads(expected))
        worse = document["newest_is_regression"]
    else:
        assert result.stdout == expected
        worse = "REGRESSION" in expected
    assert result.returncode == (1 if worse else 0)


def same(got: Any, want: Any) -> bool:
    """Equal, floats to 9 significant digits (the last digits may differ between libms)."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(same(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same, got, want))
    if isinstance(want, float) and isinstance(got, float):
        return got == pytest.approx(want, rel=1e-9, abs=1e-300)
    return bool(got == want)


def test_python_example_runs() -> None:
    subprocess.run([sys.executable, "-c", blocks("python")[1]], check=True, timeout=60)
