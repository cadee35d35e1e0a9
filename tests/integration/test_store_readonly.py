"""A SQLite history file in a folder that cannot be written: read it, and refuse adds in one line.

As root, file permissions do not apply; the commands then run without the capabilities that
override them (``setpriv``), so the folder really is read-only to them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.errors import ExitCode
from perfeng.store import open_store
from tests.conftest import require_program
from tests.store_samples import bench_document, capacity_document, run_document

_OVERRIDES = "-dac_override,-dac_read_search"


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = require_program("setpriv")
    return [setpriv, f"--bounding-set={_OVERRIDES}", f"--inh-caps={_OVERRIDES}"]


def perfeng(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PERFENG_STORE")}
    return subprocess.run(
        [*_unprivileged(), sys.executable, "-m", "perfeng", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder that is made read-only by ``_seal``, and writable again afterwards."""
    path = tmp_path / "ro"
    path.mkdir()
    try:
        yield path
    finally:
        path.chmod(0o755)


def _seal(folder: Path) -> None:
    folder.chmod(0o555)
    probe = subprocess.run(
        [*_unprivileged(), "touch", str(folder / "probe")], capture_output=True, check=False
    )
    assert probe.returncode != 0, "the folder should be read-only to the commands"


def _one_line_error(done: subprocess.CompletedProcess[str], code: ExitCode, *words: str) -> None:
    assert done.returncode == code, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("perfeng: error: ") and "Traceback" not in done.stderr
    for word in words:
        assert word in line


def test_a_read_only_folder_can_be_read_not_written(folder: Path, tmp_path: Path) -> None:
    path = folder / "history.db"
    url = f"sqlite:///{path}"
    documents = [run_document(seed=1), bench_document(seed=2)]
    with open_store(url) as store:
        ids = store.add_many(documents, {"env": "ci"})
    assert not Path(f"{path}-wal").exists()  # the last close folds the WAL into the file
    new = tmp_path / "new.json"
    new.write_text(json.dumps(capacity_document(3.0)))
    _seal(folder)

    listed = perfeng("history", "list", "--json", "--store", url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [e["id"] for e in json.loads(listed.stdout)] == ids[::-1]
    shown = perfeng("history", "show", str(ids[1]), "--json", "--store", url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == documents[1]
    exported = perfeng("history", "export", "--stat", "p99", "--store", url, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 1 + 3  # total and the two request names

    added = perfeng("history", "add", str(new), "--store", url, cwd=tmp_path)
    _one_line_error(added, ExitCode.STORE_UNAVAILABLE, "read-only", str(path))
    created = perfeng("history", "add", str(new), "--store", str(folder / "new.db"), cwd=tmp_path)
    _one_line_error(created, ExitCode.STORE_UNAVAILABLE, "cannot be written")
    assert sorted(p.name for p in folder.iterdir()) == ["history.db"]  # nothing left behind


def test_changes_still_in_the_wal_are_read(folder: Path, tmp_path: Path) -> None:
    path = folder / "history.db"
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        first = store.add(capacity_document(1.0))
    new = tmp_path / "new.json"
    new.write_text(json.dumps(capacity_document(3.0)))
    # A connection that stays open keeps the next change in the -wal file, unfolded: reading
    # the main file alone (as an immutable database) would miss it.
    holder = sqlite3.connect(path)
    try:
        holder.execute("SELECT count(*) FROM perfeng_results").fetchone()
        with open_store(url) as store:
            second = store.add(capacity_document(2.0))
        assert Path(f"{path}-wal").stat().st_size > 0
        for file in folder.iterdir():
            file.chmod(0o444)
        _seal(folder)
        listed = perfeng("history", "list", "--json", "--store", url, cwd=tmp_path)
        code = (
            "import sys\nfrom perfeng.store import open_store\n"
            "with open_store(sys.argv[1]) as s:\n"
            "    print([p.value for p in s.series('capacity', 'max_sustainable_rps')])"
        )
        api = subprocess.run(
            [*_unprivileged(), sys.executable, "-c", code, url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        added = perfeng("history", "add", str(new), "--store", url, cwd=tmp_path)
    finally:
        holder.close()
    assert listed.returncode == 0, listed.stderr
    assert [e["id"] for e in json.loads(listed.stdout)] == [second, first]
    assert api.returncode == 0, api.stderr
    assert api.stdout.strip() == "[1.0, 2.0]"
    _one_line_error(added, ExitCode.STORE_UNAVAILABLE, "cannot be written")
