"""Engines for the history store, and turning database failures into one-line StoreErrors."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from perfeng.errors import PerfengError, StoreError, UsageError
from perfeng.store.location import ENV_TIMEOUT, connect_timeout_s, is_sqlite, mask_url

# SQLite's own busy wait is C code that a Ctrl-C cannot stop; waiting in slices this long,
# with Python in between, lets the KeyboardInterrupt through.
BUSY_SLICE_MS = 50
_SQLITE_BUSY = 5
_READ_ONLY_CODES = {8, 14}  # SQLITE_READONLY, SQLITE_CANTOPEN


def open_engine(url: str, timeout: float) -> tuple[Engine, bool]:
    """An engine with the schema brought up to date, and whether it is read-only.

    A SQLite file that exists but cannot be written here (a read-only folder or file system)
    is opened read-only, if its schema is current; anything else fails as before."""
    from perfeng.store.schema import check_current, migrate

    engine = create(url, timeout)
    try:
        migrate(engine)
        return engine, False
    except BaseException as exc:
        engine.dispose()
        path = _read_only_candidate(url, exc)
        if path is None:
            raise
    engine = create(url, timeout, read_only_path=path)
    try:
        check_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine, True


def create(url: str, timeout: float, *, read_only_path: Path | None = None) -> Engine:
    """An engine for a resolved URL: SQLite (WAL, busy timeout) or PostgreSQL (psycopg).

    With ``read_only_path``, a read-only engine on that SQLite file."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise UsageError(f"invalid history store URL {mask_url(url)!r}: {exc}") from None
    if read_only_path is not None:
        uri = _read_only_uri(read_only_path)
        engine = create_engine(
            parsed,
            creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
        )
        _configure_sqlite(engine, timeout, read_only=True)
        return engine
    if is_sqlite(url):
        _make_folder(parsed.database)
        engine = create_engine(parsed)
        _configure_sqlite(engine, timeout, read_only=False)
        return engine
    return create_engine(
        parsed,
        connect_args={"connect_timeout": connect_timeout_s(timeout), "application_name": "perfeng"},
    )


def _make_folder(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = Path(database).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder {str(folder)!r} for the history database:"
            f" {exc.strerror or exc}"
        ) from None


def _read_only_candidate(url: str, exc: BaseException) -> Path | None:
    """The SQLite file to open read-only after ``exc``, or None when that would not help."""
    if not is_sqlite(url):
        return None
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(cause, "sqlite_errorcode", None)
    if not isinstance(cause, sqlite3.Error) or code is None or code & 0xFF not in _READ_ONLY_CODES:
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return path if path.is_file() else None


def _read_only_uri(path: Path) -> str:
    uri = f"{path.absolute().as_uri()}?mode=ro"
    # A WAL database needs its -shm file, which a read-only folder cannot get. Without a -wal
    # file every committed change is in the main file, and no writer can start one in a
    # folder that cannot be written: the file cannot change while we read it.
    if not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return uri


def _configure_sqlite(engine: Engine, timeout: float, *, read_only: bool) -> None:
    busy_ms = int(timeout * 1000)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by us (below), not by the sqlite3 module's own guesswork.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        if not read_only:
            # WAL: readers never block the writer, and the writer never blocks readers.
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # A writer takes the write lock at BEGIN, where the busy timeout applies; a deferred
        # transaction that upgrades to writing later fails at once with "database is locked".
        write = conn.get_execution_options().get("perfeng_write", False)
        dbapi_connection = conn.connection.driver_connection
        if write and not read_only:
            begin_immediate(dbapi_connection, timeout, busy_ms)
        else:
            dbapi_connection.execute("BEGIN")


def begin_immediate(dbapi_connection: sqlite3.Connection, timeout: float, busy_ms: int) -> None:
    """``BEGIN IMMEDIATE``, waiting up to ``timeout`` s for the write lock in short slices.

    Between slices Python runs, so Ctrl-C stops the wait (KeyboardInterrupt) at once instead
    of after the whole timeout."""
    deadline = time.monotonic() + timeout
    dbapi_connection.execute(f"PRAGMA busy_timeout = {min(BUSY_SLICE_MS, busy_ms)}")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                code = getattr(exc, "sqlite_errorcode", None)
                busy = code is not None and code & 0xFF == _SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {busy_ms}")


def _reason(exc: BaseException, timeout: float) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    text = lines[0].strip() if lines else type(cause).__name__
    if "database is locked" in text:
        return (
            f"the database is locked by another process (waited {timeout:g} s; set"
            f" {ENV_TIMEOUT} to wait longer)"
        )
    if "file is not a database" in text or "malformed" in text:
        return f"{text} (corrupt, or not a SQLite database)"
    if "readonly database" in text or "unable to open database file" in text:
        return f"{text} (the database file or its folder cannot be written, or does not exist)"
    return text


@contextmanager
def translated(url: str, timeout: float) -> Iterator[None]:
    """Database failures become ``StoreError``: one line naming the (masked) store."""
    try:
        yield
    except PerfengError:
        raise
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        raise StoreError(f"history store {mask_url(url)}: {_reason(exc, timeout)}") from None
    except Exception as exc:
        # psycopg's own errors can escape SQLAlchemy's wrapping (e.g. while connecting).
        if type(exc).__module__.split(".")[0] != "psycopg":
            raise
        raise StoreError(f"history store {mask_url(url)}: {_reason(exc, timeout)}") from None
