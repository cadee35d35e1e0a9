"""Several processes writing to one history store at once lose nothing (SQLite and PostgreSQL).

The writers start together on a fresh database, so they also race to create the schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfeng.store import open_store
from perfeng.store.metrics import flatten
from tests.store_samples import run_document

ROOT = Path(__file__).parents[2]
WRITERS = 4
ADDS = 25

WORKER = """
import sys, time
from pathlib import Path
import sqlalchemy  # imported before the start signal, so the writers really start together
from perfeng.store import open_store
from tests.store_samples import run_document

url, worker, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
while not go.exists():
    time.sleep(0.002)
with open_store(url) as store:
    for i in range(count):
        store.add(run_document(seed=worker * 1000 + i), {"worker": str(worker), "seq": str(i)})
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/history.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _start_together(commands: list[list[str]], go: Path, cwd: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    time.sleep(0.3)  # let every process reach its start line
    go.touch()
    failures = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(f"exit {proc.returncode}: {out}{err}")
    return failures


def test_concurrent_api_writers_lose_nothing(fresh_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    commands = [
        [sys.executable, "-c", WORKER, fresh_url, str(w), str(ADDS), str(go)]
        for w in range(WRITERS)
    ]
    assert _start_together(commands, go, tmp_path) == []
    with open_store(fresh_url) as store:
        stored = store.list(limit=10 * WRITERS * ADDS)
        rows = store.metric_rows()
        p99 = {p.result_id: p.value for p in store.series("total", "p99")}
    assert len(stored) == WRITERS * ADDS
    assert len({r.id for r in stored}) == WRITERS * ADDS
    pairs = {(r.tags["worker"], r.tags["seq"]) for r in stored}
    assert pairs == {(str(w), str(i)) for w in range(WRITERS) for i in range(ADDS)}
    per_document = len(flatten(run_document(seed=0)))
    assert len(rows) == WRITERS * ADDS * per_document
    for entry in stored:  # each result's metrics belong to its own document
        seed = int(entry.tags["worker"]) * 1000 + int(entry.tags["seq"])
        assert p99[entry.id] == run_document(seed=seed)["summary"]["latency_ms"]["p99"]


def test_concurrent_cli_writers_lose_nothing(tmp_path: Path) -> None:
    fresh_url = f"sqlite:///{tmp_path}/history.db"
    go = tmp_path / "go"
    per_writer = 5
    script = (
        "import sys, time, pathlib\n"
        "while not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.002)\n"
        "from perfeng.cli.main import main\n"
        "sys.exit(main(sys.argv[2:]))\n"
    )
    commands = []
    for w in range(WRITERS):
        files = []
        for i in range(per_writer):
            path = tmp_path / f"w{w}-{i}.json"
            path.write_text(json.dumps(run_document(seed=w * 100 + i)))
            files.append(str(path))
        options = ["--store", fresh_url, "--tag", f"writer={w}"]
        commands.append([sys.executable, "-c", script, str(go), "history", "add", *files, *options])
    assert _start_together(commands, go, tmp_path) == []
    with open_store(fresh_url) as store:
        stored = store.list(limit=1000)
    assert len(stored) == WRITERS * per_writer
    counts = {str(w): 0 for w in range(WRITERS)}
    for entry in stored:
        counts[entry.tags["writer"]] += 1
    assert counts == {str(w): per_writer for w in range(WRITERS)}


def _has_open(pid: int, path: Path) -> bool:
    folder = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == str(path) for fd in folder.iterdir())
    except OSError:  # a descriptor closed between listing and reading it
        return False


def test_ctrl_c_stops_the_wait_for_a_locked_store(tmp_path: Path) -> None:
    import signal
    import sqlite3

    path = tmp_path / "history.db"
    open_store(f"sqlite:///{path}").close()
    result = tmp_path / "run.json"
    result.write_text(json.dumps(run_document(seed=1)))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    env = {**os.environ, "PERFENG_STORE_TIMEOUT": "60"}
    command = [sys.executable, "-m", "perfeng", "history", "add", str(result), "--store", str(path)]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not _has_open(proc.pid, path) and proc.poll() is None:
            assert time.monotonic() < deadline, "perfeng never opened the database"
            time.sleep(0.02)
        time.sleep(0.5)  # from opening the file to waiting for the lock: a few milliseconds
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=10)
        stopped_after = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 130, err
    assert err.strip() == "perfeng: interrupted" and out == ""
    assert stopped_after < 1.0
    with open_store(f"sqlite:///{path}") as store:
        assert store.list() == []
