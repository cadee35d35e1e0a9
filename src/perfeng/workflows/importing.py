"""``perfeng import``: another tool's result file -> a perfeng run document.

The one place the importers meet files: it reads (and gunzips) the file, picks the format
(``auto`` sniffs it; a named tool must match what the file is), finds Locust's sibling CSVs,
and places on the wall clock a run whose file holds no absolute time (its modification time
less the run's length). Everything the source could not give is said in ``notes``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfeng import __version__
from perfeng.clock import utc_iso
from perfeng.errors import ConfigError
from perfeng.importers import TOOLS, Format, formats_of, locust, sniff
from perfeng.importers.build import (
    exact_figures,
    interpolated_keys,
    measurements_from_samples,
    measurements_from_summaries,
)
from perfeng.importers.parsed import ParseError, Samples, Source, Summaries
from perfeng.model.recorder import Measurements
from perfeng.model.result import DocumentError, build_document, check_document
from perfeng.workflows.metadata import masked_argv

_LOCUST_SUFFIXES = {"stats": "_stats.csv", "history": "_stats_history.csv",
                    "failures": "_failures.csv"}  # fmt: skip


@dataclass(frozen=True)
class Imported:
    document: dict[str, Any]
    format: Format


def import_file(path: str | Path, source: str = "auto", argv: list[str] | None = None) -> Imported:
    """The run document of ``path``, written by ``source`` (a tool of ``TOOLS``, or auto)."""
    path = Path(path)
    if source != "auto" and source not in TOOLS:
        raise ConfigError(f"unknown source {source!r}: one of auto, {', '.join(TOOLS)}")
    text = read_text(path)
    chosen = _format(path, text, source)
    try:
        parsed = _parse(path, text, chosen)
    except ParseError as exc:
        where = f"{path}: line {exc.line}" if exc.line else str(path)
        raise ConfigError(f"{where}: {exc.reason}") from None
    document = _document(parsed, path, argv or [])
    try:  # figures no run can have (more errors than requests, ...) are the file's fault
        check_document(document, str(path))
    except DocumentError as exc:
        raise ConfigError(f"{exc} (impossible figures in the file)") from None
    return Imported(document, chosen)


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":  # k6 --out json=results.gz
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ConfigError(f"{path}: a damaged or truncated gzip file ({exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file (byte {exc.start} is not UTF-8)") from None
    if not text.strip():
        raise ConfigError(f"{path}: empty file")
    return text


def _format(path: Path, text: str, source: str) -> Format:
    found = sniff(text)
    if source == "auto":
        if found is None:
            raise ConfigError(
                f"{path}: not a format perfeng imports ({', '.join(TOOLS)}); name it with --from"
            )
        return found
    if found is not None and found.tool != source:
        raise ConfigError(f"{path}: this is {found.label}, not {source} output (--from {source})")
    if found is None:
        labels = " or ".join(f.label for f in formats_of(source))
        raise ConfigError(f"{path}: not {source} output: expected {labels}")
    return found


def _parse(path: Path, text: str, chosen: Format) -> Samples | Summaries:
    if chosen.tool != "locust":
        return chosen.parse(text)
    kind = locust.kind_of(text) or "stats"
    prefix = (
        str(path)[: -len(_LOCUST_SUFFIXES[kind])]
        if str(path).endswith(_LOCUST_SUFFIXES[kind])
        else None
    )
    siblings = {
        k: Path(prefix + suffix) if prefix is not None else None
        for k, suffix in _LOCUST_SUFFIXES.items()
    }
    siblings[kind] = path
    stats = siblings["stats"]
    if stats is None or not stats.exists():
        raise ConfigError(f"{path}: Locust's {_LOCUST_SUFFIXES['stats']} is needed beside it")
    texts = {k: read_text(p) if p is not None and p.exists() else None for k, p in siblings.items()}
    return locust.parse(texts["stats"] or "", texts["history"], texts["failures"])


def _document(parsed: Samples | Summaries, path: Path, argv: list[str]) -> dict[str, Any]:
    mtime = path.stat().st_mtime
    notes = list(parsed.notes)
    if isinstance(parsed, Samples):
        span = max(r.start_ns + r.duration_ns for r in parsed.requests) / 1e9
        measurements = measurements_from_samples(parsed, mtime - span)
    else:
        start = parsed.start_s
        if start is None:
            start = mtime - parsed.duration_s
            notes.append(
                "the run's start is not in the file: placed at the file's modification time"
                " less the run's length"
            )
        measurements = measurements_from_summaries(parsed, start)
        _note_interpolated(notes, parsed)
    document = build_document(
        metadata=_metadata(measurements, parsed.source, path, argv),
        workloads=[],
        measurements=measurements,
        thresholds=[],
        extra={"notes": notes, "partial": False, "interrupted": None},
    )
    if isinstance(parsed, Summaries):
        exact_figures(document["summary"], parsed)
    return document


def _note_interpolated(notes: list[str], parsed: Summaries) -> None:
    spectrum = parsed.overall or next(iter(parsed.names.values()), None)
    keys = interpolated_keys(spectrum) if spectrum is not None else []
    if keys:
        notes.append(
            f"{', '.join(keys)} {'is' if len(keys) == 1 else 'are'} read from the reconstructed"
            " distribution (interpolated between the printed percentiles), not printed by the"
            " tool"
        )


def _metadata(
    measurements: Measurements, source: Source, path: Path, argv: list[str]
) -> dict[str, Any]:
    """When the source ran, and what it was; the machine it ran on is not known (null)."""
    start, end = measurements.wall_start_s, measurements.wall_end_s
    return {
        "perfeng_version": __version__,
        "python_version": None,
        "python_implementation": None,
        "host": None,
        "os": None,
        "cpu_count": None,
        "start_utc": utc_iso(start),
        "end_utc": utc_iso(end),
        "start_epoch_s": round(start, 6),
        "end_epoch_s": round(end, 6),
        "duration_s": round(end - start, 3),
        "command_line": ["perfeng", *masked_argv(argv)] if argv else [],
        "git_commit": None,
        "git_branch": None,
        "event_loop": None,
        "imported_from": {
            "tool": source.tool,
            "version": source.version,
            "format": source.format,
            "file": os.path.basename(path),
        },
    }
