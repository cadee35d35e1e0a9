"""The fault language: ``latency=200ms,jitter=50ms@25%``, ``reset@10%``, ``down``.

Modelled on Toxiproxy's toxics (https://github.com/Shopify/toxiproxy#toxics): a kind, its
value, optional ``key=value`` attributes and the share of connections it touches (Toxiproxy's
``toxicity``). The grammar, in docs/faults.md::

    FAULT := KIND ['=' VALUE ['/' DIRECTION]] (',' KEY '=' VALUE)* ['@' SHARE]

Sans-IO: text in, a frozen ``FaultSpec`` out, or a ``FaultSyntaxError`` naming the 1-based
column of the part that is wrong.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

from perfeng.errors import UsageError
from perfeng.units import parse_duration_ns, parse_fraction, parse_size

KINDS = ("latency", "bandwidth", "timeout", "reset", "slow-close", "slicer", "down")
DIRECTIONS = ("up", "down", "both")  # up: client -> upstream; down: upstream -> client
_VALUE = {  # kind -> whether its value is required (True), optional (False) or absent (None)
    "latency": True,
    "bandwidth": True,
    "timeout": False,
    "reset": None,
    "slow-close": True,
    "slicer": True,
    "down": None,
}
_KEYS = {
    "latency": ("jitter", "dir"),
    "bandwidth": ("dir",),
    "slicer": ("delay", "dir"),
}
_DIRECTED = ("latency", "bandwidth", "slicer")


@dataclass(frozen=True)
class FaultSpec:
    """One fault. Times in ms, sizes in bytes; ``share`` is the fraction of connections."""

    kind: str
    text: str = ""
    share: float = 1.0
    direction: str = "down"
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_bps: float = 0.0  # bandwidth: bytes per second
    hold_ms: float | None = None  # timeout: close after this long (None: hold until removed)
    delay_ms: float = 0.0  # slow-close: before closing; slicer: between slices
    size: int = 0  # slicer: bytes per slice

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def touches(self, direction: str) -> bool:
        return self.direction in (direction, "both")


class FaultSyntaxError(UsageError):
    """A fault that does not parse; ``column`` is 1-based."""

    def __init__(self, text: str, column: int, reason: str) -> None:
        self.text = text
        self.column = column
        self.reason = reason
        super().__init__(f"invalid fault {text!r} at column {column}: {reason}")


@dataclass(frozen=True)
class _Part:
    """A piece of the text and where it starts (0-based)."""

    text: str
    at: int


def parse_fault(text: str) -> FaultSpec:
    """Parse one fault; ``FaultSyntaxError`` (a ``UsageError``) when it is invalid."""
    body, share = _split_share(text)
    parts = _split(body, ",", 0)
    if not parts[0].text.strip():
        _fail(text, parts[0].at, "expected a fault kind: " + ", ".join(KINDS))
    kind_part, value_part = _split_once(parts[0], "=")
    kind = _kind(text, kind_part)
    fields: dict[str, Any] = {"kind": kind, "text": text.strip(), "share": share}
    fields.update(_value(text, kind, value_part, kind_part))
    for part in parts[1:]:
        fields.update(_attribute(text, kind, part))
    return FaultSpec(**fields)


def parse_faults(texts: list[str]) -> tuple[FaultSpec, ...]:
    return tuple(parse_fault(text) for text in texts)


def _fail(text: str, at: int, reason: str) -> NoReturn:
    raise FaultSyntaxError(text, at + 1, reason)


def _split_share(text: str) -> tuple[str, float]:
    body, sign, share_text = text.partition("@")
    if not sign:
        return body, 1.0
    at = len(body) + 1
    if "@" in share_text:
        _fail(text, at + share_text.index("@"), "only one '@SHARE' is allowed")
    try:
        share = parse_fraction(share_text, "share")
    except UsageError:
        _fail(text, at, f"invalid share {share_text!r}: use a percentage such as 25%")
    if share <= 0:
        _fail(text, at, "a share must be above 0% (remove the fault instead)")
    return body, share


def _split(text: str, sep: str, offset: int) -> list[_Part]:
    parts, at = [], offset
    for piece in text.split(sep):
        parts.append(_Part(piece, at))
        at += len(piece) + len(sep)
    return parts


def _split_once(part: _Part, sep: str) -> tuple[_Part, _Part | None]:
    head, found, tail = part.text.partition(sep)
    if not found:
        return part, None
    return _Part(head, part.at), _Part(tail, part.at + len(head) + len(sep))


def _kind(text: str, part: _Part) -> str:
    word = part.text.strip()
    if word in KINDS:
        return word
    close = difflib.get_close_matches(word, KINDS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "expected one of " + ", ".join(KINDS)
    _fail(text, part.at, f"unknown fault kind {word!r}; {hint}")


def _value(text: str, kind: str, part: _Part | None, kind_part: _Part) -> dict[str, Any]:
    needed = _VALUE[kind]
    if part is None:
        if needed:
            _fail(
                text, kind_part.at + len(kind_part.text), f"{kind} needs a value: {_EXAMPLE[kind]}"
            )
        return {}
    if needed is None:
        _fail(text, part.at - 1, f"{kind} takes no value; write just '{kind}'")
    value, direction = part, None
    if kind in _DIRECTED:
        value, direction = _direction_suffix(part)
    fields = _convert(text, kind, value)
    if direction is not None:
        fields["direction"] = _direction(text, direction)
    return fields


def _direction_suffix(part: _Part) -> tuple[_Part, _Part | None]:
    """``100ms/up`` -> ('100ms', 'up'); ``64KB/s`` keeps its '/s'."""
    head, slash, tail = part.text.rpartition("/")
    if not slash or tail.strip() not in DIRECTIONS:
        return part, None
    return _Part(head, part.at), _Part(tail, part.at + len(head) + 1)


_EXAMPLE = {
    "latency": "latency=200ms",
    "bandwidth": "bandwidth=64KB/s",
    "slow-close": "slow-close=2s",
    "slicer": "slicer=64B",
}


def _convert(text: str, kind: str, part: _Part) -> dict[str, Any]:
    raw = part.text.strip()
    try:
        if kind == "latency":
            return {"latency_ms": _ms(raw)}
        if kind == "timeout":
            return {"hold_ms": _ms(raw)}
        if kind == "slow-close":
            return {"delay_ms": _ms(raw)}
        if kind == "bandwidth":
            return {"rate_bps": _bytes_per_s(raw)}
        return {"size": _positive_size(raw)}
    except UsageError as exc:
        _fail(text, part.at, str(exc))


def _attribute(text: str, kind: str, part: _Part) -> dict[str, Any]:
    key_part, value_part = _split_once(part, "=")
    key = key_part.text.strip()
    known = _KEYS.get(kind, ())
    if key not in known:
        allowed = f"it takes {', '.join(known)}" if known else "it takes no attributes"
        _fail(text, key_part.at, f"unknown attribute {key!r} for {kind}; {allowed}")
    if value_part is None or not value_part.text.strip():
        _fail(text, key_part.at + len(key_part.text), f"expected '=' and a value after {key!r}")
    if key == "dir":
        return {"direction": _direction(text, value_part)}
    try:
        ms = _ms(value_part.text.strip())
    except UsageError as exc:
        _fail(text, value_part.at, str(exc))
    return {"jitter_ms": ms} if key == "jitter" else {"delay_ms": ms}


def _direction(text: str, part: _Part) -> str:
    word = part.text.strip()
    if word not in DIRECTIONS:
        _fail(text, part.at, f"unknown direction {word!r}; use up, down or both")
    return word


def _ms(raw: str) -> float:
    return parse_duration_ns(raw, default_unit="ms") / 1e6


def _bytes_per_s(raw: str) -> float:
    size, slash, per = raw.partition("/")
    if slash and per.strip() != "s":
        raise UsageError(f"invalid bandwidth {raw!r}: write bytes per second, e.g. 64KB/s")
    rate = parse_size(size)
    if rate < 1:
        raise UsageError(f"invalid bandwidth {raw!r}: at least 1 B/s")
    return float(rate)


def _positive_size(raw: str) -> int:
    size = parse_size(raw)
    if size < 1:
        raise UsageError(f"invalid slice size {raw!r}: at least 1 byte")
    return size
