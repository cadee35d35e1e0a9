"""The proxy's control API: HTTP/1.1 and JSON, close to Toxiproxy's REST API
(https://github.com/Shopify/toxiproxy#http-api), on loopback unless told otherwise.

    GET    /faults         the faults in force
    POST   /faults         add one: {"name": "slow", "fault": "latency=200ms@25%"} or the
                           structured fields of docs/faults.md ({"kind": "latency", ...})
    DELETE /faults/NAME    remove one (204; 404 when there is none of that name)
    GET    /stats          connections and bytes
    GET    /               the proxy: listen and upstream addresses, faults, stats

A tiny handler on asyncio and httptools (the parser the engine already uses): no web framework
for five routes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import httptools
import msgspec

from perfeng.errors import UsageError
from perfeng.proxy.server import FaultProxy, describe
from perfeng.proxy.spec import DIRECTIONS, KINDS, FaultSpec, parse_fault

_MAX_BODY = 64 * 1024
_FIELDS = {f.name for f in dataclasses.fields(FaultSpec)}

Reply = tuple[int, Any]


class ControlServer:
    """Serves the control API of ``proxy`` on ``listen``; runs on the proxy's loop."""

    def __init__(self, proxy: FaultProxy, listen: tuple[str, int]) -> None:
        self.proxy = proxy
        self.listen = listen
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> ControlServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self.handle), self.listen[0], self.listen[1]
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def handle(self, method: str, path: str, body: bytes) -> Reply:
        """One request -> (status, JSON value or None)."""
        parts = [p for p in path.split("?")[0].split("/") if p]
        if parts == []:
            return _only(method, "GET") or (200, describe(self.proxy))
        if parts == ["stats"]:
            return _only(method, "GET") or (200, self.proxy.stats.to_dict())
        if parts == ["faults"]:
            if method == "POST":
                return self._add(body)
            return _only(method, "GET", "POST") or (200, {"faults": self._listing()})
        if len(parts) == 2 and parts[0] == "faults":
            if method == "GET":
                spec = self.proxy.faults().get(parts[1])
                return (
                    (404, _error(f"no fault named {parts[1]!r}"))
                    if spec is None
                    else (
                        200,
                        _entry(parts[1], spec),
                    )
                )
            if method == "DELETE":
                if self.proxy.remove(parts[1]):
                    return 204, None
                return 404, _error(f"no fault named {parts[1]!r}")
            return 405, _error(f"{method} not allowed here: use GET or DELETE")
        return 404, _error(f"no such resource {path!r}: see GET /")

    def _listing(self) -> list[dict[str, Any]]:
        return [_entry(name, spec) for name, spec in self.proxy.faults().items()]

    def _add(self, body: bytes) -> Reply:
        try:
            request = json.loads(body or b"null")
            if not isinstance(request, dict):
                raise UsageError('expected a JSON object such as {"fault": "latency=200ms"}')
            spec = _spec_of(request)
            name = str(request.get("name") or spec.kind)
        except (ValueError, UsageError) as exc:
            return 400, _error(str(exc))
        if name in self.proxy.faults():
            return 409, _error(f"a fault named {name!r} exists: DELETE /faults/{name} first")
        self.proxy.add(name, spec)
        return 201, _entry(name, spec)


def _spec_of(request: dict[str, Any]) -> FaultSpec:
    fields = {k: v for k, v in request.items() if k != "name"}
    if "fault" in fields:
        if len(fields) > 1:
            raise UsageError("give either 'fault' (the text form) or structured fields, not both")
        text = fields["fault"]
        if not isinstance(text, str):
            raise UsageError("'fault' must be a string such as 'latency=200ms@25%'")
        return parse_fault(text)
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise UsageError(f"unknown field {unknown[0]!r}; known: fault, name, {', '.join(_FIELDS)}")
    try:
        spec = msgspec.convert(fields, FaultSpec)
    except msgspec.ValidationError as exc:
        raise UsageError(f"invalid fault: {exc}") from None
    return _checked(spec)


def _checked(spec: FaultSpec) -> FaultSpec:
    if spec.kind not in KINDS:
        raise UsageError(f"unknown kind {spec.kind!r}; expected one of {', '.join(KINDS)}")
    if spec.direction not in DIRECTIONS:
        raise UsageError(f"unknown direction {spec.direction!r}; use up, down or both")
    if not 0 < spec.share <= 1:
        raise UsageError(f"share {spec.share}: must be above 0 and at most 1")
    numbers = (spec.latency_ms, spec.jitter_ms, spec.rate_bps, spec.delay_ms, spec.size)
    if min(numbers) < 0 or (spec.hold_ms is not None and spec.hold_ms < 0):
        raise UsageError("times, sizes and rates cannot be negative")
    if (spec.kind == "bandwidth" and spec.rate_bps <= 0) or (
        spec.kind == "slicer" and spec.size < 1
    ):
        raise UsageError(f"{spec.kind} needs a positive rate_bps or size")
    return dataclasses.replace(spec, text=spec.text or spec.kind)


def _only(method: str, *allowed: str) -> Reply | None:
    if method in allowed:
        return None
    return 405, _error(f"{method} not allowed here: use {' or '.join(allowed)}")


def _entry(name: str, spec: FaultSpec) -> dict[str, Any]:
    fields = {k: v for k, v in spec.to_dict().items() if k != "text"}
    return {"name": name, "fault": spec.text, **fields}


def _error(message: str) -> dict[str, str]:
    return {"error": message}


class _Connection(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one request at a time (the parser's callbacks fill it in)."""

    def __init__(self, handle: Callable[[str, str, bytes], Reply]) -> None:
        self.handle = handle
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(400, _error("malformed HTTP request"), close=True)

    def on_message_begin(self) -> None:
        self.url, self.body = b"", bytearray()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body += body
        if len(self.body) > _MAX_BODY:
            self._send(413, _error("request body too large"), close=True)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode("latin-1")
        status, value = self.handle(method, self.url.decode("latin-1"), bytes(self.body))
        self._send(status, value, close=not self.parser.should_keep_alive())

    def _send(self, status: int, value: Any, *, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        body = b"" if value is None else json.dumps(value, indent=1).encode() + b"\n"
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        if status != 204:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        if close:
            head.append("Connection: close")
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        if close:
            self.transport.close()
