"""Engines for the history store, and turning database failures into one-line StoreErrors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from perfeng.errors import PerfengError, StoreError, UsageError
from perfeng.store.location import ENV_TIMEOUT, connect_timeout_s, is_sqlite, mask_url


def create(url: str, timeout: float) -> Engine:
    """An engine for a resolved URL: SQLite (WAL, busy timeout) or PostgreSQL (psycopg)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise UsageError(f"invalid history store URL {mask_url(url)!r}: {exc}") from None
    if is_sqlite(url):
        _make_folder(parsed.database)
        engine = create_engine(parsed)
        _configure_sqlite(engine, timeout)
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


def _configure_sqlite(engine: Engine, timeout: float) -> None:
    busy_ms = int(timeout * 1000)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by us (below), not by the sqlite3 module's own guesswork.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        # WAL: readers never block the writer, and the writer never blocks readers.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # A writer takes the write lock at BEGIN, where the busy timeout applies; a deferred
        # transaction that upgrades to writing later fails at once with "database is locked".
        write = conn.get_execution_options().get("perfeng_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


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
