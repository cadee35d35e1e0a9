"""A real PostgreSQL server for tests, from Debian's server binaries, in a temporary folder.

The server listens on a free port of 127.0.0.1 (its unix socket in the temporary folder), trusts
local connections, and runs without fsync (test data only). PostgreSQL refuses to run as root:
as root, the server runs as the ``postgres`` system user through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import IN_CI

USER = "perfeng"


def postgres_bin() -> Path | None:
    """The newest installed /usr/lib/postgresql/N/bin with initdb and pg_ctl, if any."""
    found = []
    for pg_ctl in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        folder = Path(pg_ctl).parent
        version = folder.parent.name
        if (folder / "initdb").exists() and version.isdigit():
            found.append((int(version), folder))
    return max(found)[1] if found else None


def require_postgres() -> Path:
    """Like ``require_program``: with CI=true PostgreSQL must be installed, else skip."""
    folder = postgres_bin()
    if folder is None:
        message = "PostgreSQL server binaries are not installed (run `make system-deps`)"
        if IN_CI:
            pytest.fail(f"{message}; they are required when CI=true")
        pytest.skip(message)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.fail("running as root needs runuser to start PostgreSQL as the postgres user")
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """``start()`` runs initdb and the server; ``new_database()`` gives a fresh database URL."""

    def __init__(self, bin_folder: Path) -> None:
        self.bin = bin_folder
        # Not pytest's tmp_path: its parents are private to root, and the server user must
        # reach the folder.
        self.root = Path(tempfile.mkdtemp(prefix="perfeng-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.port = 0
        self._databases = 0

    def _as_server_user(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _run(self, *command: str, timeout: float = 60) -> None:
        done = subprocess.run(
            self._as_server_user(*command),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{command[0]} failed: {done.stderr}{done.stdout}\n{tail}")

    def start(self) -> None:
        self.sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        initdb = str(self.bin / "initdb")
        self._run(
            *(initdb, "-D", str(self.data), "-U", USER, "--auth=trust", "--no-sync"),
            *("--encoding=UTF8", "--locale=C"),
        )
        for attempt in range(3):  # the free port may be taken between probe and listen
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    *(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options),
                    *("-l", str(self.root / "server.log"), "-w", "-t", "30", "start"),
                )
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database on the server; its SQLAlchemy URL."""
        import psycopg

        self._databases += 1
        name = f"t{self._databases}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists():
            command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            subprocess.run(
                self._as_server_user(*command), capture_output=True, timeout=60, check=False
            )
        shutil.rmtree(self.root, ignore_errors=True)
