"""Fixtures of the integration tests: a real PostgreSQL server for the history store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perfeng.demo.server import DemoProcess, start_process
from tests.integration.postgres import PostgresServer, require_postgres


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoProcess]:
    """The demo service in its own process, for the tests of one module."""
    service = start_process()
    try:
        yield service
    finally:
        service.stop()


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
