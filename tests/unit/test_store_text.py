"""Text the history store keeps (NUL, lone surrogates) and shows in a table (control characters)."""

from __future__ import annotations

import pytest

from perfeng.store.text import REPLACEMENT, printable, storable


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("GET /", "GET /"),
        ("a\x00b", f"a{REPLACEMENT}b"),
        ("\x00\x00", REPLACEMENT * 2),
        ("x\ud800y\udfff", f"x{REPLACEMENT}y{REPLACEMENT}"),
        ("ベンチ 🚀\n", "ベンチ 🚀\n"),  # other characters, controls included, are kept
    ],
)
def test_storable_replaces_what_a_database_cannot_hold(given: str, stored: str) -> None:
    assert storable(given) == stored
    stored.encode("utf-8")  # what both drivers do with it: must not raise
    assert "\x00" not in stored


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("GET /", "GET /"),
        ("a\nb", "a\\nb"),
        ("a\r\n\tb", "a\\r\\n\\tb"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("x\x00\x7f\x85", "x\\x00\\x7f\\x85"),
        ("line\u2028next", "line\\u2028next"),
        ("ベンチ 🚀", "ベンチ 🚀"),
    ],
)
def test_printable_keeps_a_cell_on_one_line(given: str, shown: str) -> None:
    assert printable(given) == shown
    assert len(printable(given).splitlines()) <= 1
