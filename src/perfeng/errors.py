"""The exception hierarchy and the exit codes every command maps its outcome to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in ``perfeng --help``."""

    OK = 0  # every threshold passed
    THRESHOLD_FAILED = 1  # a threshold or budget failed, or a comparison found a regression
    USAGE = 2  # usage or configuration error
    UNREACHABLE = 3  # the target could not be reached at all
    STORE_UNAVAILABLE = 4  # the history database could not be opened, reached or written
    INCOMPLETE = 5  # a generator worker stopped before the end: the merged result lacks its share
    INCONCLUSIVE = 6  # compare: the machine changed speed between the runs more than the effect
    INTERNAL = 70  # a bug in perfeng (EX_SOFTWARE): reported in one line, never a traceback
    INTERRUPTED = 130  # SIGINT
    TERMINATED = 143  # SIGTERM


def exit_code_help() -> str:
    """The exit-code table for ``--help``."""
    lines = {
        ExitCode.OK: "all thresholds passed",
        ExitCode.THRESHOLD_FAILED: "a threshold or budget failed, or a regression was found",
        ExitCode.USAGE: "usage or configuration error",
        ExitCode.UNREACHABLE: "the target could not be reached at all",
        ExitCode.STORE_UNAVAILABLE: "the history database could not be reached, opened or written",
        ExitCode.INCOMPLETE: "a worker (--workers) stopped early: the result lacks its share",
        ExitCode.INCONCLUSIVE: "compare: inconclusive, the machine's speed moved between the runs",
        ExitCode.INTERNAL: "internal error, a bug in perfeng (PERFENG_DEBUG=1 shows the traceback)",
        ExitCode.INTERRUPTED: "interrupted by SIGINT (partial result written)",
        ExitCode.TERMINATED: "stopped by SIGTERM (partial result written)",
    }
    return "\n".join(f"  {int(code):>3}  {text}" for code, text in lines.items())


class PerfengError(Exception):
    """Base of every error perfeng reports as one line, without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(PerfengError):
    """Bad command-line usage or an invalid value."""


class ConfigError(PerfengError):
    """A scenario, data or result file that cannot be used."""


class TargetUnreachable(PerfengError):
    """Not a single request reached the target."""

    exit_code = ExitCode.UNREACHABLE


class StoreError(PerfengError):
    """The history database cannot be reached, opened, migrated or written."""

    exit_code = ExitCode.STORE_UNAVAILABLE
