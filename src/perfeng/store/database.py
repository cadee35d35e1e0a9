"""The history store: result documents and their flattened metrics in SQLite or PostgreSQL.

SQLAlchemy is imported inside the methods, so importing ``perfeng.store`` stays cheap."""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from perfeng.clock import Clock, MonotonicClock
from perfeng.errors import ConfigError, StoreError, UsageError
from perfeng.store import documents
from perfeng.store.location import mask_url, resolve_url, sqlite_file, timeout_s
from perfeng.store.metrics import KNOWN_STATS, Row, flatten
from perfeng.store.provenance import provenance
from perfeng.store.records import MetricRow, Point, StoredResult
from perfeng.store.text import storable

if TYPE_CHECKING:
    from types import TracebackType

    from sqlalchemy import Connection, Engine, Select

# Ids and limits are 64-bit signed integers in both databases.
MAX_INT64 = 2**63 - 1


def open_store(
    url: str | None = None, *, clock: Clock | None = None, must_exist: bool = False
) -> Store:
    """Connect to the store (``resolve_url(url)``) and bring its schema up to date.

    ``StoreError`` when it cannot be reached, opened or migrated; ``UsageError`` for a URL
    of an unsupported kind. ``must_exist`` is for readers: a SQLite file that is not there is
    a ``StoreError`` rather than a new, empty history (a mistyped path must not look like
    "nothing saved yet" and let a gate pass)."""
    resolved = resolve_url(url)  # a bad URL or timeout fails before SQLAlchemy loads
    timeout = timeout_s()
    path = sqlite_file(resolved)
    if must_exist and path is not None and not os.path.isfile(path):
        raise StoreError(
            f"no history database at {path}: nothing has been saved there "
            "(check --store or PERFENG_STORE; `--save` or `history add` creates it)"
        )
    from perfeng.store.connection import open_engine, translated

    with translated(resolved, timeout):
        engine, read_only = open_engine(resolved, timeout)
    return Store(engine, resolved, timeout, clock or MonotonicClock(), read_only=read_only)


def _iso(moment: datetime) -> str:
    # SQLite gives back naive datetimes: they were written as UTC.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds")


