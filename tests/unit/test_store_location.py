"""Choosing the history store: --store, $PERFENG_STORE, the default; URL kinds and timeouts."""

from __future__ import annotations

import pytest

from perfeng.errors import UsageError
from perfeng.store.location import (
    DEFAULT_TIMEOUT_S,
    DEFAULT_URL,
    ENV_TIMEOUT,
    ENV_URL,
    MAX_CONNECT_TIMEOUT_S,
    MAX_TIMEOUT_S,
    connect_timeout_s,
    is_sqlite,
    mask_url,
    resolve_url,
    timeout_s,
)

PG = "postgresql+psycopg://perfeng@db.internal:5432/perf"


def test_the_default_is_sqlite_in_the_perfeng_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    assert resolve_url(None) == DEFAULT_URL
    assert DEFAULT_URL.endswith(".perfeng/history.db")
    assert is_sqlite(resolve_url(None))


def test_the_environment_variable_is_used_and_the_flag_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_URL, PG)
    assert resolve_url(None) == PG
    assert resolve_url("sqlite:///other.db") == "sqlite:///other.db"


@pytest.mark.parametrize(
    ("given", "resolved"),
    [
        ("sqlite:///rel/h.db", "sqlite:///rel/h.db"),
        ("sqlite:////abs/h.db", "sqlite:////abs/h.db"),
        ("sqlite+pysqlite:///h.db", "sqlite+pysqlite:///h.db"),
        ("history.db", "sqlite:///history.db"),
        ("/abs/history.db", "sqlite:////abs/history.db"),
        (PG, PG),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        # Schemes are case-insensitive; SQLAlchemy only knows the lower-case names.
        ("SQLITE:///x.db", "sqlite:///x.db"),
        ("Sqlite+PySqlite:///X.db", "sqlite+pysqlite:///X.db"),
        ("PostgreSQL+Psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("POSTGRES://u@h/d", "postgresql+psycopg://u@h/d"),
    ],
)
def test_url_forms(given: str, resolved: str) -> None:
    assert resolve_url(given) == resolved
    assert is_sqlite(resolved) == ("postgres" not in given.lower())


@pytest.mark.parametrize(
    "url", ["mysql://u:hunter2@h/d", "postgresql+psycopg2://u@h/d", "http://x/", "oracle://"]
)
def test_other_schemes_are_a_usage_error_with_the_password_masked(url: str) -> None:
    with pytest.raises(UsageError, match="unsupported history store URL") as caught:
        resolve_url(url)
    assert "hunter2" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_passwords_are_masked() -> None:
    assert mask_url("postgresql+psycopg://me:s3cret@h:5432/d") == (
        "postgresql+psycopg://me:***@h:5432/d"
    )
    assert mask_url(PG) == PG


def test_the_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_TIMEOUT, raising=False)
    assert timeout_s() == DEFAULT_TIMEOUT_S
    monkeypatch.setenv(ENV_TIMEOUT, "0.25")
    assert timeout_s() == 0.25
    monkeypatch.setenv(ENV_TIMEOUT, "3s")
    assert timeout_s() == 3.0
    monkeypatch.setenv(ENV_TIMEOUT, "0")
    assert timeout_s() == 0.0
    monkeypatch.setenv(ENV_TIMEOUT, str(MAX_TIMEOUT_S))
    assert timeout_s() == MAX_TIMEOUT_S


@pytest.mark.parametrize("text", ["soon", "-1", "nan", "inf", "1e12", "3600.5", "-0.001"])
def test_a_bad_timeout_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(ENV_TIMEOUT, text)
    with pytest.raises(UsageError, match=ENV_TIMEOUT):
        timeout_s()


def test_the_postgres_connect_timeout_is_whole_seconds_and_bounded() -> None:
    assert connect_timeout_s(0.1) == 2  # libpq's minimum
    assert connect_timeout_s(2.5) == 3
    assert connect_timeout_s(600) == MAX_CONNECT_TIMEOUT_S
