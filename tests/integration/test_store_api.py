"""The history store's Python API on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perfeng.clock import utc_iso
from perfeng.errors import ConfigError, StoreError, UsageError
from perfeng.store import Store, open_store
from perfeng.store.database import MAX_INT64
from perfeng.store.metrics import KNOWN_STATS, flatten
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


def test_add_many_is_one_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import perfeng.store.database as database

    documents = [run_document(seed=1), bench_document(seed=2), capacity_document(3.0)]
    ids = store.add_many(documents, {"batch": "1"})
    assert [store.get(i) for i in ids] == documents
    assert store.add(capacity_document(4.0)) == ids[-1] + 1  # add still works, one at a time

    real_insert = database._insert
    calls = []

    def second_fails(*args: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            from sqlalchemy.exc import OperationalError

            raise OperationalError("INSERT", {}, Exception("disk full (simulated)"))
        return real_insert(*args)

    monkeypatch.setattr(database, "_insert", second_fails)
    with pytest.raises(StoreError, match="disk full"):
        store.add_many([capacity_document(5.0), capacity_document(6.0)])
    monkeypatch.setattr(database, "_insert", real_insert)
    assert len(calls) == 2
    assert len(store.list()) == len(ids) + 1  # the first of the failed pair is not kept


def test_add_many_checks_every_document_first(store: Store) -> None:
    broken = capacity_document(2.0)
    broken["capacity"]["max_sustainable_rps"] = math.nan
    with pytest.raises(ConfigError, match="document 2: contains NaN at capacity"):
        store.add_many([capacity_document(1.0), broken])
    assert store.list() == []


def test_long_values_and_nul_are_stored_alike_on_both_databases(store: Store) -> None:
    commit, branch, host = "c" * 200, "b" * 1000, "h" * 400
    meta = {"git_commit": commit, "git_branch": branch, "host": host, "perfeng_version": "v" * 99}
    document = run_document(seed=7, names=("a\x00b", "\ud800"), metadata=meta)
    result_id = store.add(document, {"k\x00" * 100: "v\x00" * 5000})
    assert store.get(result_id) == document  # the document comes back exactly
    (entry,) = store.list()
    assert (entry.git_commit, entry.branch, entry.host) == (commit, branch, host)
    assert entry.names == ("a\x00b", "\ud800")  # a JSON list, escaped: exact too
    assert entry.tags == {"k\ufffd" * 100: "v\ufffd" * 5000}
    p99 = document["summary"]["by_name"]["a\x00b"]["latency_ms"]["p99"]
    # The metric name is stored with U+FFFD; looking it up either way finds it.
    assert [p.value for p in store.series("a\ufffdb", "p99")] == [p99]
    assert [p.value for p in store.series("a\x00b", "p99")] == [p99]
    names = {r.name for r in store.metric_rows(stat="p99")}
    assert names == {"total", "a\ufffdb", "\ufffd"}
    assert [r.id for r in store.list(branch=branch)] == [result_id]


def test_ids_and_limits_out_of_range_are_usage_errors(store: Store) -> None:
    result_id = store.add(capacity_document(1.0))
    for bad in (0, -1, MAX_INT64 + 1, 10**20):
        with pytest.raises(UsageError, match="invalid result id"):
            store.get(bad)
        with pytest.raises(UsageError, match="invalid result id"):
            store.entry(bad)
        with pytest.raises(UsageError, match="limit must be from 1"):
            store.list(limit=bad)
    with pytest.raises(UsageError, match=f"no result with id {MAX_INT64}"):
        store.get(MAX_INT64)
    with pytest.raises(UsageError, match=f"no result with id {2**31}"):
        store.entry(2**31)
    assert [r.id for r in store.list(limit=MAX_INT64)] == [result_id]


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"format": "perfeng-run", "x": NaN}', "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_a_damaged_document_is_a_store_error(
    store: Store, store_url: str, stored: str, reason: str
) -> None:
    from sqlalchemy import create_engine, update

    from perfeng.store.schema import results

    result_id = store.add(capacity_document(1.0))
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(update(results).values(document=stored))
    engine.dispose()
    with pytest.raises(StoreError, match=f"damaged history database .*{reason}") as caught:
        store.get(result_id)
    assert "\n" not in str(caught.value)


def test_damaged_names_are_a_store_error(store: Store, store_url: str) -> None:
    from sqlalchemy import create_engine, update

    from perfeng.store.schema import results

    result_id = store.add(capacity_document(1.0))
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(update(results).values(names="[broken"))
    engine.dispose()
    for read in (store.list, lambda: store.entry(result_id)):
        with pytest.raises(StoreError, match="damaged history database"):
            read()


def test_unknown_stats_are_refused_and_nan_is_not_stored(store: Store) -> None:
    with pytest.raises(UsageError, match="unknown stat 'nope'") as caught:
        store.metric_rows(stat="nope")
    assert ", ".join(KNOWN_STATS) in str(caught.value)
    document = run_document(seed=1)
    document["summary"]["latency_ms"]["mean"] = math.inf
    with pytest.raises(ConfigError, match=r"contains Infinity at summary\.latency_ms\.mean"):
        store.add(document)
    assert store.list() == []


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
