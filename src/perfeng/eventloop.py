"""The event loop every part of perfeng runs on: uvloop where installed, else asyncio's own."""

from __future__ import annotations

import asyncio


def new_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed (the engine's hot path is measured on it)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