class Store:
    """An open history store. Use it as a context manager, or call ``close``.

    ``read_only`` is true for a SQLite file that can be read but not written here (a
    read-only folder or file system): reading works, adding is a ``StoreError``."""

    def __init__(
        self, engine: Engine, url: str, timeout: float, clock: Clock, *, read_only: bool = False
    ) -> None:
        self.url = mask_url(url)
        self.read_only = read_only
        self._engine = engine
        self._timeout = timeout
        self._clock = clock

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Database failures as ``StoreError``; stored values that cannot be what this code
        wrote (text where a number belongs, a broken JSON list) as a damaged database."""
        from perfeng.store.connection import translated

        with translated(self.url, self._timeout):
            try:
                yield
            except (ValueError, TypeError, OverflowError) as exc:
                raise self._damaged(f"a stored value cannot be read ({exc})") from None

    def _damaged(self, what: str) -> StoreError:
        return StoreError(f"damaged history database {self.url}: {what}")

    # ---- writing ---------------------------------------------------------------------------

    def add(self, document: dict[str, Any], tags: dict[str, str] | None = None) -> int:
        """Store a perfeng document (run, bench or capacity) and its metrics; its id.

        ``ConfigError`` if it is not a perfeng document or holds NaN or an infinity;
        ``StoreError`` if it cannot be written."""
        (result_id,) = self.add_many([document], tags)
        return result_id

    def add_many(
        self, documents: Sequence[dict[str, Any]], tags: dict[str, str] | None = None
    ) -> builtins.list[int]:
        """Store several documents in one transaction, all or none; their ids, in order.

        Every document is checked before anything is written (errors as for ``add``)."""
        from perfeng.store.connection import translated

        extra = _checked_tags(tags or {})
        prepared = [
            (self._row(d, f"document {i + 1}"), flatten(d)) for i, d in enumerate(documents)
        ]
        if self.read_only:
            raise StoreError(
                f"history store {self.url}: the database is read-only here (its file or folder"
                " cannot be written): it can be listed and shown, not added to"
            )
        with translated(self.url, self._timeout), self._engine.connect() as conn:
            conn.execution_options(perfeng_write=True)
            with conn.begin():  # documents, metrics and tags: all or nothing
                return [_insert(conn, row, rows, extra) for row, rows in prepared]

    def _row(self, document: dict[str, Any], where: str) -> dict[str, Any]:
        kind = documents.check_storable(document, where)
        try:
            text = json.dumps(document, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ConfigError(f"{where}: not JSON-serialisable: {exc}") from None
        origin = provenance(documents.metadata_of(document))
        return {
            "kind": kind,
            "format_version": document["format_version"],
            "created_utc": datetime.fromtimestamp(self._clock.wall_s(), tz=UTC),
            **{key: _text(origin[key]) for key in ("git_commit", "branch", "host")},
            "user_name": _text(origin["user"]),
            "perfeng_version": _text(origin["perfeng_version"]),
            # json.dumps escapes NUL and lone surrogates, so these two texts store as they are.
            "names": json.dumps(list(documents.names_of(document))),
            "document": text,
        }

    # ---- reading ---------------------------------------------------------------------------

    def list(
        self, *, limit: int = 50, kind: str | None = None, branch: str | None = None
    ) -> list[StoredResult]:
        """Stored results, newest first."""
        from sqlalchemy import select

        from perfeng.store.schema import results

        if not 1 <= limit <= MAX_INT64:
            raise UsageError(f"limit must be from 1 to {MAX_INT64}, not {limit}")
        query = select(*_listed_columns()).order_by(
            results.c.created_utc.desc(), results.c.id.desc()
        )
        query = _filtered(query, kind, branch).limit(limit)
        with self._reading(), self._engine.connect() as conn:
            found = conn.execute(query).all()
            labels = _tags_of(conn, [r.id for r in found])
            return [_stored(r, labels.get(r.id, {})) for r in found]

    def entry(self, result_id: int) -> StoredResult:
        """The row of one stored result; ``UsageError`` if there is no such id."""
        from sqlalchemy import select

        from perfeng.store.schema import results

        self._check_id(result_id)
        query = select(*_listed_columns()).where(results.c.id == result_id)
        with self._reading(), self._engine.connect() as conn:
            found = conn.execute(query).first()
            if found is None:
                raise self._unknown(result_id)
            labels = _tags_of(conn, [result_id])
            return _stored(found, labels.get(result_id, {}))

    def get(self, result_id: int) -> dict[str, Any]:
        """The document exactly as it was added; ``UsageError`` if there is no such id."""
        from sqlalchemy import select

        from perfeng.store.schema import results

        self._check_id(result_id)
        with self._reading(), self._engine.connect() as conn:
            text = conn.execute(
                select(results.c.document).where(results.c.id == result_id)
            ).scalar()
        if text is None:
            raise self._unknown(result_id)
        return self._document(result_id, text)

    def _document(self, result_id: int, text: Any) -> dict[str, Any]:
        def refuse(constant: str) -> None:
            raise ValueError(f"{constant} is not valid JSON")

        try:
            document = json.loads(text, parse_constant=refuse)
        except (TypeError, ValueError, RecursionError) as exc:
            raise self._damaged(
                f"result #{result_id}'s document is not valid JSON ({exc})"
            ) from None
        if not isinstance(document, dict):
            raise self._damaged(f"result #{result_id}'s document is not a JSON object")
        return document

    def _check_id(self, result_id: int) -> None:
        if not 1 <= result_id <= MAX_INT64:
            raise UsageError(
                f"invalid result id {result_id}: ids are whole numbers from 1 to {MAX_INT64}"
            )

    def _unknown(self, result_id: int) -> UsageError:
        return UsageError(f"no result with id {result_id} in the history store {self.url}")

    def series(
        self, name: str, stat: str, *, kind: str | None = None, branch: str | None = None
    ) -> builtins.list[Point]:
        """One metric's values over the stored results, oldest first."""
        from sqlalchemy import select

        from perfeng.store.schema import metrics, results

        query = (
            select(
                results.c.id,
                metrics.c.value,
                results.c.created_utc,
                results.c.git_commit,
                results.c.branch,
            )
            .join(metrics, metrics.c.result_id == results.c.id)
            .where(metrics.c.name == storable(name), metrics.c.stat == storable(stat))
            .order_by(results.c.created_utc, results.c.id)
        )
        with self._reading(), self._engine.connect() as conn:
            found = conn.execute(_filtered(query, kind, branch)).all()
            return [
                Point(r.id, float(r.value), _iso(r.created_utc), r.git_commit, r.branch)
                for r in found
            ]

    def metric_rows(
        self, *, name: str | None = None, stat: str | None = None, kind: str | None = None
    ) -> builtins.list[MetricRow]:
        """Every flattened metric (optionally one name and/or stat), oldest result first.

        ``UsageError`` for a stat that ``flatten`` never produces (``KNOWN_STATS``)."""
        from sqlalchemy import select

        from perfeng.store.schema import metrics, results

        check_stat(stat)

        query = (
            select(
                results.c.id,
                results.c.created_utc,
                results.c.git_commit,
                results.c.branch,
                results.c.host,
                results.c.kind,
                metrics.c.name,
                metrics.c.stat,
                metrics.c.value,
            )
            .join(metrics, metrics.c.result_id == results.c.id)
            .order_by(results.c.created_utc, results.c.id, metrics.c.name, metrics.c.stat)
        )
        if name is not None:
            query = query.where(metrics.c.name == storable(name))
        if stat is not None:
            query = query.where(metrics.c.stat == stat)
        with self._reading(), self._engine.connect() as conn:
            found = conn.execute(_filtered(query, kind, None)).all()
            return [
                MetricRow(
                    r.id,
                    _iso(r.created_utc),
                    r.git_commit,
                    r.branch,
                    r.host,
                    r.kind,
                    r.name,
                    r.stat,
                    float(r.value),
                )
                for r in found
            ]


