"""Where the history store is, and how long to wait for it. No database code here (cheap)."""

from __future__ import annotations

import math
import os
import re

from perfeng.errors import UsageError

DEFAULT_PATH = ".perfeng/history.db"
DEFAULT_URL = f"sqlite:///{DEFAULT_PATH}"
ENV_URL = "PERFENG_STORE"
ENV_TIMEOUT = "PERFENG_STORE_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 3600.0  # an hour: longer is a typo or a unit mistake (ms), not a wish
MAX_CONNECT_TIMEOUT_S = 5.0

SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
POSTGRES_SCHEME = "postgresql+psycopg"
# Plain postgresql:// would make SQLAlchemy look for psycopg2, which we do not ship.
POSTGRES_ALIASES = ("postgresql", "postgres")

_PASSWORD = re.compile(r"(://[^/:@\s]*:)[^/@\s]*@")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, for messages and listings."""
    return _PASSWORD.sub(lambda m: m.group(1) + "***@", url)


def resolve_url(url: str | None) -> str:
    """``--store`` if given, else ``$PERFENG_STORE``, else the SQLite file in ``.perfeng/``.

    A bare path (no ``://``) is a SQLite file. The scheme is given back in lower case (URL
    schemes are case-insensitive, SQLAlchemy's names are not). Any scheme other than SQLite or
    PostgreSQL (psycopg) is a ``UsageError``."""
    chosen = url or os.environ.get(ENV_URL) or DEFAULT_URL
    if "://" not in chosen:
        return f"sqlite:///{chosen}"
    scheme, rest = chosen.split("://", 1)
    scheme = scheme.lower()
    if scheme in SQLITE_SCHEMES or scheme == POSTGRES_SCHEME:
        return f"{scheme}://{rest}"
    if scheme in POSTGRES_ALIASES:
        return f"{POSTGRES_SCHEME}://{rest}"
    raise UsageError(
        f"unsupported history store URL {mask_url(chosen)!r}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DATABASE"
    )


def is_sqlite(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SQLITE_SCHEMES


def sqlite_file(url: str) -> str | None:
    """The file of a resolved SQLite URL (``sqlite:///rel.db``, ``sqlite:////abs.db``); None
    for PostgreSQL, an in-memory database or a ``file:`` URI."""
    if not is_sqlite(url):
        return None
    path = url.split("://", 1)[1].split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path
    return None if not path or path == ":memory:" or path.startswith("file:") else path


def timeout_s() -> float:
    """How long to wait for a locked SQLite database ($PERFENG_STORE_TIMEOUT, default 10 s).

    0 (do not wait) to ``MAX_TIMEOUT_S``; anything else is a ``UsageError``."""
    text = os.environ.get(ENV_TIMEOUT, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text.removesuffix("s"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_TIMEOUT_S:
        raise UsageError(
            f"{ENV_TIMEOUT}={text!r}: give a number of seconds from 0 to {MAX_TIMEOUT_S:g}, e.g. 10"
        )
    return value


def connect_timeout_s(timeout: float) -> int:
    """PostgreSQL connect timeout: libpq takes whole seconds, at least 2."""
    return max(2, math.ceil(min(timeout, MAX_CONNECT_TIMEOUT_S)))
