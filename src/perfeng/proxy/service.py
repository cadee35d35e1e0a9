"""``perfeng proxy`` as a process: the proxy and its control API until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence

from perfeng.errors import UsageError
from perfeng.eventloop import new_loop
from perfeng.proxy.control import ControlServer
from perfeng.proxy.server import FaultProxy
from perfeng.proxy.spec import FaultSpec


def parse_address(text: str, what: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port)."""
    host, colon, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(f"invalid {what} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host, int(port_text)


def serve(
    proxy: FaultProxy,
    control: tuple[str, int] | None,
    faults: Sequence[tuple[str, FaultSpec]],
    on_ready: Callable[[FaultProxy, ControlServer | None], None],
) -> str:
    """Run until a signal; returns the signal's name."""
    loop = new_loop()
    try:
        return loop.run_until_complete(_main(proxy, control, faults, on_ready))
    finally:
        loop.close()


async def _main(
    proxy: FaultProxy,
    control: tuple[str, int] | None,
    faults: Sequence[tuple[str, FaultSpec]],
    on_ready: Callable[[FaultProxy, ControlServer | None], None],
) -> str:
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[str] = loop.create_future()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stop, stopped, signal.Signals(signum).name)
    try:
        await proxy.start()
        server = await ControlServer(proxy, control).start() if control else None
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc.strerror or exc}") from None
    for name, spec in faults:
        proxy.add(name, spec)
    on_ready(proxy, server)
    try:
        return await stopped
    finally:
        if server is not None:
            await server.stop()
        await proxy.stop()


def _stop(stopped: asyncio.Future[str], name: str) -> None:
    if not stopped.done():
        stopped.set_result(name)
