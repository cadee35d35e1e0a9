"""The benchmark result document (``perfeng bench --out bench.json``): build, load, check.

The format is documented in docs/result-format.md ("The benchmark document"). The model only
assembles and checks: statistics and warnings are computed by the caller
(``perfeng.analysis.benchstats``) and passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from perfeng.model.result import DocumentError, check_version, read_json

FORMAT = "perfeng-bench"
FORMAT_VERSION = 1

Kind = Literal["callable", "command"]
# "s": seconds per call (timed); counted by callgrind (``bench --instructions``):
# instructions per call, with the estimated cycles beside them in ``est_cycles``.
UNITS = ("s", "instructions", "est_cycles")
STATS_KEYS = (
    "n",
    "median",
    "median_ci_low",
    "median_ci_high",
    "confidence",
    "mean",
    "stdev",
    "min",
    "max",
    "mad",
    "outliers",
)
SETTINGS_KEYS = ("preset", "processes", "values_per_process", "warmups", "min_time_s")


def empty_stats(confidence: float) -> dict[str, Any]:
    """The ``stats`` of a benchmark with no values (it failed): n 0, every figure null."""
    stats: dict[str, Any] = dict.fromkeys(STATS_KEYS)
    stats.update(n=0, outliers=0, confidence=confidence)
    return stats


def bench_entry(
    *,
    name: str,
    kind: Kind,
    source: str,
    stats: dict[str, Any],
    params: dict[str, Any] | None = None,
    loops: int = 1,
    values: Sequence[float] = (),
    warmups: Sequence[float] = (),
    warnings: Sequence[str] = (),
    error: str | None = None,
    shell_overhead_s: float | None = None,
    executable: str | None = None,
    extra: dict[str, Any] | None = None,
    unit: str = "s",
) -> dict[str, Any]:
    """One entry of ``benchmarks``. A failed benchmark (``error`` set) keeps no values."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    missing = [key for key in STATS_KEYS if key not in stats]
    if missing:
        raise ValueError(f"stats lacks {', '.join(missing)}")
    entry: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "source": source,
        "params": dict(params or {}),
        "loops": loops,
        "unit": unit,
        "values": [] if error else list(values),
        "warmups": [] if error else list(warmups),
        "shell_overhead_s": shell_overhead_s,
        "executable": executable,
        "stats": {key: stats[key] for key in STATS_KEYS},
        "warnings": list(warnings),
        "error": error,
    }
    entry.update(extra or {})
    return entry


def build_bench_document(
    *,
    metadata: dict[str, Any],
    settings: dict[str, Any],
    benchmarks: Sequence[dict[str, Any]],
    interrupted: bool = False,
    calibration: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """The whole document. ``interrupted`` marks a run stopped by Ctrl-C (values so far).
    ``calibration``: seconds per run of each fixed kernel, one value per worker process
    (``perfeng.bench.calibration``); left out when nothing was timed beside the benchmarks."""
    missing = [key for key in SETTINGS_KEYS if key not in settings]
    if missing:
        raise ValueError(f"settings lacks {', '.join(missing)}")
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": metadata,
        "settings": settings,
        "interrupted": interrupted,
        "benchmarks": list(benchmarks),
    }
    if calibration and all(calibration.values()):
        document["calibration"] = {k: list(v) for k, v in calibration.items()}
    return document


def load_bench_document(path: str | Path) -> dict[str, Any]:
    """Read and check a benchmark result; ``DocumentError`` with a one-line reason otherwise."""
    document = read_json(path)
    check_bench_document(document, str(path))
    return document  # type: ignore[no-any-return]


def check_bench_document(document: Any, where: str) -> None:
    """Raise ``DocumentError`` unless ``document`` is a benchmark result this version reads."""
    found = document.get("format") if isinstance(document, dict) else None
    if not isinstance(found, str) or not found.startswith("perfeng-"):
        raise DocumentError(f'{where}: not a perfeng result (no "format": "{FORMAT}")')
    if found != FORMAT:
        raise DocumentError(f"{where}: a {found} document, not a benchmark result ({FORMAT})")
    check_version(document, where, FORMAT_VERSION)
    benchmarks = document.get("benchmarks")
    if not isinstance(benchmarks, list) or not isinstance(document.get("settings"), dict):
        raise DocumentError(f"{where}: benchmarks or settings section missing")
    if not isinstance(document.get("metadata"), dict):
        raise DocumentError(f"{where}: metadata section missing or damaged")
    if not _calibration_ok(document.get("calibration", {})):
        raise DocumentError(f"{where}: calibration section damaged")
    seen: set[str] = set()
    for index, entry in enumerate(benchmarks):
        if not _entry_ok(entry):
            raise DocumentError(f"{where}: benchmark {index + 1} is incomplete or damaged")
        if entry["name"] in seen:
            raise DocumentError(f"{where}: benchmark {entry['name']!r} appears twice")
        seen.add(entry["name"])


def _entry_ok(entry: Any) -> bool:
    """Timings are positive finite seconds; an entry that failed says why in ``error``. A
    command run through a shell may show 0: the shell's own start-up, subtracted from each
    run, is floored at 0 when a run was quicker than it (``perfeng bench --cmd true``).
    Counts per call may be 0 too (a command that costs no more than the shell)."""
    shell = isinstance(entry, dict) and (
        entry.get("shell_overhead_s") is not None or entry.get("unit", "s") != "s"
    )
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("values"), list)
        and isinstance(entry.get("stats"), dict)
        and entry.get("unit", "s") in UNITS
        and isinstance(entry.get("error"), str | None)
        and all(_positive(v) or (shell and v == 0) for v in entry["values"])
    )


def _calibration_ok(calibration: Any) -> bool:
    return isinstance(calibration, dict) and all(
        isinstance(values, list) and all(_positive(v) for v in values)
        for values in calibration.values()
    )


def _positive(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
