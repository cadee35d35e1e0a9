"""The one narrow type that crosses from producers to the model."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class ErrorClass(StrEnum):
    """Why a request failed. The order is the order reports show them in."""

    CONNECT = "connect"  # refused or unroutable
    TIMEOUT = "timeout"  # connect, read or total timeout; or still in flight at the hard stop
    RESET = "reset"  # the peer closed or reset the connection before a full response
    DNS = "dns"  # name resolution failed
    TLS = "tls"  # handshake or certificate failure
    PROTOCOL = "protocol"  # the answer is not valid HTTP/1.1, or is too large to keep
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    CHECK_FAILED = "check_failed"  # a response check of the scenario did not hold


ERROR_CLASSES: tuple[str, ...] = tuple(c.value for c in ErrorClass)


class Sample(NamedTuple):
    """One request, as the engine saw it. Times are monotonic nanoseconds.

    ``intended_ns`` is when the schedule wanted the request to start; in the closed model it
    equals ``sent_ns``. Latency is ``done_ns - intended_ns``; service time is
    ``done_ns - sent_ns``. ``written_ns`` is when the request's bytes were written (after any
    connection was opened) and ``first_ns`` when its response's first byte arrived, 0 when
    none did: the wait (time to first byte) is ``first_ns - written_ns`` and the body's
    transfer ``done_ns - first_ns``.
    """

    name: str
    intended_ns: int
    sent_ns: int
    done_ns: int
    status: int  # 0 when no response arrived
    error: str | None  # an ErrorClass value, or None
    bytes_sent: int
    bytes_received: int
    written_ns: int = 0
    first_ns: int = 0
