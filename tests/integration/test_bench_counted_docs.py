"""Every ``perfeng bench --instructions`` example in docs/bench.md runs (under Valgrind)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.integration.cli_helpers import perfeng

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "bench.md"
# Appended so each example stays short under Valgrind; every documented flag is still used.
QUICK_CALLABLES = ["--processes", "1", "--values", "1", "--warmups", "0"]
QUICK_COMMANDS = ["--runs", "1"]


def _commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    lines = [ln for block in blocks for ln in block.splitlines()]
    return [ln.split("  #")[0].strip() for ln in lines if ln.startswith("perfeng bench --instr")]


def test_the_guide_has_counted_examples() -> None:
    assert len(_commands()) >= 2


@pytest.mark.parametrize("command", _commands())
def test_counted_examples_run(command: str, tmp_path: Path) -> None:
    require_program("valgrind")
    args = [str(tmp_path / a) if a.endswith(".json") else a for a in shlex.split(command)[1:]]
    args += QUICK_COMMANDS if "--cmd" in args else QUICK_CALLABLES
    result = perfeng(*args, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "instructions" in result.stdout and "est. cycles" in result.stdout
