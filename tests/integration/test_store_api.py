"""The history store's Python API on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.clock import utc_iso
from perfeng.errors import ConfigError, StoreError, UsageError
from perfeng.store import Store, open_store
from perfeng.store.metrics import flatten
from perfeng.store.provenance import git_branch, git_commit
from perfeng.testing import FakeClock
from tests.store_samples import bench_document, capacity_document, run_document

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/nested/history.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    with open_store(store_url, clock=clock) as opened:
        yield opened


def test_a_document_comes_back_exactly_as_added(store: Store) -> None:
    for document in (run_document(seed=1), bench_document(seed=2), capacity_document(None)):
        result_id = store.add(document)
        back = store.get(result_id)
        assert back == document
        assert json.dumps(back) == json.dumps(document)  # key order too


def test_list_is_newest_first_with_provenance_tags_and_names(
    store: Store, clock: FakeClock
) -> None:
    meta = {"git_commit": COMMIT, "git_branch": "feature/x", "host": "gen-1"}
    added_at = clock.wall_s()
    first = store.add(run_document(seed=1, names=("a", "b"), metadata=meta), {"env": "ci"})
    clock.advance(60)
    second = store.add(bench_document(seed=2, names=("sort",), failing=()))
    listed = store.list()
    assert [r.id for r in listed] == [second, first]
    old = listed[1]
    assert (old.kind, old.git_commit, old.branch, old.host) == ("run", COMMIT, "feature/x", "gen-1")
    assert old.tags == {"env": "ci"}
    assert old.names == ("a", "b")
    assert listed[0].kind == "bench" and listed[0].names == ("sort",)
    assert listed[0].tags == {}
    assert old.created_utc == utc_iso(added_at)
    assert listed[0].created_utc == utc_iso(clock.wall_s())


def test_missing_provenance_comes_from_the_working_directory(store: Store) -> None:
    result_id = store.add(capacity_document(5.0))
    (entry,) = [r for r in store.list() if r.id == result_id]
    assert entry.git_commit == git_commit()
    assert entry.branch == git_branch()
    assert entry.host == "cap-host"  # the document's own host wins
    assert entry.user


def test_list_filters_and_limit(store: Store, clock: FakeClock) -> None:
    ids = []
    for seed in range(6):
        branch = "main" if seed % 2 else "topic"
        ids.append(store.add(run_document(seed=seed, metadata={"git_branch": branch})))
        clock.advance(1)
    ids.append(store.add(capacity_document(3.0)))
    assert [r.id for r in store.list(limit=2)] == ids[::-1][:2]
    assert {r.id for r in store.list(kind="run")} == set(ids[:6])
    assert [r.id for r in store.list(kind="run", branch="main")] == ids[5:0:-2]
    assert store.list(kind="bench") == []
    with pytest.raises(UsageError):
        store.list(limit=0)


def test_series_is_oldest_first_and_matches_the_documents(store: Store, clock: FakeClock) -> None:
    documents = [run_document(seed=s, metadata={"git_branch": f"b{s % 2}"}) for s in range(5)]
    ids = []
    for document in documents:
        ids.append(store.add(document))
        clock.advance(1)
    store.add(bench_document(seed=9))
    points = store.series("total", "p99")
    assert [p.result_id for p in points] == ids
    assert [p.value for p in points] == [d["summary"]["latency_ms"]["p99"] for d in documents]
    named = store.series("GET /", "throughput", branch="b1")
    assert [p.value for p in named] == [
        d["summary"]["by_name"]["GET /"]["throughput_rps"] for d in documents[1::2]
    ]
    assert store.series("total", "p99", kind="bench") == []
    assert store.series("no such name", "p99") == []


def test_metric_rows_are_the_flattened_documents(store: Store) -> None:
    documents = [run_document(seed=3), bench_document(seed=4), capacity_document(7.5)]
    ids = [store.add(d) for d in documents]
    rows = store.metric_rows()
    assert len(rows) == sum(len(flatten(d)) for d in documents)
    for result_id, document in zip(ids, documents, strict=True):
        mine = {(r.name, r.stat): r.value for r in rows if r.result_id == result_id}
        assert mine == {(n, s): v for n, s, v in flatten(document)}
    p99 = store.metric_rows(name="total", stat="p99")
    assert [(r.result_id, r.value) for r in p99] == [
        (ids[0], documents[0]["summary"]["latency_ms"]["p99"])
    ]
    assert {r.kind for r in store.metric_rows(kind="bench")} == {"bench"}


def test_unknown_ids_bad_documents_and_bad_tags(store: Store) -> None:
    with pytest.raises(UsageError, match="no result with id 424242"):
        store.get(424242)
    with pytest.raises(UsageError, match="no result with id 424242"):
        store.entry(424242)
    with pytest.raises(ConfigError, match="not a perfeng result"):
        store.add({"format": "other"})
    with pytest.raises(UsageError, match="invalid tag"):
        store.add(capacity_document(1.0), {"": "x"})
    assert store.list() == []  # nothing half-added


def test_reopening_keeps_the_data_and_the_schema(store_url: str) -> None:
    with open_store(store_url) as store:
        result_id = store.add(capacity_document(2.0))
    with open_store(store_url) as store:
        assert store.get(result_id) == capacity_document(2.0)
        assert _schema_versions(store_url) == [_latest()]


def test_a_newer_schema_is_refused_in_one_line(store_url: str) -> None:
    from sqlalchemy import create_engine, update

    from perfeng.store.schema import schema_version

    open_store(store_url).close()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(update(schema_version).values(version=_latest() + 1))
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this perfeng") as caught:
        open_store(store_url)
    assert "\n" not in str(caught.value)


def test_the_url_is_given_back_with_the_password_masked(postgres_url: str) -> None:
    with_password = postgres_url.replace("perfeng@", "perfeng:pw123@")  # trust auth ignores it
    with open_store(with_password) as store:
        assert "pw123" not in store.url
        assert store.url == postgres_url.replace("perfeng@", "perfeng:***@")


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "h.db"
    with open_store(f"sqlite:///{path}") as store:
        store.add(capacity_document(1.0))
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _latest() -> int:
    from perfeng.store.schema import LATEST

    return LATEST


def _schema_versions(url: str) -> list[int]:
    from sqlalchemy import create_engine, select

    from perfeng.store.schema import schema_version

    engine = create_engine(url)
    with engine.connect() as conn:
        versions = [int(v) for v in conn.execute(select(schema_version.c.version)).scalars()]
    engine.dispose()
    return versions
