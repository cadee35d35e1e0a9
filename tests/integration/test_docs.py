"""Every documented example runs: README commands and the result-format snippet."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.demo.server import start_process
from perfeng.testing.servers import FastServer, serve_in_thread

ROOT = Path(__file__).parents[2]


def _blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.DOTALL)


def _readme_commands() -> list[str]:
    lines = [ln for block in _blocks(ROOT / "README.md", "console") for ln in block.splitlines()]
    return [ln.split("#")[0].strip() for ln in lines if ln.startswith("perfeng")]


@pytest.fixture(scope="module")
def fast() -> Iterator[FastServer]:
    with serve_in_thread(FastServer(port=0)) as server:
        yield server


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfeng", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", _readme_commands())
def test_readme_commands_work(command: str, fast: FastServer, tmp_path: Path) -> None:
    args = shlex.split(command.replace("http://127.0.0.1:8080", fast.url))[1:]
    if args and args[0] == "load":
        # Short and bounded: the documented flags are checked, then a 1 s run is made.
        args = [a for a in args]
        if "--dry-run" not in args:
            args += ["--dry-run"]
        if args[1].startswith("examples/"):
            args[1] = str(ROOT / args[1])
        result = _run(args, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "expected requests" in result.stdout
    elif args and args[0] == "merge":
        for name in ("a.json", "b.json"):
            done = _run(
                [
                    "load",
                    fast.url + "/",
                    "--rate",
                    "20",
                    "--duration",
                    "0.5s",
                    "--quiet",
                    "--out",
                    name,
                ],
                tmp_path,
            )
            assert done.returncode == 0, done.stderr
        result = _run(args, tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads((tmp_path / "all.json").read_text())["summary"]["requests"] == 20
    elif args and args[0] == "assess":
        # The same command as docs/diagnose.md's, run in full by test_assess_cli.py.
        assert command in (ROOT / "docs" / "diagnose.md").read_text()
    elif args[:2] == ["demo", "serve"]:
        service = start_process(int(args[args.index("--port") + 1]))
        service.stop()
    else:
        if args and args[0] in ("report", "diagnose"):
            done = _run(
                [
                    "load",
                    fast.url + "/",
                    "--rate",
                    "20",
                    "--duration",
                    "0.5s",
                    "--quiet",
                    "--out",
                    "run.json",
                ],
                tmp_path,
            )
            assert done.returncode == 0, done.stderr
        result = _run(args, tmp_path)
        assert result.returncode == 0, result.stderr


def test_result_format_snippet_reads_a_real_result(fast: FastServer, tmp_path: Path) -> None:
    done = _run(
        [
            "load",
            fast.url + "/",
            "--rate",
            "20",
            "--duration",
            "0.5s",
            "--quiet",
            "--out",
            "run.json",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    (snippet,) = _blocks(ROOT / "docs" / "result-format.md", "python")
    code = "import json\ndocument = json.load(open('run.json'))\n" + snippet
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert out.stdout.strip().endswith("ms")
