"""The dispatcher: every failure ends in one line and a documented exit code."""

from __future__ import annotations

import argparse

import pytest

from perfeng.cli import main as cli
from perfeng.errors import ExitCode


def _raising(args: argparse.Namespace) -> int:
    raise RuntimeError("boom")


def test_a_bug_is_one_line_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PERFENG_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_resolve", lambda path: _raising)
    assert cli.main(["compare", "a.json", "b.json"]) == ExitCode.INTERNAL == 70
    err = capsys.readouterr().err
    assert err.startswith("perfeng: internal error: RuntimeError: boom")
    assert len(err.strip().splitlines()) == 1


def test_perfeng_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFENG_DEBUG", "1")
    monkeypatch.setattr(cli, "_resolve", lambda path: _raising)
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["compare", "a.json", "b.json"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["load"], "the following arguments are required: target (see 'perfeng load --help')"),
        (["history", "show", "abc"], "invalid int value: 'abc'"),
        (["compare", "a", "b", "--format", "xml"], "invalid choice: 'xml'"),
        (["nosuch"], "invalid choice: 'nosuch'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("perfeng: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
