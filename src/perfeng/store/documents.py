"""Which perfeng documents the store takes, and the little it needs to know about each."""

from __future__ import annotations

import math
from typing import Any

from perfeng.errors import ConfigError

# format -> (kind stored in the database, highest format_version this perfeng reads)
KINDS: dict[str, tuple[str, int]] = {
    "perfeng-run": ("run", 1),
    "perfeng-bench": ("bench", 1),
    "perfeng-capacity": ("capacity", 1),
    "perfeng-page": ("page", 1),
}
# The section each format must have, and its JSON type.
_SECTIONS: dict[str, tuple[str, type]] = {
    "perfeng-run": ("summary", dict),
    "perfeng-bench": ("benchmarks", list),
    "perfeng-capacity": ("capacity", dict),
    "perfeng-page": ("summary", dict),
}


def kind_of(document: Any, where: str = "document") -> str:
    """The kind (run, bench, capacity, page) of a perfeng document; else ``ConfigError``."""
    fmt = document.get("format") if isinstance(document, dict) else None
    if not isinstance(fmt, str) or fmt not in KINDS:
        known = ", ".join(f'"{name}"' for name in KINDS)
        raise ConfigError(f"{where}: not a perfeng result (format must be one of {known})")
    kind, readable = KINDS[fmt]
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"{where}: format_version missing or not a positive integer")
    if version > readable:
        raise ConfigError(
            f"{where}: format_version {version} is newer than this perfeng reads ({readable});"
            " upgrade perfeng"
        )
    section, kind_type = _SECTIONS[fmt]
    if not isinstance(document.get(section), kind_type):
        raise ConfigError(f"{where}: the {section!r} section is missing or damaged")
    return kind


def check_storable(document: Any, where: str = "document") -> str:
    """``kind_of``, and refuse NaN and infinities: JSON has no such numbers, so a stored
    document holding one could not be given back as valid JSON (``history show --json``)."""
    kind = kind_of(document, where)
    found = non_finite(document)
    if found is not None:
        value, path = found
        raise ConfigError(
            f"{where}: contains {value} at {path}, which is not valid JSON;"
            " the history store takes finite numbers or null only"
        )
    return kind


def non_finite(document: Any) -> tuple[str, str] | None:
    """The first NaN or infinity in a JSON value, as (``NaN``/``Infinity``, dotted path)."""
    # A stack, not recursion: a deeply nested document must not hit the recursion limit.
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            return text, path or "the top level"
        if isinstance(value, dict):
            items = [(f"{path}.{key}" if path else str(key), item) for key, item in value.items()]
        elif isinstance(value, list):
            items = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
        else:
            continue
        stack.extend((item, where) for where, item in reversed(items))
    return None


def names_of(document: dict[str, Any]) -> tuple[str, ...]:
    """Request names of a run, benchmark names of a bench result (none for capacity)."""
    if document.get("format") == "perfeng-run":
        by_name = document["summary"].get("by_name")
        return tuple(str(name) for name in by_name) if isinstance(by_name, dict) else ()
    if document.get("format") == "perfeng-bench":
        return tuple(
            str(b["name"]) for b in document["benchmarks"] if isinstance(b, dict) and "name" in b
        )
    return ()


def metadata_of(document: dict[str, Any]) -> dict[str, Any]:
    meta = document.get("metadata")
    return meta if isinstance(meta, dict) else {}
