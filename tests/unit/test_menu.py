"""The task menu: the list without a terminal, and the questions on one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from perfeng.cli import menu


def answers(*replies: str) -> Callable[[str], str]:
    queue = list(replies)
    return lambda _prompt: queue.pop(0)


def test_without_a_terminal_it_lists_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert menu.run_menu(interactive=False) == 0
    out = capsys.readouterr().out
    for task in menu.TASKS:
        assert task.title in out
    assert out.count("not built yet") == sum(not t.ready for t in menu.TASKS)


def test_a_task_not_built_yet_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = menu.Task("Something planned", "perfeng planned", False)
    monkeypatch.setattr(menu, "TASKS", (*menu.TASKS, planned))
    number = len(menu.TASKS)
    assert menu.run_menu(answers(str(number)), interactive=True) == 0
    assert "is not built yet" in capsys.readouterr().out


def test_a_bad_choice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert menu.run_menu(answers("99"), interactive=True) == 2
    assert "pick 1 to" in capsys.readouterr().err


def test_enter_quits(capsys: pytest.CaptureFixture[str]) -> None:
    assert menu.run_menu(answers(""), interactive=True) == 0


def test_the_load_task_asks_only_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr("perfeng.cli.main.main", lambda argv: ran.append(argv) or 0)
    reply = answers("1", "http://127.0.0.1:9/", "u", "5", "2s", "p99<1s")
    assert menu.run_menu(reply, interactive=True) == 0
    assert ran == [
        ["load", "http://127.0.0.1:9/", "--users", "5", "--duration", "2s", "--threshold", "p99<1s"]
    ]
