"""The history database: stored result documents and their metrics over time.

SQLite at ``.perfeng/history.db`` by default, PostgreSQL by URL (``--store`` or
``$PERFENG_STORE``). Importing this package does not import SQLAlchemy; opening a store does.
See docs/history.md.
"""

from perfeng.store.database import Store, open_store
from perfeng.store.location import resolve_url
from perfeng.store.records import MetricRow, Point, StoredResult

__all__ = ["MetricRow", "Point", "Store", "StoredResult", "open_store", "resolve_url"]
