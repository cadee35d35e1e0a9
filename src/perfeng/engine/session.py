"""Python scenarios: ``async def flow(session)`` run once per iteration.

``session.get/post/...`` send through the engine's client and record one sample each, named
by ``name=`` (default ``"METHOD path"``). The first request of an iteration carries the
iteration's intended start time, so a flow in the open model keeps coordinated omission out.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Callable
from typing import Any

from perfeng.engine.http.client import Client, RequestFailed
from perfeng.engine.http.request import encode_request, join_url, split_url
from perfeng.model.recorder import Recorder
from perfeng.model.sample import ErrorClass, Sample
from perfeng.scenario.model import Scenario

_TIMEOUT = ErrorClass.TIMEOUT.value


class Response:
    """What a flow sees of a response."""

    def __init__(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        error: str | None,
        message: str = "",
    ) -> None:
        self.status = status
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
        self.body = body
        self.error = error  # an ErrorClass value when the request failed
        self.message = message

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class RequestError(Exception):
    """Raised by ``Response.raise_for_status`` and by flows that want to end an iteration."""


class Session:
    def __init__(self, runner: FlowIterations, intended_ns: int) -> None:
        self._runner = runner
        self._intended: int | None = intended_ns
        self.vars: dict[str, Any] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        name: str | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        body: str | bytes | None = None,
    ) -> Response:
        intended, self._intended = self._intended, None
        return await self._runner.send(
            method.upper(), url, name, headers or {}, json, body, intended
        )

    async def get(self, url: str, **kw: Any) -> Response:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> Response:
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> Response:
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw: Any) -> Response:
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> Response:
        return await self.request("DELETE", url, **kw)

    async def head(self, url: str, **kw: Any) -> Response:
        return await self.request("HEAD", url, **kw)


def _body_bytes(headers: dict[str, str], json: Any, body: str | bytes | None) -> bytes | None:
    if json is not None:
        headers.setdefault("Content-Type", "application/json")
        return jsonlib.dumps(json).encode()
    if isinstance(body, str):
        return body.encode()
    return body


class FlowIterations:
    """Callable as ``await iterations(intended_ns)``: one run of the user's flow."""

    def __init__(
        self, scenario: Scenario, client: Client, recorder: Recorder, now_ns: Callable[[], int]
    ) -> None:
        assert scenario.flow is not None
        self.flow = scenario.flow
        self.base_url = scenario.base_url
        self.client = client
        self.recorder = recorder
        self.now_ns = now_ns
        self.failures = 0  # iterations that raised
        self.last_failure = ""

    async def __call__(self, intended_ns: int) -> None:
        try:
            await self.flow(Session(self, intended_ns))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a deliberate raise in the user's flow
            self.failures += 1
            self.last_failure = f"{type(exc).__name__}: {exc}"

    async def send(
        self,
        method: str,
        url: str,
        name: str | None,
        headers: dict[str, str],
        json: Any,
        body: str | bytes | None,
        intended: int | None,
    ) -> Response:
        origin, target = split_url(join_url(self.base_url, url))
        data = _body_bytes(headers, json, body)
        raw = encode_request(method, origin, target, tuple(headers.items()), data)
        name = name or f"{method} {target.split('?')[0]}"
        pool = self.client.pool(origin)
        sent = self.now_ns()
        intended = sent if intended is None else intended
        try:
            conn = await self.client.request(
                pool, raw, head=method == "HEAD", want_headers=True, want_body=True
            )
        except RequestFailed as exc:
            self._record(name, intended, sent, 0, exc.error, len(raw), 0)
            return Response(0, [], b"", exc.error, str(exc))
        except asyncio.CancelledError:
            self._record(name, intended, sent, 0, _TIMEOUT, len(raw), 0)
            raise
        reader = conn.reader
        response = Response(reader.status, reader.headers, reader.body, None)
        self.client.release(pool, conn)
        if reader.body_too_large:
            response.error = ErrorClass.PROTOCOL.value
        elif reader.status >= 400:
            response.error = (
                ErrorClass.HTTP_5XX if reader.status >= 500 else ErrorClass.HTTP_4XX
            ).value
        written = sent
        if conn.setup is not None:  # this request opened the connection: its set-up first
            self.recorder.record_setup(name, conn.setup)
            conn.setup, written = None, conn.sent_ns
        self.recorder.record(
            Sample(
                name,
                intended,
                sent,
                self.now_ns(),
                reader.status,
                response.error,
                len(raw),
                conn.bytes_in - conn.start_bytes,
                written,
                conn.first_ns,
            )
        )
        return response

    def _record(
        self,
        name: str,
        intended: int,
        sent: int,
        status: int,
        error: str | None,
        sent_bytes: int,
        received: int,
    ) -> None:
        self.recorder.record(
            Sample(name, intended, sent, self.now_ns(), status, error, sent_bytes, received)
        )
