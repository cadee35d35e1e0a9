"""The commands of docs/scale-out.md parse (their behaviour is run by test_workers.py and
test_cluster.py against real processes and a real Dask cluster)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from perfeng.cli.main import build_parser

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "scale-out.md"


def test_every_perfeng_command_of_the_guide_parses() -> None:
    blocks = re.findall(r"```console\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    commands = [ln for b in blocks for ln in b.splitlines() if ln.startswith("perfeng ")]
    assert len(commands) == 4
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        assert args.handler.startswith("perfeng.cli.")
