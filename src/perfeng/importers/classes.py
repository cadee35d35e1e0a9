"""Another tool's failure -> perfeng's error class (``ErrorClass``), from its status code or
its error text. Text that names none of the known causes gives ``None``: unclassified."""

from __future__ import annotations

import re

from perfeng.model.sample import ErrorClass

# Words of the error texts of Go (hey, k6), Java (JMeter) and Python (Locust) clients.
_CAUSES: tuple[tuple[re.Pattern[str], ErrorClass], ...] = (
    (re.compile(r"timeout|timed out|deadline exceeded", re.I), ErrorClass.TIMEOUT),
    (re.compile(r"refused|ConnectException|unreachable|no route", re.I), ErrorClass.CONNECT),
    (
        re.compile(r"reset|broken pipe|EOF|RemoteDisconnected|NoHttpResponse|closed", re.I),
        ErrorClass.RESET,
    ),
    (re.compile(r"UnknownHost|no such host|Name or service|getaddrinfo|dns", re.I), ErrorClass.DNS),
    (re.compile(r"ssl|tls|certificate|handshake", re.I), ErrorClass.TLS),
)


# plain strings: an enum member's .value costs a descriptor call, once per failed request
_HTTP_4XX, _HTTP_5XX = ErrorClass.HTTP_4XX.value, ErrorClass.HTTP_5XX.value
_PROTOCOL, _CHECK_FAILED = ErrorClass.PROTOCOL.value, ErrorClass.CHECK_FAILED.value


def of_status(status: int) -> str | None:
    """The class of a failed request that got this status; None below 400."""
    if 400 <= status < 500:
        return _HTTP_4XX
    if status >= 500:
        return _HTTP_5XX
    return None


def of_text(text: str) -> str | None:
    """The class an error text names (a status code in it counts), else None."""
    code = re.search(r"\b(?:code=|status(?: code)?[ =:]*|^)([45]\d\d)\b", text)
    if code:
        return of_status(int(code.group(1)))
    for pattern, error in _CAUSES:
        if pattern.search(text):
            return error.value
    return None


def of_failure(status: int, text: str) -> str:
    """A request the tool counted as failed: by status, else by text, else ``protocol``
    when no answer came, else ``check_failed`` (an answer the tool's assertion refused)."""
    return of_status(status) or of_text(text) or (_PROTOCOL if status == 0 else _CHECK_FAILED)