def check_stat(stat: str | None) -> None:
    """``UsageError`` unless ``stat`` is None or one of ``KNOWN_STATS``."""
    if stat is not None and stat not in KNOWN_STATS:
        raise UsageError(f"unknown stat {stat!r}: the stored stats are {', '.join(KNOWN_STATS)}")


def _text(value: str | None) -> str | None:
    return None if value is None else storable(value)


def _insert(conn: Connection, row: dict[str, Any], rows: list[Row], labels: dict[str, str]) -> int:
    from sqlalchemy import insert

    from perfeng.store.schema import metrics, results, tags

    result_id = int(conn.execute(insert(results).values(row).returning(results.c.id)).scalar_one())
    if rows:
        values = [
            {"result_id": result_id, "name": storable(n), "stat": s, "value": v}
            for n, s, v in _unique_names(rows)
        ]
        conn.execute(insert(metrics), values)
    if labels:
        values = [{"result_id": result_id, "key": k, "value": v} for k, v in labels.items()]
        conn.execute(insert(tags), values)
    return result_id


def _unique_names(rows: list[Row]) -> list[Row]:
    # Two names that differ only where U+FFFD replaced a character would clash in the primary
    # key once stored; the first wins, as in ``flatten``.
    seen: set[tuple[str, str]] = set()
    kept = []
    for name, stat, value in rows:
        if (storable(name), stat) not in seen:
            seen.add((storable(name), stat))
            kept.append((name, stat, value))
    return kept


def _checked_tags(tags: dict[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key.strip() or not isinstance(value, str):
            raise UsageError(f"invalid tag {key!r}={value!r}: keys and values are text")
        checked[storable(key)] = storable(value)
    return checked


def _listed_columns() -> list[Any]:
    from perfeng.store.schema import results

    c = results.c
    return [c.id, c.kind, c.created_utc, c.git_commit, c.branch, c.host, c.user_name, c.names]


def _filtered(query: Select[Any], kind: str | None, branch: str | None) -> Select[Any]:
    from perfeng.store.schema import results

    if kind is not None:
        query = query.where(results.c.kind == kind)
    if branch is not None:
        query = query.where(results.c.branch == storable(branch))
    return query


def _tags_of(conn: Connection, ids: list[int]) -> dict[int, dict[str, str]]:
    from sqlalchemy import select

    from perfeng.store.schema import tags

    labels: dict[int, dict[str, str]] = {}
    if not ids:
        return labels
    query = select(tags.c.result_id, tags.c.key, tags.c.value).where(tags.c.result_id.in_(ids))
    for row in conn.execute(query.order_by(tags.c.key)):
        labels.setdefault(row.result_id, {})[row.key] = row.value
    return labels


def _stored(row: Any, labels: dict[str, str]) -> StoredResult:
    return StoredResult(
        id=row.id,
        kind=row.kind,
        created_utc=_iso(row.created_utc),
        git_commit=row.git_commit,
        branch=row.branch,
        host=row.host,
        user=row.user_name,
        tags=labels,
        names=tuple(json.loads(row.names)),
    )
