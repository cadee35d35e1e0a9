"""What the store hands back: plain frozen records, no database types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredResult:
    """One stored document's row, without the document itself."""

    id: int
    kind: str  # run, bench or capacity
    created_utc: str  # when it was added, ISO 8601 UTC
    git_commit: str | None
    branch: str | None
    host: str | None
    user: str | None
    tags: dict[str, str]
    names: tuple[str, ...]  # request or benchmark names in it


@dataclass(frozen=True)
class Point:
    """One value of a metric's history."""

    result_id: int
    value: float
    created_utc: str
    git_commit: str | None
    branch: str | None


@dataclass(frozen=True)
class MetricRow:
    """One flattened metric with its result's labels (what ``history export`` writes)."""

    result_id: int
    created_utc: str
    git_commit: str | None
    branch: str | None
    host: str | None
    kind: str
    name: str
    stat: str
    value: float
