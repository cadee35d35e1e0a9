"""Text as the store keeps it, and as a terminal table shows it."""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
# PostgreSQL text cannot hold NUL, and neither database driver can encode a lone surrogate
# (json.loads gives one for "\ud800"): both become U+FFFD on every backend, so SQLite and
# PostgreSQL store the same names.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: each would break
# or repaint a line of a table.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def storable(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``), for one table cell."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    # Backslashes stay as they are: the table is for reading, ``--json`` is the exact form.
    return _CONTROL.sub(escape, text)
