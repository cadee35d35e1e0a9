"""Chromium's singleton socket must fit a Unix socket path: a deep TMPDIR is replaced."""

from __future__ import annotations

import tempfile

import pytest

from perfeng.browser.cdp import SOCKET_TMPDIR_MAX, _browser_env


def test_a_deep_tmpdir_gives_chromium_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/tmp/" + "d" * SOCKET_TMPDIR_MAX)
    env = _browser_env()
    assert env is not None and env["TMPDIR"] == "/tmp"


def test_a_short_tmpdir_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/tmp/short")
    assert _browser_env() is None
