"""Running the perfeng command line in a subprocess, as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PERFENG = [sys.executable, "-m", "perfeng"]


def perfeng(
    *args: str, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PERFENG, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
    )
