"""``/page``: a web page with the problems ``perfeng page`` is made to find, each planted on
purpose and said here: a render-blocking script (answered after 150 ms), a stylesheet, a large
image that becomes the Largest Contentful Paint (280 KiB, answered after 300 ms), a banner
inserted above the content 800 ms after load (a layout shift of 0.116 in the 1350 x 940
window), and a 200 ms long task on the main thread at 1 s (Total Blocking Time 150 ms)."""

from __future__ import annotations

import asyncio
import functools
import struct
import zlib

HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perfeng demo page</title>
<link rel="stylesheet" href="/page/style.css">
<script src="/page/app.js"></script>
</head><body>
<h1>perfeng demo page</h1>
<p>Each problem on this page is planted; <code>perfeng page</code> should name every one.</p>
<img id="hero" src="/page/hero.png" alt="a large picture" width="480" height="200">
<p>The end of the content.</p>
<script>
addEventListener("load", () => {
  setTimeout(() => {
    const banner = document.createElement("div");
    banner.id = "banner";
    banner.style.height = "500px";
    banner.textContent = "A banner that arrived late";
    document.body.insertBefore(banner, document.body.firstChild);
  }, 800);
  setTimeout(() => { const t = performance.now(); while (performance.now() - t < 200) {} }, 1000);
});
</script>
</body></html>
"""
CSS = b"body { font-family: sans-serif; margin: 2em; } h1 { color: #2563eb; }\n"
SCRIPT = b"window.demoReady = true;\n"
SCRIPT_DELAY_S = 0.150
IMAGE_DELAY_S = 0.300


@functools.cache
def hero_png(width: int = 480, height: int = 200) -> bytes:
    """A noisy picture stored without compression (zlib level 0): about 280 KiB on the wire."""
    seed, rows = 12345, []
    for _ in range(height):
        row = bytearray(1 + width * 3)
        for i in range(1, len(row)):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            row[i] = seed >> 23
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(rows), 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def _after(delay_s: float, body: bytes) -> bytes:
    await asyncio.sleep(delay_s)
    return body


async def _hero() -> bytes:
    return await _after(IMAGE_DELAY_S, hero_png())


async def _html() -> bytes:
    return HTML


async def _css() -> bytes:
    return CSS


async def _script() -> bytes:
    return await _after(SCRIPT_DELAY_S, SCRIPT)


PAGE_ROUTES = {
    "/page": (b"text/html; charset=utf-8", _html),
    "/page/style.css": (b"text/css", _css),
    "/page/app.js": (b"text/javascript", _script),
    "/page/hero.png": (b"image/png", _hero),
}
