"""Fixtures of the integration tests: a real PostgreSQL server for the history store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.postgres import PostgresServer, require_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (initdb takes about a second)."""
    server = PostgresServer(require_postgres())
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.new_database()
