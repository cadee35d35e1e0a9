"""Shared test helpers: programs that CI must have, and running the engine in-process."""

from __future__ import annotations

import os
import shutil
import signal

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    # Started in the background of a non-interactive shell (`make test &`), which ignores
    # SIGINT; every perfeng the tests start would inherit that, and the tests of Ctrl-C
    # need it delivered. A Python handler is reset to the default in the children.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def require_program(name: str) -> str:
    """The path of a Debian program a test needs: with CI=true it must exist (never skip);
    on a developer's machine the test skips with the reason printed."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required when CI=true; run `make system-deps`")
        pytest.skip(f"{name} is not installed (run `make system-deps`)")
    return path


# Modules whose tests diagnose a target or search its capacity: what they assert depends on
# the machine being otherwise quiet, so `make test` runs them alone after the rest, which runs
# on two processes (pytest-xdist). Everything else must hold on a busy machine anyway.
ALONE = {
    "test_assess_cli",
    "test_demo_service",
    "test_diagnose_docs",
    "test_findings_demo",
    "test_findings_services",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in ALONE:
            item.add_marker(pytest.mark.alone)
