"""A store that cannot be used: one line on stderr, exit 4 (2 for bad input), no traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfeng.errors import ExitCode
from perfeng.store import open_store
from tests.store_samples import capacity_document, run_document

PERFENG = [sys.executable, "-m", "perfeng"]
UNREACHABLE = "postgresql+psycopg://perfeng:secret@127.0.0.1:1/perfeng"


def perfeng(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PERFENG_STORE")}
    return subprocess.run(
        [*PERFENG, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environment, **(env or {})},
        timeout=timeout,
        check=False,
    )


def _one_line_error(done: subprocess.CompletedProcess[str], code: ExitCode, *words: str) -> None:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("perfeng: error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in done.stderr


@pytest.fixture
def result_file(tmp_path: Path) -> Path:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run_document(seed=1)))
    return path


def test_an_unreachable_server_fails_fast(tmp_path: Path, result_file: Path) -> None:
    started = time.monotonic()
    done = perfeng("history", "add", str(result_file), "--store", UNREACHABLE, cwd=tmp_path)
    _one_line_error(done, ExitCode.STORE_UNAVAILABLE, "127.0.0.1", "port 1")
    assert "secret" not in done.stderr
    assert time.monotonic() - started < 10


def test_a_locked_sqlite_file_waits_the_timeout_then_fails(
    tmp_path: Path, result_file: Path
) -> None:
    path = tmp_path / "history.db"
    open_store(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        done = perfeng(
            *("history", "add", str(result_file), "--store", str(path)),
            cwd=tmp_path,
            env={"PERFENG_STORE_TIMEOUT": "0.5"},
        )
        waited = time.monotonic() - started
        # WAL: readers go on while a writer holds the lock.
        listed = perfeng("history", "list", "--store", str(path), cwd=tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _one_line_error(done, ExitCode.STORE_UNAVAILABLE, "locked", "PERFENG_STORE_TIMEOUT")
    assert waited >= 0.5
    assert listed.returncode == 0, listed.stderr
    assert "no results stored yet" in listed.stdout


def test_a_folder_that_cannot_be_created(tmp_path: Path, result_file: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be\n")
    url = f"sqlite:///{blocker}/sub/history.db"
    done = perfeng("history", "add", str(result_file), "--store", url, cwd=tmp_path)
    _one_line_error(done, ExitCode.STORE_UNAVAILABLE, "cannot create the folder")


def test_a_corrupt_database_file(tmp_path: Path, result_file: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(os.urandom(8192))
    for command in (["add", str(result_file)], ["list"]):
        done = perfeng("history", *command, "--store", str(path), cwd=tmp_path)
        _one_line_error(done, ExitCode.STORE_UNAVAILABLE, "not a database")


def test_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE perfeng_schema_version SET version = version + 1")
    done = perfeng("history", "list", "--store", str(path), cwd=tmp_path)
    _one_line_error(done, ExitCode.STORE_UNAVAILABLE, "newer than this perfeng", "upgrade")


def test_bad_urls_and_timeouts_are_usage_errors(tmp_path: Path) -> None:
    done = perfeng("history", "list", "--store", "mysql://u:pw@h/d", cwd=tmp_path)
    _one_line_error(done, ExitCode.USAGE, "unsupported history store URL")
    assert "pw@" not in done.stderr
    from_env = perfeng("history", "list", cwd=tmp_path, env={"PERFENG_STORE": "redis://h"})
    _one_line_error(from_env, ExitCode.USAGE, "redis://h")
    slow = perfeng("history", "list", cwd=tmp_path, env={"PERFENG_STORE_TIMEOUT": "soon"})
    _one_line_error(slow, ExitCode.USAGE, "PERFENG_STORE_TIMEOUT")


def test_nothing_is_created_by_a_refused_add(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "perfeng-capacity", "format_version": 99}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(capacity_document(1.0)))
    done = perfeng("history", "add", str(good), str(bad), cwd=tmp_path)
    _one_line_error(done, ExitCode.USAGE, "bad.json", "newer than this perfeng reads")
    assert not (tmp_path / ".perfeng").exists()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/history.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


_REFUSE_BENCH = {
    "sqlite": [
        "CREATE TRIGGER refuse_bench BEFORE INSERT ON perfeng_results WHEN NEW.kind = 'bench'"
        " BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_bench() RETURNS trigger AS $$ BEGIN IF NEW.kind = 'bench' THEN"
        " RAISE EXCEPTION 'refused by a test trigger'; END IF; RETURN NEW; END $$"
        " LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_bench BEFORE INSERT ON perfeng_results FOR EACH ROW"
        " EXECUTE FUNCTION refuse_bench()",
    ],
}


def test_history_add_of_several_files_is_all_or_nothing(tmp_path: Path, any_url: str) -> None:
    from sqlalchemy import create_engine

    from tests.store_samples import bench_document

    open_store(any_url).close()
    engine = create_engine(any_url)
    with engine.begin() as conn:
        for statement in _REFUSE_BENCH[engine.dialect.name]:
            conn.exec_driver_sql(statement)
    engine.dispose()
    paths = []
    for name, document in (("run.json", run_document(seed=1)), ("b.json", bench_document(2))):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(document))
    done = perfeng("history", "add", *map(str, paths), "--store", any_url, cwd=tmp_path)
    _one_line_error(done, ExitCode.STORE_UNAVAILABLE, "refused by a test trigger")
    assert done.stdout == ""  # no "added" line for the run either
    with open_store(any_url) as store:
        assert store.list() == []


@pytest.mark.parametrize("value", [{"kind": "perfeng-run"}, ["perfeng-run"]])
def test_a_format_that_is_not_text_is_one_line(tmp_path: Path, value: object) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(run_document(seed=1) | {"format": value}))
    done = perfeng("history", "add", str(path), cwd=tmp_path)
    _one_line_error(done, ExitCode.USAGE, "odd.json", "not a perfeng result")


def _sqlite_store_with_one_result(path: Path) -> int:
    with open_store(f"sqlite:///{path}") as store:
        return store.add(capacity_document(1.0))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["show", str(2**63)], ["the result id", str(2**63 - 1)]),
        (["show", "0", "--json"], ["the result id"]),
        (["list", "--limit", str(10**20)], ["--limit", str(2**63 - 1)]),
    ],
)
def test_ids_and_limits_out_of_range(tmp_path: Path, args: list[str], words: list[str]) -> None:
    # Checked before the database is opened, so alike for every backend (the store's own
    # check, on both, is in test_store_api.py).
    path = tmp_path / "history.db"
    _sqlite_store_with_one_result(path)
    done = perfeng("history", *args, "--store", str(path), cwd=tmp_path)
    _one_line_error(done, ExitCode.USAGE, *words)


@pytest.mark.parametrize(("stored", "extra"), [("{not json", ["--json"]), ("[1]", [])])
def test_a_damaged_stored_document(tmp_path: Path, stored: str, extra: list[str]) -> None:
    path = tmp_path / "history.db"
    result_id = _sqlite_store_with_one_result(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE perfeng_results SET document = ?", (stored,))
    conn.close()
    done = perfeng("history", "show", str(result_id), *extra, "--store", str(path), cwd=tmp_path)
    _one_line_error(done, ExitCode.STORE_UNAVAILABLE, "damaged history database")
    assert done.stdout == ""


def test_a_damaged_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    _sqlite_store_with_one_result(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE perfeng_schema_version SET version = 'abc'")
    conn.close()
    done = perfeng("history", "list", "--store", str(path), cwd=tmp_path)
    _one_line_error(done, ExitCode.STORE_UNAVAILABLE, "damaged history database", "version")


def test_a_timeout_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    done = perfeng("history", "list", cwd=tmp_path, env={"PERFENG_STORE_TIMEOUT": "1e12"})
    _one_line_error(done, ExitCode.USAGE, "PERFENG_STORE_TIMEOUT", "from 0 to 3600")
    assert not (tmp_path / ".perfeng").exists()


def test_an_upper_case_scheme_works(tmp_path: Path, result_file: Path) -> None:
    url = f"SQLITE:///{tmp_path}/upper.db"
    done = perfeng("history", "add", str(result_file), "--store", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "sqlite:///" in done.stdout
    with open_store(f"sqlite:///{tmp_path}/upper.db") as store:
        assert len(store.list()) == 1


def test_nan_is_refused_at_add(tmp_path: Path) -> None:
    document = run_document(seed=2)
    document["summary"]["latency_ms"]["p99"] = float("nan")
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(document))  # json writes NaN, which is not JSON
    done = perfeng("history", "add", str(path), cwd=tmp_path)
    _one_line_error(done, ExitCode.USAGE, "nan.json", "contains NaN at summary.latency_ms.p99")
    assert not (tmp_path / ".perfeng").exists()


def test_an_unknown_stat_is_a_usage_error(tmp_path: Path) -> None:
    from perfeng.store.metrics import KNOWN_STATS

    done = perfeng("history", "export", "--stat", "nope", cwd=tmp_path)
    _one_line_error(done, ExitCode.USAGE, "unknown stat 'nope'", ", ".join(KNOWN_STATS))
    assert done.stdout == ""
