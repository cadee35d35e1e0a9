"""What --save keeps and what it refuses, and --out checked before any measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfeng.testing.servers import closed_port
from tests.integration.cli_helpers import perfeng


def test_an_unreachable_target_is_written_but_not_saved(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    done = perfeng(
        "load", url, "--rate", "20", "--duration", "0.5s", "--quiet", "--out", "run.json",
        "--save", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "not saved to the history: the target was unreachable" in done.stderr
    assert json.loads((tmp_path / "run.json").read_text())["summary"]["errors"] > 0
    listed = perfeng("history", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 4 and "no history database" in listed.stderr  # nothing saved


@pytest.mark.parametrize("command", ["load", "bench"])
def test_an_unwritable_out_fails_before_measuring(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = ["http://127.0.0.1:1/", "--rate", "10"] if command == "load" else ["--cmd", "true"]
    for out, message in (
        (blocker / "run.json", "is not a writable folder"),
        (tmp_path, "is a directory"),
    ):
        done = perfeng(command, *target, "--out", str(out), cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_result_files_are_ordinary_files_not_owner_only(tmp_path: Path) -> None:
    done = perfeng(
        "bench", "--cmd", "true", "--runs", "3", "--quiet", "--out", "b.json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "b.json").stat().st_mode & 0o044 == 0o044  # readable by group and others
