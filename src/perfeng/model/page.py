"""The page document (``perfeng page --out page.json``): page loads in a browser.

Declared once as msgspec Structs (documented in docs/page.md); ``read_page`` checks a file's
shape and names the failing field. Times are milliseconds from the navigation's start, sizes
are bytes in resources and KB (1,024 bytes, as Lighthouse budgets count) in totals.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from perfeng.model.findings import Finding
from perfeng.model.watch import ShapeError

FORMAT = "perfeng-page"
FORMAT_VERSION = 1
RESOURCE_TYPES = ("document", "script", "stylesheet", "image", "font", "media", "other")
# Summary keys, with "lower is better" for every one of them.
VITALS = (
    "ttfb_ms",
    "fcp_ms",
    "lcp_ms",
    "cls",
    "tbt_ms",
    "dom_content_loaded_ms",
    "load_ms",
    "requests",
    "transfer_kb",
)


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the waterfall."""

    url: str
    type: str  # one of RESOURCE_TYPES
    third_party: bool
    status: int  # 0 when it failed
    start_ms: float
    end_ms: float
    transfer_bytes: int
    render_blocking: bool = False
    phases_ms: dict[str, float] = {}  # dns, connect, tls, ttfb, receive (those that happened)
    error: str | None = None


class Shift(msgspec.Struct, frozen=True, kw_only=True):
    start_ms: float
    value: float
    sources: list[str] = []  # the elements that moved, as tag#id or tag.class


class LongTask(msgspec.Struct, frozen=True, kw_only=True):
    start_ms: float
    duration_ms: float


class TypeTotal(msgspec.Struct, frozen=True, kw_only=True):
    requests: int
    transfer_kb: float


class Observation(msgspec.Struct, frozen=True, kw_only=True):
    """What one load showed, before the figures are worked out (analysis.page.run_of)."""

    ttfb_ms: float | None
    fcp_ms: float | None
    lcp_ms: float | None
    lcp_element: str | None
    lcp_url: str | None
    dom_content_loaded_ms: float | None
    load_ms: float | None
    resources: list[Resource]
    shifts: list[Shift]
    long_tasks: list[LongTask]
    timed_out: bool


class Vitals(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of one page load (``VITALS``)."""

    ttfb_ms: float | None
    fcp_ms: float | None
    lcp_ms: float | None
    cls: float
    tbt_ms: float
    dom_content_loaded_ms: float | None
    load_ms: float | None
    requests: int
    transfer_kb: float
    lcp_element: str | None = None


class Run(Vitals, frozen=True, kw_only=True):
    """One page load, in a fresh browser profile."""

    lcp_url: str | None = None
    by_type: dict[str, TypeTotal] = {}  # RESOURCE_TYPES, plus "third-party" and "total"
    resources: list[Resource] = []
    shifts: list[Shift] = []
    long_tasks: list[LongTask] = []
    timed_out: bool = False  # the page did not settle in time: what was measured until then
    error: str | None = None


class Summary(Vitals, frozen=True, kw_only=True):
    """The median run's figures (Lighthouse CI's median-run), and which run that was."""

    median_run: int
    thresholds: list[dict[str, Any]] = []


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    runs: int
    throttle: str
    cpu_slowdown: float
    timeout_s: float
    quiet_s: float
    latency_ms: float = 0.0
    download_kbps: float = 0.0  # 0: no limit
    upload_kbps: float = 0.0


class PageDocument(msgspec.Struct, frozen=True, kw_only=True):
    format: Literal["perfeng-page"] = "perfeng-page"
    format_version: int = FORMAT_VERSION
    url: str
    metadata: dict[str, Any]
    settings: Settings
    summary: Summary
    runs: list[Run]
    findings: list[Finding] = []
    interrupted: str | None = None  # "SIGINT"/"SIGTERM": fewer runs than asked, all kept


def read_page(value: object, where: str) -> PageDocument:
    """A page document from parsed JSON; ``ShapeError`` naming the field otherwise."""
    if isinstance(value, dict):
        version = value.get("format_version")
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise ShapeError(
                f"{where}: format_version {version} is newer than this perfeng reads"
                f" ({FORMAT_VERSION}); upgrade perfeng"
            )
    try:
        return msgspec.convert(value, PageDocument)
    except msgspec.ValidationError as exc:
        raise ShapeError(f"{where}: {str(exc).replace('$', 'document', 1)}") from None


def as_dict(document: PageDocument) -> dict[str, Any]:
    built: dict[str, Any] = msgspec.to_builtins(document)
    return built
