"""The assessment document (``perfeng assess`` and ``perfeng demo``): one file with the
verdict, the phases that led to it, the runs they made and the ranked findings.

Declared as a msgspec Struct (DESIGN.md habit 5); ``read_assessment`` checks a file's shape
and names the field that is wrong. The embedded runs are ordinary run documents
(docs/result-format.md) and are checked by the run reader.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from perfeng.model.findings import Finding
from perfeng.model.watch import ShapeError

FORMAT = "perfeng-assessment"
FORMAT_VERSION = 1


class Phase(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # "baseline", "capacity", "diagnosis", or a demo endpoint
    started_s: float  # seconds from the start of the assessment
    seconds: float
    status: Literal["done", "skipped", "stopped", "failed"]
    note: str | None = None


class Lesson(msgspec.Struct, frozen=True, kw_only=True):
    """What one endpoint of the demo models, and what perfeng found there."""

    path: str
    models: str
    finding: str  # the id of the top finding
    title: str
    lesson: str


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    kind: Literal["assess", "demo"]
    metadata: dict[str, Any]
    target: str
    slos: list[str]
    verdict: str
    sustainable_rps: float | None = None
    first_failing_rps: float | None = None
    knee_rps: float | None = None
    baseline: dict[str, Any] | None = None  # the unloaded run's p50/p99/mean and rate
    capacity: dict[str, Any] | None = None  # the capacity search (as perfeng-capacity)
    usl: dict[str, Any] | None = None  # the USL fit of the steps, or why there is none
    phases: list[Phase]
    findings: list[Finding]
    lessons: list[Lesson] = []
    runs: dict[str, dict[str, Any]] = {}  # name -> run document (docs/result-format.md)
    budget_s: float | None = None
    interrupted: str | None = None


def read_assessment(value: object, where: str) -> Assessment:
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise ShapeError(f'{where}: not a perfeng assessment (no "format": "{FORMAT}")')
    version = value.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ShapeError(
            f"{where}: format_version {version} is newer than this perfeng reads "
            f"({FORMAT_VERSION}); upgrade perfeng"
        )
    try:
        return msgspec.convert(value, Assessment)
    except msgspec.ValidationError as exc:
        text = str(exc)
        text = text.replace("$", "assessment", 1) if "$" in text else f"{text} in assessment"
        raise ShapeError(f"{where}: {text}") from None
