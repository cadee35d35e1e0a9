"""Tables and schema migrations of the history store (SQLAlchemy Core).

Migrations are an ordered list of steps of our own, not Alembic: the schema is three tables,
the steps must run inside ``open_store`` for any user (no migration scripts folder or
``alembic.ini`` to ship and locate), and SQLAlchemy Core already writes the DDL for both
SQLite and PostgreSQL. ``perfeng_schema_version`` holds the number of steps applied.

All pending steps run in one transaction that first takes the database's writer lock
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock), so two
processes opening a fresh database at once do not both create the tables: the second waits,
then finds the schema current. A schema newer than this perfeng knows is refused.

Text columns have no length limit: a length SQLite ignores but PostgreSQL enforces would make
the same document storable in one and not the other. (Version 1 has not been released, so it
was changed in place; from the first release on, a change is a new step.)
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Double,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)

from perfeng.errors import StoreError

metadata = MetaData()

# 64-bit ids on PostgreSQL; on SQLite an INTEGER PRIMARY KEY (the 64-bit rowid), which only
# the type name INTEGER gives.
Id = BigInteger().with_variant(Integer, "sqlite")

schema_version = Table(
    "perfeng_schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

results = Table(
    "perfeng_results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("format_version", Integer, nullable=False),
    Column("created_utc", DateTime(timezone=True), nullable=False),
    Column("git_commit", Text),
    Column("branch", Text),
    Column("host", Text),
    Column("user_name", Text),
    Column("perfeng_version", Text),
    Column("names", Text, nullable=False),  # JSON list: request or benchmark names
    # The document as JSON text, not JSONB: `history show` must give back exactly what was
    # added, key order included.
    Column("document", Text, nullable=False),
)
Index("ix_perfeng_results_created", results.c.created_utc)

metrics = Table(
    "perfeng_metrics",
    metadata,
    Column("result_id", Id, ForeignKey("perfeng_results.id"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("stat", Text, primary_key=True),
    Column("value", Double, nullable=False),
)
Index("ix_perfeng_metrics_series", metrics.c.name, metrics.c.stat, metrics.c.result_id)

tags = Table(
    "perfeng_tags",
    metadata,
    Column("result_id", Id, ForeignKey("perfeng_results.id"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# Any number that is the same for every perfeng: it names the migration lock.
_ADVISORY_LOCK_KEY = 0x70657266  # "perf"


def _v1_tables(conn: Connection) -> None:
    # A later step must not change these definitions: a step is the schema as it was then.
    metadata.create_all(conn, tables=[results, metrics, tags])


Step = Callable[[Connection], None]
STEPS: tuple[Step, ...] = (_v1_tables,)
LATEST = len(STEPS)


def _version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(schema_version.name):
        return None
    # Read as stored: SQLite keeps whatever was written into an INTEGER column.
    raw = conn.execute(select(func.max(schema_version.c.version))).scalar()
    if raw is None:
        return 0
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    raise StoreError(
        f"damaged history database: {schema_version.name}.version is {raw!r}, not a version number"
    )


def check_current(engine: Engine) -> None:
    """For a database that can only be read: its schema must already be ``LATEST``."""
    with engine.connect() as conn:
        version = _version(conn)
    _refuse_newer(version)
    if version is None:
        raise StoreError("the database is read-only and holds no perfeng history")
    if version < LATEST:
        raise StoreError(
            f"the database is read-only and its schema (version {version}) needs an upgrade"
            f" to {LATEST}: open it once where it can be written"
        )


def _refuse_newer(version: int | None) -> None:
    if version is not None and version > LATEST:
        raise StoreError(
            f"the history database has schema version {version}, newer than this perfeng"
            f" knows ({LATEST}); upgrade perfeng"
        )


def migrate(engine: Engine) -> None:
    """Bring the schema to ``LATEST``; a no-op read when it already is."""
    with engine.connect() as conn:
        version = _version(conn)
    _refuse_newer(version)
    if version == LATEST:
        return
    with engine.connect() as conn:
        conn.execution_options(perfeng_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                )
            schema_version.create(conn, checkfirst=True)
            version = _version(conn) or 0
            _refuse_newer(version)
            for step in STEPS[version:]:
                step(conn)
            if conn.execute(select(func.count()).select_from(schema_version)).scalar():
                conn.execute(update(schema_version).values(version=LATEST))
            else:
                conn.execute(insert(schema_version).values(version=LATEST))
