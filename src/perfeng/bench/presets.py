"""How much to measure: the default, --fast and --rigorous presets and explicit overrides.

Callables follow pyperf (20 processes x 3 values, 1 warm-up, 0.1 s per raw timing; rigorous
40 processes). ``fast`` is cut further than pyperf's (8 x 2 at 0.05 s) so a microsecond
statement finishes in about 2 s. Commands follow hyperfine: at least 10 runs and 3 s each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from perfeng.errors import UsageError


@dataclass(frozen=True)
class Preset:
    name: str
    processes: int  # callables: worker processes per benchmark (plus one calibration)
    values: int  # callables: timed values per process
    warmups: int  # callables: warm-up values per process; commands: warm-up runs
    min_time_s: float  # callables: shortest raw timing; commands: shortest total per command
    min_runs: int  # commands: fewest timed runs
    runs: int | None = None  # commands: exact timed runs (overrides min_runs and min_time_s)


CALLABLE_PRESETS = {
    "default": Preset("default", 20, 3, 1, 0.1, 0),
    "fast": Preset("fast", 8, 2, 1, 0.05, 0),
    "rigorous": Preset("rigorous", 40, 3, 1, 0.1, 0),
}
COMMAND_PRESETS = {
    "default": Preset("default", 0, 1, 1, 3.0, 10),
    "fast": Preset("fast", 0, 1, 1, 1.0, 5),
    "rigorous": Preset("rigorous", 0, 1, 3, 10.0, 30),
}


def choose(
    name: str,
    *,
    commands: bool,
    processes: int | None = None,
    values: int | None = None,
    warmups: int | None = None,
    min_time_s: float | None = None,
    runs: int | None = None,
) -> Preset:
    """The preset ``name`` with the explicit overrides applied and checked."""
    table = COMMAND_PRESETS if commands else CALLABLE_PRESETS
    if name not in table:
        raise UsageError(f"unknown preset {name!r}: use default, fast or rigorous")
    for value, what in ((processes, "--processes"), (values, "--values"), (runs, "--runs")):
        if value is not None and value < 1:
            raise UsageError(f"invalid {what} {value}: must be at least 1")
    if warmups is not None and warmups < 0:
        raise UsageError(f"invalid --warmups {warmups}: must be 0 or more")
    if min_time_s is not None and not min_time_s > 0:
        raise UsageError("invalid --min-time: must be above 0")
    preset = table[name]
    return replace(
        preset,
        processes=preset.processes if processes is None else processes,
        values=preset.values if values is None else values,
        warmups=preset.warmups if warmups is None else warmups,
        min_time_s=preset.min_time_s if min_time_s is None else min_time_s,
        runs=runs,
    )
