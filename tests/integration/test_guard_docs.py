"""The guard workflow end to end, and every example of docs/compare.md and docs/gate.md:
real benchmarks and real load runs, compared, gated, saved and read back."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from perfeng.store import open_store
from perfeng.testing.servers import FastServer, serve_in_thread
from tests.integration.cli_helpers import perfeng

ROOT = Path(__file__).parents[2]
BENCH = """
def bench_sort():
    sorted(range({n}, 0, -1))
"""


def _blocks(doc: str, language: str) -> list[str]:
    text = (ROOT / "docs" / doc).read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def _bench(folder: Path, n: int, out: str, *extra: str) -> subprocess.CompletedProcess[str]:
    source = folder / f"src{n}"
    source.mkdir(exist_ok=True)
    (source / "bench_demo.py").write_text(BENCH.format(n=n))
    return perfeng("bench", str(source), "--fast", "--quiet", "--out", out, *extra, cwd=folder)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """base.json and head.json (load runs of /delay, head slower), run.json (of /, the name the
    documented budgets use), bench.json, and perfeng.toml from docs/gate.md; the working
    directory of every documented command."""
    path = tmp_path_factory.mktemp("guard")
    with serve_in_thread(FastServer()) as server:
        for name, path_query in (("base", "/delay?ms=2"), ("head", "/delay?ms=6"), ("run", "/")):
            done = perfeng(
                "load", server.url + path_query, "--rate", "200", "--duration", "2s",
                "--quiet", "--out", f"{name}.json", cwd=path,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        done = _bench(path, 2000, "bench.json")
        assert done.returncode == 0, done.stderr
        (path / "perfeng.toml").write_text(_blocks("gate.md", "toml")[0])
        open_store(f"sqlite:///{path}/.perfeng/history.db").close()  # an empty history
        yield path


@pytest.mark.parametrize("line", _blocks("compare.md", "console")[0].strip().splitlines())
def test_compare_examples(folder: Path, line: str) -> None:
    done = perfeng(*shlex.split(line)[1:], cwd=folder)
    assert done.returncode == 1, done.stderr  # head is the 6 ms endpoint: slower
    if "--json" in line:
        documented = json.loads(_blocks("compare.md", "json")[0])
        actual = json.loads(done.stdout)
        assert actual.keys() == documented.keys()
        assert actual["rows"][0].keys() == documented["rows"][0].keys()


@pytest.mark.parametrize("line", _blocks("gate.md", "console")[0].strip().splitlines())
def test_gate_examples(folder: Path, line: str) -> None:
    done = perfeng(*shlex.split(line)[1:], cwd=folder)
    assert done.stderr == ""
    if "--junit" in line:
        assert done.returncode == 0, done.stdout  # run.json (/) is faster than base (/delay)
        assert ElementTree.parse(folder / "gate.xml").getroot().tag == "testsuites"
    elif "bench.json" in line:
        verdicts = json.loads(done.stdout)["verdicts"]
        assert {v["expression"] for v in verdicts} == {"median<2ms", "median:+5%"}
        assert done.returncode == 0  # a 2,000-item sort is far below 2 ms; no baseline yet
    else:
        assert done.returncode == 0, done.stdout
        assert "skipped (no baseline)" in done.stdout


def test_the_github_actions_example_commands_run(folder: Path) -> None:
    """The perfeng commands of the workflow, in order, against a real target (shortened)."""
    (workflow,) = _blocks("gate.md", "yaml")
    lines = re.findall(r"perfeng (?:load|bench|gate|history) [^\n#]+", workflow)
    assert [line.split()[1] for line in lines] == ["load", "bench", "gate", "gate", "history"]
    (folder / "benchmarks").mkdir(exist_ok=True)
    (folder / "benchmarks" / "bench_demo.py").write_text(BENCH.format(n=1000))
    with serve_in_thread(FastServer(port=0)) as server:
        for line in lines:
            args = shlex.split(line.replace("http://127.0.0.1:8080", server.url))[1:]
            args = ["2s" if a == "60s" else a for a in args]
            done = perfeng(*args, cwd=folder)
            assert done.returncode == 0, f"{line}: {done.stdout} {done.stderr}"
    listed = perfeng("history", "list", "--json", cwd=folder)
    assert {entry["kind"] for entry in json.loads(listed.stdout)} == {"run", "bench"}


def test_a_slower_benchmark_is_caught_saved_and_gated(folder: Path) -> None:
    store = f"sqlite:///{folder / 'bench-history.db'}"
    base = _bench(folder, 2000, "bench-base.json", "--save", "--store", store)
    assert base.returncode == 0, base.stderr
    assert "saved the result as #1" in base.stderr
    head = _bench(folder, 6000, "bench-head.json")
    assert head.returncode == 0, head.stderr
    compared = perfeng("compare", "bench-base.json", "bench-head.json", "--json", cwd=folder)
    assert compared.returncode == 1, compared.stdout + compared.stderr
    (row,) = json.loads(compared.stdout)["rows"]
    assert row["verdict"] == "slower" and row["shift"] > 0.5
    budgets = folder / "bench-budgets.toml"  # the documented file asks for branch main
    budgets.write_text('[budgets]\nbench = ["median:+5%"]\n')
    gated = perfeng(
        "gate", "bench-head.json", "--store", store, "--budgets", str(budgets), cwd=folder
    )
    assert gated.returncode == 1, gated.stdout
    assert "median:+5%" in gated.stdout and "FAIL" in gated.stdout
    mixed = perfeng("compare", "bench-base.json", "base.json", cwd=folder)
    assert mixed.returncode == 2
    assert "is a benchmark result but base.json is a load-test result" in mixed.stderr


def test_the_readme_guard_examples_run(folder: Path, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Guarding performance over time")[1]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)[:1]
    for name in ("base.json", "head.json", "run.json", "perfeng.toml"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    for _ in range(6):  # a history long enough for detect
        assert perfeng("history", "add", "run.json", cwd=tmp_path).returncode == 0
    expected = {"bench": 0, "compare": 1, "gate": 0, "history": 0, "detect": 0}
    for line in block.strip().splitlines():
        args = shlex.split(line.replace("examples/bench", str(ROOT / "examples" / "bench")))[1:]
        done = perfeng(*args, cwd=tmp_path)
        assert done.returncode == expected[args[0]], f"{line}: {done.stdout} {done.stderr}"


def test_a_benchmark_that_raises_fails_the_gate_and_the_comparison(folder: Path) -> None:
    source = folder / "failing"
    source.mkdir()
    (source / "bench_demo.py").write_text(
        BENCH.format(n=1000) + "\ndef bench_broken():\n    raise ValueError('no longer runs')\n"
    )
    done = perfeng("bench", str(source), "--fast", "--quiet", "--out", "broken.json", cwd=folder)
    assert done.returncode == 2 and "no longer runs" in done.stderr
    budgets = folder / "any-budgets.toml"
    budgets.write_text('[budgets]\nbench = ["median<1s"]\n')
    gated = perfeng("gate", "broken.json", "--budgets", str(budgets), cwd=folder)
    assert gated.returncode == 1, gated.stdout
    assert "bench_broken" in gated.stdout and "failed: ValueError: no longer runs" in gated.stdout
    compared = perfeng("compare", "bench.json", "broken.json", cwd=folder)
    assert compared.returncode == 1, compared.stdout + compared.stderr
    assert "FAILED in head: bench_broken: ValueError: no longer runs" in compared.stdout


def test_base_and_head_measured_interleaved_in_one_run(folder: Path) -> None:
    for side, n in (("ab-base", 2000), ("ab-head", 8000)):
        (folder / side).mkdir()
        (folder / side / "bench_demo.py").write_text(BENCH.format(n=n))
    done = perfeng(
        "bench", "ab-head", "--base", "ab-base", "--base-out", "ab-base.json",
        "--out", "ab-head.json", "--fast", "--quiet", cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    base = json.loads((folder / "ab-base.json").read_text())
    head = json.loads((folder / "ab-head.json").read_text())
    assert [b["name"] for b in base["benchmarks"]] == [b["name"] for b in head["benchmarks"]]
    assert "ab-base" in base["benchmarks"][0]["source"]
    assert len(base["benchmarks"][0]["values"]) == len(head["benchmarks"][0]["values"]) == 16
    compared = perfeng("compare", "ab-base.json", "ab-head.json", "--json", cwd=folder)
    assert (
        compared.returncode == 1 and json.loads(compared.stdout)["rows"][0]["verdict"] == "slower"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--base", "y"], "--base PATH and --base-out FILE go together"),
        (["--cmd", "true", "--base", "y", "--base-out", "b.json"], "--base applies to PATH"),
        (["x", "--base", "y", "--base-out", "o.json", "--out", "o.json"], "must be different"),
    ],
)
def test_bad_base_options(folder: Path, args: list[str], message: str) -> None:
    done = perfeng("bench", *args, cwd=folder)
    assert done.returncode == 2 and message in done.stderr


def test_the_documented_interleaved_comparison_runs(tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "bench.md").read_text()
    section = guide.split("## Comparing two versions in one run")[1].split("\n## ")[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    for side, n in (("base", 1000), ("head", 1000)):
        (tmp_path / side / "benchmarks").mkdir(parents=True)
        (tmp_path / side / "benchmarks" / "bench_demo.py").write_text(BENCH.format(n=n))
    for line in block.strip().splitlines():
        args = shlex.split(line)[1:]
        args += ["--fast", "--quiet"] if args[0] == "bench" else []
        done = perfeng(*args, cwd=tmp_path)
        assert done.returncode == 0, f"{line}: {done.stdout} {done.stderr}"  # same code: no change
