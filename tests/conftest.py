"""Shared test helpers: programs that CI must have, and running the engine in-process."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_program(name: str) -> str:
    """The path of a Debian program a test needs: with CI=true it must exist (never skip);
    on a developer's machine the test skips with the reason printed."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required when CI=true; run `make system-deps`")
        pytest.skip(f"{name} is not installed (run `make system-deps`)")
    return path
