"""Every command of docs/import.md runs, on the recorded files of tests/data/imports under the
names the guide uses, and the imported documents go through report, compare, gate, history
and detect."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from tests.integration.cli_helpers import perfeng

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "import.md"
DATA = ROOT / "tests" / "data" / "imports"
FILES = {
    "wrk.txt": "wrk_latency.txt",
    "results.jtl": "jmeter.csv",
    "results.xml": "jmeter.xml",
    "k6-points.json": "k6/points.json",
    "locust_stats.csv": "locust/run_stats.csv",
    "locust_stats_history.csv": "locust/run_stats_history.csv",
    "locust_failures.csv": "locust/run_failures.csv",
    "hey.csv": "hey.csv",
}


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def test_every_command_of_the_guide(tmp_path: Path) -> None:
    for name, recorded in FILES.items():
        shutil.copy(DATA / recorded, tmp_path / name)
    (tmp_path / "perfeng.toml").write_text(blocks("toml")[0])
    commands = [line for line in blocks("console")[0].splitlines() if line.strip()]
    assert len(commands) == 11
    for command in commands:
        args = shlex.split(command)[1:]
        done = perfeng(*args, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        if args[0] == "import":
            assert "note: " in done.stdout and (tmp_path / args[-1]).exists()
    assert "<html" in (tmp_path / "jmeter.html").read_text()


def test_the_guide_example_output_is_what_import_prints(tmp_path: Path) -> None:
    shutil.copy(DATA / "wrk_latency.txt", tmp_path / "wrk.txt")
    done = perfeng("import", "wrk.txt", "-o", "wrk.json", cwd=tmp_path)
    shown = [line for line in blocks("text")[0].splitlines() if line != "..."]
    assert done.stdout.splitlines()[: len(shown)] == shown


def test_a_misnamed_source_is_one_line_and_exit_2(tmp_path: Path) -> None:
    shutil.copy(DATA / "wrk_latency.txt", tmp_path / "wrk.txt")
    done = perfeng("import", "wrk.txt", "--from", "k6", "-o", "k6.json", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "perfeng: error: wrk.txt: this is wrk --latency text, not k6 output (--from k6)\n"
    )
    assert not (tmp_path / "k6.json").exists()
