"""One page load in headless Chromium, measured: paint, layout, main thread and network.

The page's own observers (observe.js) keep First Contentful Paint, Largest Contentful Paint
with its element, layout shifts and long tasks; the Network domain gives every request's type,
status, bytes on the wire and timing phases. A load has settled when the load event has fired,
no request has been in flight and no long task or layout shift has happened for ``quiet_s``;
at ``timeout_s`` what was measured until then is kept, marked ``timed_out``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from perfeng.browser.cdp import Browser, BrowserError
from perfeng.errors import TargetUnreachable
from perfeng.model.page import LongTask, Observation, Resource, Shift

OBSERVER = (Path(__file__).parent / "observe.js").read_text(encoding="utf-8")
_TYPES = {
    "Document": "document",
    "Script": "script",
    "Stylesheet": "stylesheet",
    "Image": "image",
    "Font": "font",
    "Media": "media",
}


# A fixed window, so layout (and so CLS, which is relative to the viewport) is the same on every
# machine: Lighthouse's desktop size.
VIEWPORT = {"width": 1350, "height": 940, "deviceScaleFactor": 1, "mobile": False}


@dataclass(frozen=True)
class Throttle:
    """Network conditions for ``Network.emulateNetworkConditions`` (0: no limit)."""

    latency_ms: float
    download_kbps: float
    upload_kbps: float


# Latency is the round trip added to each request; throughput in kbit/s (1 kbit = 1,024 bits).
PRESETS: dict[str, Throttle] = {
    "none": Throttle(0.0, 0.0, 0.0),
    # Chrome DevTools' "Fast 3G", Lighthouse's devtools-throttled mobile: 150 ms RTT x 3.75,
    # 1.6 Mbit/s x 0.9 down, 750 kbit/s x 0.9 up.
    "fast-3g": Throttle(562.5, 1474.56, 675.0),
    # Lighthouse's "slow 4G" (mobileSlow4G) as it simulates it: 150 ms RTT, 1.6 Mbit/s down,
    # 750 kbit/s up.
    "slow-4g": Throttle(150.0, 1638.4, 750.0),
    # WebPageTest's "Cable": 28 ms RTT, 5 Mbit/s down, 1 Mbit/s up.
    "cable": Throttle(28.0, 5120.0, 1024.0),
}


class Stopped(Exception):
    """A stop was asked for (SIGINT, SIGTERM): raised where the browser can be closed."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.signal = name


@dataclass
class _Request:
    url: str
    type: str
    start_s: float
    status: int = 0
    end_s: float | None = None
    size: int = 0
    timing: dict[str, float] | None = None
    error: str | None = None
    response_s: float | None = None  # when its response's head reached the page


class _Network:
    """Requests as the Network domain's events tell them."""

    def __init__(self) -> None:
        self.requests: dict[str, _Request] = {}
        self.origin_s: float | None = None  # the document request's start
        self.last_change_s = time.monotonic()

    def take(self, event: dict[str, Any]) -> None:
        method, params = event.get("method", ""), event.get("params", {})
        ident = params.get("requestId", "")
        if method == "Network.requestWillBeSent":
            if ident in self.requests and params.get("redirectResponse"):
                ident = f"{ident}:{len(self.requests)}"  # keep the hop before the redirect
            kind = _TYPES.get(params.get("type", ""), "other")
            self.requests[ident] = _Request(params["request"]["url"], kind, params["timestamp"])
            if self.origin_s is None and kind == "document":
                self.origin_s = params["timestamp"]
        elif ident in self.requests:
            self._update(self.requests[ident], method, params)
        self.last_change_s = time.monotonic()

    @staticmethod
    def _update(request: _Request, method: str, params: dict[str, Any]) -> None:
        if method == "Network.responseReceived":
            response = params["response"]
            request.status, request.timing = int(response.get("status", 0)), response.get("timing")
            request.response_s = params.get("timestamp")
        elif method == "Network.loadingFinished":
            request.end_s, request.size = params["timestamp"], int(params["encodedDataLength"])
        elif method == "Network.loadingFailed":
            request.end_s, request.error = params["timestamp"], params.get("errorText", "failed")

    def document_ttfb_ms(self) -> float | None:
        """From the navigation's start to the document's response head, as the page got it:
        with network throttling this includes the added latency, which the page's own
        navigation timing (stamped before the throttle) does not."""
        for request in self.requests.values():
            if request.type == "document" and request.response_s and self.origin_s is not None:
                return round((request.response_s - self.origin_s) * 1000, 3)
        return None

    def in_flight(self) -> int:
        return sum(r.end_s is None for r in self.requests.values())

    def resources(self, page_url: str, blocking: dict[str, bool]) -> list[Resource]:
        origin = self.origin_s or min((r.start_s for r in self.requests.values()), default=0.0)
        host = _site(page_url)
        return [
            Resource(
                url=r.url,
                type=r.type,
                third_party=_site(r.url) != host,
                status=r.status,
                start_ms=round((r.start_s - origin) * 1000, 3),
                end_ms=round(((r.end_s or r.start_s) - origin) * 1000, 3),
                transfer_bytes=r.size,
                render_blocking=blocking.get(r.url, False),
                phases_ms=_phases(r, origin),
                error=r.error,
            )
            for r in sorted(self.requests.values(), key=lambda r: r.start_s)
            if r.url.startswith(("http:", "https:"))
        ]


