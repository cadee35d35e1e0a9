"""Timing commands with a fake spawner: interleaving, run counts, shell overhead, failures."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence

import pytest

from perfeng.bench.command import (
    PADDING_VARIABLE,
    Command,
    RunTiming,
    parse_command,
    run_commands,
)
from perfeng.bench.presets import choose
from perfeng.errors import UsageError


class FakeSpawn:
    """Every command takes ``costs[text]`` seconds; ``codes`` gives exit codes."""

    def __init__(self, costs: dict[str, float], codes: dict[str, int] | None = None) -> None:
        self.costs = costs
        self.codes = codes or {}
        self.order: list[str] = []
        self.paddings: list[int] = []

    def __call__(self, argv: Sequence[str], env: dict[str, str]) -> RunTiming:
        text = argv[-1]
        self.order.append(text)
        self.paddings.append(len(env[PADDING_VARIABLE]))
        return RunTiming(self.costs[text], 0.001, 0.002, self.codes.get(text, 0))


def _commands(*texts: str) -> list[Command]:
    return [Command(t, ("/bin/sh", "-c", t), None) for t in texts]


def test_commands_and_the_shell_probe_are_interleaved() -> None:
    spawn = FakeSpawn({"a": 0.02, "b": 0.03, "": 0.005})
    preset = choose("default", commands=True, runs=3, warmups=1)
    run = run_commands(_commands("a", "b"), preset, shell=True, time=spawn)
    assert spawn.order == ["a", "b", ""] * 4
    assert run.outcomes[0].values == [0.02] * 3 and run.outcomes[0].warmups == [0.02]
    assert run.outcomes[1].user_s == [0.001] * 3 and run.outcomes[1].system_s == [0.002] * 3
    assert run.shell_overhead_s() == 0.005
    assert len(set(spawn.paddings)) > 1  # the environment's length varies run to run


def test_without_a_shell_there_is_no_probe() -> None:
    spawn = FakeSpawn({"a": 0.02})
    run = run_commands(
        _commands("a"), choose("fast", commands=True, runs=2), shell=False, time=spawn
    )
    assert spawn.order == ["a"] * 3 and run.shell_overhead_s() is None


def test_run_count_from_min_runs_and_min_time() -> None:
    spawn = FakeSpawn({"fast": 1 / 64, "slow": 0.5})  # binary fractions: exact sums
    preset = choose("default", commands=True, warmups=0)  # at least 10 runs and 3 s each
    run = run_commands(_commands("fast", "slow"), preset, shell=False, time=spawn)
    assert [len(o.values) for o in run.outcomes] == [192, 192]  # 192 / 64 s = 3 s
    quick = run_commands(
        _commands("slow"), choose("default", commands=True, warmups=0), shell=False, time=spawn
    )
    assert len(quick.outcomes[0].values) == 10


def test_a_failing_command_stops_unless_ignored() -> None:
    spawn = FakeSpawn({"ok": 0.5, "bad": 0.5}, codes={"bad": 1})
    preset = choose("fast", commands=True, warmups=0)
    run = run_commands(_commands("ok", "bad"), preset, shell=False, time=spawn)
    assert run.outcomes[1].error is not None and "exited with code 1" in run.outcomes[1].error
    assert run.outcomes[1].values == [] and spawn.order.count("bad") == 1
    assert len(run.outcomes[0].values) == 5
    ignored = run_commands(_commands("bad"), preset, shell=False, ignore_failure=True, time=spawn)
    assert ignored.outcomes[0].error is None and len(ignored.outcomes[0].values) == 5


def test_ctrl_c_stops_the_rounds() -> None:
    calls = []

    def spawn(argv: Sequence[str], env: dict[str, str]) -> RunTiming:
        calls.append(argv)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return RunTiming(0.1, 0.0, 0.0, 0)

    run = run_commands(_commands("a"), choose("fast", commands=True), shell=False, time=spawn)
    assert run.interrupted and len(run.outcomes[0].values) == 2  # 1 warm-up, 2 runs, then stop


def test_parse_command() -> None:
    shell = parse_command("python3 -c 'print(1)' | cat", shell=True)
    assert shell.argv[1:] == ("-c", "python3 -c 'print(1)' | cat")
    assert shell.executable == shutil.which("python3")
    direct = parse_command(f"{sys.executable} -c pass", shell=False)
    assert direct.argv == (sys.executable, "-c", "pass")
    assert parse_command("cd /tmp", shell=True).executable is None  # a shell builtin
    with pytest.raises(UsageError, match="command not found: no-such-program-x"):
        parse_command("no-such-program-x --flag", shell=False)
    with pytest.raises(UsageError, match="cannot split"):
        parse_command("echo 'unclosed", shell=False)
    with pytest.raises(UsageError, match="empty --cmd"):
        parse_command("  ", shell=True)
