"""Faults during a load run: the proxy in front of the target, the faults switched on and
off on a timeline, and the windows and their outcomes in the result (docs/faults.md).

``run_load`` calls ``faults_in_front`` once; everything about faults lives here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from perfeng.analysis.faults import fault_outcomes, faults_by_second
from perfeng.errors import UsageError
from perfeng.model.faults import FaultWindow, to_builtins
from perfeng.proxy.embedded import ProxyThread
from perfeng.proxy.server import FaultEvent, FaultProxy
from perfeng.proxy.spec import FaultSpec
from perfeng.proxy.timeline import TimedFault


class Injector:
    """The running proxy and the timeline it follows."""

    def __init__(self, running: ProxyThread, faults: Sequence[TimedFault]) -> None:
        self.running = running
        self.faults = tuple(faults)

    def arm(self) -> None:
        """Start the timeline now: call just before the load starts."""
        base = self.running.call(self.running.loop.time)
        for index, fault in enumerate(self.faults):
            name = f"{fault.spec.kind}-{index + 1}"
            self._at(base + fault.at_s, name, fault.spec, add=True)
            if fault.for_s is not None:
                self._at(base + fault.at_s + fault.for_s, name, fault.spec, add=False)

    def _at(self, when: float, name: str, spec: FaultSpec, *, add: bool) -> None:
        proxy = self.running.proxy

        def act() -> None:
            if add:
                proxy.add(name, spec)
            else:
                proxy.remove(name)

        self.running.at(when, act)

    def events(self) -> list[FaultEvent]:
        return list(self.running.proxy.events)  # read after the proxy's thread ended

    def attach(self, document: dict[str, Any]) -> None:
        """``faults`` (the plan and the proxy) and ``summary.faults`` on the result."""
        start_s = float(document["metadata"]["start_epoch_s"])
        end_s = start_s + float(document["metadata"].get("duration_s") or 0.0)
        windows = windows_of(self.events(), start_s, end_s)
        document["faults"] = {
            "plan": [fault.to_dict() for fault in self.faults],
            "proxy": {
                "address": "{}:{}".format(*self.running.address),
                "stats": self.running.proxy.stats.to_dict(),
            },
            "windows": to_builtins(windows),
        }
        summary = document["summary"]
        summary["faults"] = to_builtins(fault_outcomes(summary["timeseries"], windows))
        marks = faults_by_second(summary["timeseries"], windows)
        for entry, faults in zip(summary["timeseries"], marks, strict=True):
            if faults:
                entry["faults"] = faults  # the seconds of a fault window, marked


def windows_of(events: Sequence[FaultEvent], start_s: float, end_s: float) -> list[FaultWindow]:
    """Each add paired with its remove (or the run's end), in seconds from the run's start;
    windows that began after the run ended are left out."""
    opened: dict[str, FaultEvent] = {}
    windows = []
    for event in events:
        if event.action == "add":
            opened[event.name] = event
        elif event.name in opened:
            windows.append(_window(opened.pop(event.name), event.wall_s, start_s))
    windows += [_window(event, end_s, start_s) for event in opened.values()]
    return sorted((w for w in windows if w.start_s < end_s - start_s), key=lambda w: w.start_s)


def _window(added: FaultEvent, until_s: float, start_s: float) -> FaultWindow:
    return FaultWindow(
        kind=added.spec.kind,
        fault=added.spec.text,
        start_s=round(max(added.wall_s - start_s, 0.0), 3),
        end_s=round(max(until_s - start_s, 0.0), 3),
    )


class FaultRun:
    """The proxy in front of the target for one run (nothing at all without faults)."""

    def __init__(self, scenario: Any, running: ProxyThread | None, faults: Sequence[TimedFault]):
        self.scenario = scenario if running is None else _through(scenario, running.address)
        self.running = running
        self.injector = None if running is None else Injector(running, faults)

    @classmethod
    def start(cls, scenario: Any, faults: Sequence[TimedFault], seed: int | None) -> FaultRun:
        """``faults`` (``--fault``) after the scenario's own ``[[faults]]``."""
        faults = (*getattr(scenario, "faults", ()), *faults)
        if not faults:
            return cls(scenario, None, ())
        from perfeng.workflows.load import target_address

        if scenario.base_url.lower().startswith("https://"):
            raise UsageError("--fault: https targets are not supported (the proxy is plain TCP)")
        running = ProxyThread(FaultProxy(target_address(scenario.base_url), seed=seed))
        running.start()
        return cls(scenario, running, faults)

    def arm(self) -> None:
        if self.injector is not None:
            self.injector.arm()

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()

    def attach(self, document: dict[str, Any], thresholds: Sequence[Any]) -> None:
        """The windows and outcomes on a finished run; thresholds judged again with them."""
        if self.injector is None:
            return
        from perfeng.gates import evaluate_all

        self.injector.attach(document)
        summary = document["summary"]
        summary["thresholds"] = [v.to_dict() for v in evaluate_all(list(thresholds), summary)]


def _through(scenario: Any, address: tuple[str, int]) -> Any:
    """The scenario with its base URL's host:port replaced by the proxy's; each request keeps
    the original Host header."""
    from perfeng.engine.http.request import join_url, split_url

    origin, _ = split_url(join_url(scenario.base_url, "/"))
    proxied = f"http://{address[0]}:{address[1]}"
    requests = []
    for request in scenario.requests:
        url = request.url
        if url.lower().startswith(str(origin).lower()):
            url = proxied + url[len(str(origin)) :]
        elif "://" in url:
            requests.append(request)  # another host: not behind the proxy
            continue
        headers = request.headers
        if not any(name.lower() == "host" for name, _ in headers):
            headers = (("Host", origin.host_header), *headers)
        requests.append(dataclasses.replace(request, url=url, headers=headers))
    base = (
        proxied + scenario.base_url[len(str(origin)) :]
        if _same(scenario.base_url, origin)
        else proxied
    )
    return dataclasses.replace(scenario, base_url=base, requests=tuple(requests))


def _same(url: str, origin: Any) -> bool:
    return url.lower().startswith(str(origin).lower())