def _site(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _phases(request: _Request, origin_s: float) -> dict[str, float]:
    """dns, connect, tls, ttfb and receive of one request, from Chromium's ResourceTiming
    (offsets in ms from ``requestTime``; -1 for a step that did not happen)."""
    t = request.timing
    if not t:
        return {}
    spans = {
        "dns": (t.get("dnsStart", -1), t.get("dnsEnd", -1)),
        "connect": (t.get("connectStart", -1), t.get("sslStart", -1)),
        "tls": (t.get("sslStart", -1), t.get("sslEnd", -1)),
        "ttfb": (t.get("sendEnd", -1), t.get("receiveHeadersEnd", -1)),
    }
    if spans["tls"][0] < 0:
        spans["connect"] = (t.get("connectStart", -1), t.get("connectEnd", -1))
    phases = {k: round(b - a, 3) for k, (a, b) in spans.items() if a >= 0 and b >= a}
    headers_s = t["requestTime"] + max(t.get("receiveHeadersEnd", 0.0), 0.0) / 1000
    if request.end_s is not None and request.end_s >= headers_s:
        phases["receive"] = round((request.end_s - headers_s) * 1000, 3)
    return phases


def measure(
    browser: Browser,
    url: str,
    *,
    throttle: Throttle,
    cpu_slowdown: float,
    timeout_s: float,
    quiet_s: float,
    stop: Callable[[], str | None] = lambda: None,
) -> Observation:
    """Load ``url`` once in ``browser`` (fresh: one browser per run) and measure it."""
    session = _open_tab(browser, throttle, cpu_slowdown)
    network = _Network()
    started = time.monotonic()
    navigated = browser.call("Page.navigate", {"url": url}, session)
    if navigated.get("errorText"):
        raise TargetUnreachable(f"{url} did not load: {navigated['errorText']}")
    seen = _settle(browser, session, network, started + timeout_s, quiet_s, stop)
    return _observation(url, network, seen["page"], timed_out=not seen["settled"])


def _open_tab(browser: Browser, throttle: Throttle, cpu_slowdown: float) -> str:
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session: str = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for method in ("Page.enable", "Network.enable", "Runtime.enable"):
        browser.call(method, None, session)
    browser.call("Network.setCacheDisabled", {"cacheDisabled": True}, session)
    browser.call("Emulation.setDeviceMetricsOverride", VIEWPORT, session)
    browser.call("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER}, session)
    if throttle.latency_ms or throttle.download_kbps or throttle.upload_kbps:
        browser.call(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": throttle.latency_ms,
                "downloadThroughput": throttle.download_kbps * 1024 / 8 or -1,
                "uploadThroughput": throttle.upload_kbps * 1024 / 8 or -1,
            },
            session,
        )
    if cpu_slowdown > 1:
        browser.call("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown}, session)
    return session


def _settle(
    browser: Browser,
    session: str,
    network: _Network,
    deadline: float,
    quiet_s: float,
    stop: Callable[[], str | None],
) -> dict[str, Any]:
    """Read events until the page is quiet or the deadline passes; the page's observations."""
    loaded, page = False, None
    while True:
        asked = stop()
        if asked:
            raise Stopped(asked)
        now = time.monotonic()
        if now >= deadline:
            return {"settled": False, "page": page or _observed(browser, session)}
        browser.pump(min(0.05, deadline - now))
        for event in browser.take_events():
            loaded = loaded or event.get("method") == "Page.loadEventFired"
            if event.get("method", "").startswith("Network."):
                network.take(event)
        if not loaded or network.in_flight() or time.monotonic() - network.last_change_s < quiet_s:
            continue
        page = _observed(browser, session)
        busy_ms = page["now_ms"] - page["last_activity_ms"]
        if page["paints"].get("first-contentful-paint") is not None and busy_ms >= quiet_s * 1000:
            return {"settled": True, "page": page}


def _observed(browser: Browser, session: str) -> dict[str, Any]:
    try:
        answer = browser.call(
            "Runtime.evaluate",
            {"expression": "window.__perfeng ? window.__perfeng() : null", "returnByValue": True},
            session,
            timeout_s=5.0,
        )
    except BrowserError:  # a page that hogs its main thread past the deadline
        return _NOTHING
    value = answer.get("result", {}).get("value")
    return json.loads(value) if isinstance(value, str) else _NOTHING


_NOTHING: dict[str, Any] = {
    "paints": {},
    "lcp": None,
    "shifts": [],
    "tasks": [],
    "last_activity_ms": 0.0,
    "now_ms": 0.0,
    "ttfb_ms": None,
    "dom_content_loaded_ms": None,
    "load_ms": None,
    "render_blocking": {},
}


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _observation(
    url: str, network: _Network, page: dict[str, Any], *, timed_out: bool
) -> Observation:
    lcp = page.get("lcp") or {}
    return Observation(
        ttfb_ms=network.document_ttfb_ms() or _ms(page.get("ttfb_ms")),
        fcp_ms=_ms(page["paints"].get("first-contentful-paint")),
        lcp_ms=_ms(lcp.get("time")),
        lcp_element=lcp.get("element"),
        lcp_url=lcp.get("url"),
        dom_content_loaded_ms=_ms(page.get("dom_content_loaded_ms")),
        load_ms=_ms(page.get("load_ms")),
        resources=network.resources(url, page.get("render_blocking") or {}),
        shifts=[Shift(**s) for s in page["shifts"]],
        long_tasks=[LongTask(**t) for t in page["tasks"]],
        timed_out=timed_out,
    )
