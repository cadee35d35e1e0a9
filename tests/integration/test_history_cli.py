"""`perfeng history` and `perfeng load --save` in subprocesses, and the docs' examples."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.errors import ExitCode
from perfeng.store import open_store
from perfeng.store.metrics import flatten
from perfeng.testing.servers import FastServer, serve_in_thread
from tests.store_samples import bench_document, capacity_document, run_document

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "history.md"
DOC_URL = "http://127.0.0.1:8080"
DOC_STORE = "postgresql+psycopg://perfeng@127.0.0.1:5432/perfeng"
UNREACHABLE = "postgresql+psycopg://perfeng@127.0.0.1:1/perfeng"


def perfeng(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PERFENG_STORE")}
    return subprocess.run(
        [sys.executable, "-m", "perfeng", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environment, **(env or {})},
        timeout=60,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def fast() -> Iterator[FastServer]:
    with serve_in_thread(FastServer()) as server:
        yield server


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    documents = [run_document(seed=1), bench_document(seed=2), capacity_document(321.5)]
    paths = []
    for name, document in zip(("run.json", "bench.json", "cap.json"), documents, strict=True):
        path = tmp_path / name
        path.write_text(json.dumps(document, indent=1))
        paths.append(path)
    return paths


def test_add_list_show_export(tmp_path: Path, files: list[Path]) -> None:
    added = ok(perfeng("history", "add", *map(str, files), "--tag", "env=ci", cwd=tmp_path))
    assert re.findall(r"as #(\d+)", added) == ["1", "2", "3"]
    assert (tmp_path / ".perfeng" / "history.db").exists()

    listed = json.loads(ok(perfeng("history", "list", "--json", cwd=tmp_path)))
    assert [e["id"] for e in listed] == [3, 2, 1]
    assert [e["kind"] for e in listed] == ["capacity", "bench", "run"]
    assert all(e["tags"] == {"env": "ci"} for e in listed)
    table = ok(perfeng("history", "list", "--kind", "bench", cwd=tmp_path))
    assert table.splitlines()[0].split()[:2] == ["ID", "KIND"]
    assert len(table.splitlines()) == 2 and "sort, parse, broken" in table

    for result_id, path in enumerate(files, start=1):
        shown = json.loads(ok(perfeng("history", "show", str(result_id), "--json", cwd=tmp_path)))
        assert shown == json.loads(path.read_text())
    summary = ok(perfeng("history", "show", "3", cwd=tmp_path))
    assert "capacity: max_sustainable_rps 321.5" in summary
    assert "env=ci" in summary

    exported = ok(perfeng("history", "export", "--format", "csv", cwd=tmp_path))
    rows = list(csv.DictReader(io.StringIO(exported)))
    expected = sum(len(flatten(json.loads(p.read_text()))) for p in files)
    assert len(rows) == expected
    assert list(rows[0]) == [
        *("result_id", "created_utc", "git_commit", "branch", "host", "kind"),
        *("name", "stat", "value"),
    ]
    run = json.loads(files[0].read_text())
    p99 = perfeng(
        "history", "export", "--name", "total", "--stat", "p99", "-o", "p.csv", cwd=tmp_path
    )
    ok(p99)
    (row,) = list(csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text())))
    assert float(row["value"]) == run["summary"]["latency_ms"]["p99"]
    assert (row["result_id"], row["kind"], row["host"]) == ("1", "run", run["metadata"]["host"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "pyperf"}', "not a perfeng result"),
        ('{"format": "perfeng-run", "format_version": 1}', "'summary' section"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    done = perfeng("history", "add", str(bad), cwd=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert message in done.stderr and "bad.json" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["history", "add", "missing.json"],
        ["history", "add", "x.json", "--tag", "novalue"],
        ["history", "list", "--limit", "0"],
        ["history"],
    ],
)
def test_usage_errors(tmp_path: Path, files: list[Path], args: list[str]) -> None:
    (tmp_path / "x.json").write_text(files[0].read_text())
    done = perfeng(*args, cwd=tmp_path)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_the_store_flag_wins_over_the_environment(tmp_path: Path, files: list[Path]) -> None:
    env = {"PERFENG_STORE": f"sqlite:///{tmp_path}/env.db"}
    ok(perfeng("history", "add", str(files[2]), cwd=tmp_path, env=env))
    ok(perfeng("history", "add", str(files[2]), "--store", "flag.db", cwd=tmp_path, env=env))
    with open_store(f"sqlite:///{tmp_path}/env.db") as store:
        assert len(store.list()) == 1
    with open_store(f"sqlite:///{tmp_path}/flag.db") as store:
        assert len(store.list()) == 1
    assert not (tmp_path / ".perfeng").exists()


def test_history_on_postgresql(tmp_path: Path, files: list[Path], postgres_url: str) -> None:
    env = {"PERFENG_STORE": postgres_url}
    ok(perfeng("history", "add", *map(str, files), cwd=tmp_path, env=env))
    listed = json.loads(ok(perfeng("history", "list", "--json", cwd=tmp_path, env=env)))
    assert [e["kind"] for e in listed] == ["capacity", "bench", "run"]
    shown = json.loads(ok(perfeng("history", "show", "2", "--json", cwd=tmp_path, env=env)))
    assert shown == json.loads(files[1].read_text())


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/history.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_long_values_and_nul_are_taken_alike(tmp_path: Path, any_url: str) -> None:
    meta = {"git_commit": "f" * 100, "git_branch": "topic/" + "x" * 300}
    names = ("GET /a\x00b", "GET /c")
    documents = [run_document(seed=1, names=names, metadata=meta), capacity_document(2.0)]
    paths = []
    for i, document in enumerate(documents):
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(document))
    env = {"PERFENG_STORE": any_url}
    added = ok(perfeng("history", "add", *map(str, paths), cwd=tmp_path, env=env))
    assert len(added.splitlines()) == 2
    listed = json.loads(ok(perfeng("history", "list", "--json", cwd=tmp_path, env=env)))
    assert (listed[1]["git_commit"], listed[1]["branch"]) == (
        meta["git_commit"],
        meta["git_branch"],
    )
    exported = ok(perfeng("history", "export", "--stat", "p99", cwd=tmp_path, env=env))
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["name"] for r in rows} == {"total", "GET /a\ufffdb", "GET /c"}


def test_control_characters_do_not_break_the_table(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(run_document(seed=3, names=("a\nb", "\x1b[2Jc"))))
    ok(perfeng("history", "add", str(path), "--tag", "note=two\nlines", cwd=tmp_path))
    table = ok(perfeng("history", "list", cwd=tmp_path)).splitlines()
    assert len(table) == 2
    assert "a\\nb, \\x1b[2Jc" in table[1] and "note=two\\nlines" in table[1]
    summary = ok(perfeng("history", "show", "1", cwd=tmp_path))
    assert "\x1b" not in summary
    lines = summary.splitlines()
    assert len(lines) == 3 + 1 + 3 + 1  # provenance, tags, three names, the units note
    assert lines[3] == "  tags note=two\\nlines"
    assert lines[5].startswith("  a\\nb: p50 ") and lines[6].startswith("  \\x1b[2Jc: p50 ")


def _load(fast: FastServer, *extra: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return perfeng(
        *("load", fast.url + "/", "--rate", "20", "--duration", "0.5s", "--quiet"),
        *("--out", "run.json", *extra),
        cwd=cwd,
    )


def test_load_save_stores_the_run_as_written(fast: FastServer, tmp_path: Path) -> None:
    done = _load(fast, "--save", "--tag", "env=test", "--tag", "build=7", cwd=tmp_path)
    ok(done)
    assert "saved the result as #1" in done.stderr
    written = json.loads((tmp_path / "run.json").read_text())
    with open_store(f"sqlite:///{tmp_path}/.perfeng/history.db") as store:
        (entry,) = store.list()
        assert store.get(entry.id) == written
        (p99,) = store.series("total", "p99")
        (throughput,) = store.series("total", "throughput")
    assert entry.kind == "run" and entry.tags == {"build": "7", "env": "test"}
    assert entry.names == tuple(written["summary"]["by_name"])
    assert entry.host == written["metadata"]["host"]
    assert "git_branch" in written["metadata"]
    assert p99.value == written["summary"]["latency_ms"]["p99"]
    assert throughput.value == written["summary"]["throughput_rps"]


def test_a_failed_save_keeps_the_run_and_exits_4(fast: FastServer, tmp_path: Path) -> None:
    done = _load(fast, "--save", "--store", UNREACHABLE, cwd=tmp_path)
    assert done.returncode == ExitCode.STORE_UNAVAILABLE
    assert json.loads((tmp_path / "run.json").read_text())["summary"]["requests"] == 10
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("perfeng: error: history store") and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--store", "x.db"], "go with --save"),
        (["--tag", "a=b"], "go with --save"),
        (["--save", "--store", "mongodb://h/d"], "unsupported history store URL"),
        (["--save", "--tag", "=b"], "invalid --tag"),
    ],
)
def test_bad_save_flags_fail_before_the_run(
    fast: FastServer, tmp_path: Path, extra: list[str], message: str
) -> None:
    done = _load(fast, *extra, cwd=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert message in done.stderr
    assert not (tmp_path / "run.json").exists()


def _doc_commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return [ln[2:] for block in blocks for ln in block.splitlines() if ln.startswith("$ ")]


def test_the_documented_examples_run(fast: FastServer, tmp_path: Path, postgres_url: str) -> None:
    commands = _doc_commands()
    assert len(commands) >= 8
    for command in commands:
        words = shlex.split(command.replace(DOC_URL, fast.url).replace(DOC_STORE, postgres_url))
        env = dict(w.split("=", 1) for w in words if w.startswith("PERFENG_"))
        args = [w for w in words if not w.startswith("PERFENG_")]
        assert args[0] == "perfeng", command
        ok(perfeng(*args[1:], cwd=tmp_path, env=env))
    assert (tmp_path / "p99.csv").read_text().startswith("result_id,")
    (snippet,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    printed = ok(perfeng_python(snippet, tmp_path)).splitlines()
    assert len(printed) == 2  # the load --save and the history add of its file
    assert printed[0].split()[-1] == printed[1].split()[-1]  # the same run, the same p99


def perfeng_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PERFENG_STORE")}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [["history", "show", "1"], ["history", "list"], ["history", "export", "--format", "csv"]],
)
def test_reading_a_missing_database_fails_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    done = perfeng(*args, "--store", "typo/history.db", cwd=tmp_path)
    assert done.returncode == ExitCode.STORE_UNAVAILABLE, done.stderr
    assert "no history database at typo/history.db" in done.stderr
    assert not (tmp_path / "typo").exists()
