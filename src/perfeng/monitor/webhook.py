"""Alert notifications: Alertmanager's webhook payload (version 4), POSTed with retries.

One notification per transition (firing, then resolved), so a receiver sees each alert
once; a failing receiver is retried with exponential back-off (1 s, 2 s, 4 s, ... up to
``attempts``) on a worker of its own, so a slow or dead webhook never delays a probe. The
payload keys are Alertmanager's (prometheus.io/docs/alerting/latest/configuration/
#webhook_config), so receivers written for Alertmanager read it unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from perfeng.monitor.state import AlertEvent

ZERO_TIME = "0001-01-01T00:00:00Z"


def _iso(wall_s: float) -> str:
    return datetime.fromtimestamp(wall_s, UTC).isoformat().replace("+00:00", "Z")


def alert_labels(event: AlertEvent, target: str) -> dict[str, str]:
    return {
        "alertname": "PerfengSloBurnRate",
        "slo": event.slo.name,
        "slo_severity": event.severity,
        "target": target,
    }


def payload(event: AlertEvent, target: str, external_url: str) -> dict[str, Any]:
    labels = alert_labels(event, target)
    burn = "no probes" if event.burn_rate is None else f"{event.burn_rate:.3g}x"
    annotations = {
        "summary": f"{event.slo.text} on {target}: the error budget burns too fast",
        "description": f"burn rate {burn} (slo_severity={event.severity})",
    }
    fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    alert = {
        "status": event.status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _iso(event.started_wall_s),
        "endsAt": _iso(event.at_wall_s) if event.status == "resolved" else ZERO_TIME,
        "generatorURL": external_url,
        "fingerprint": fingerprint,
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="PerfengSloBurnRate",slo="{event.slo.name}"}}',
        "truncatedAlerts": 0,
        "status": event.status,
        "receiver": "perfeng",
        "groupLabels": {"alertname": labels["alertname"], "slo": event.slo.name},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": external_url,
        "alerts": [alert],
    }


def post(url: str, body: bytes, timeout_s: float) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        response.read()


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    last_error: str = ""


class Notifier:
    """Sends notifications in order on a background task, retrying each a few times."""

    def __init__(
        self,
        url: str,
        on_result: Callable[[str, str], None],
        attempts: int = 5,
        first_delay_s: float = 1.0,
        timeout_s: float = 5.0,
        send: Callable[[str, bytes, float], None] = post,
    ) -> None:
        self.url = url
        self.on_result = on_result  # (result, detail): "sent", "retried" or "failed"
        self.attempts = attempts
        self.first_delay_s = first_delay_s
        self.timeout_s = timeout_s
        self.send = send
        self.delivery = Delivery()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._work())

    def notify(self, body: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(json.dumps(body).encode())
        except asyncio.QueueFull:  # a receiver down for hours: keep the newest
            self._queue.get_nowait()
            self._queue.put_nowait(json.dumps(body).encode())
            self._record("failed", "queue full: the oldest notification was dropped")

    async def drain(self, timeout_s: float) -> None:
        """On stop: give the queued notifications a moment, then cancel the worker."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            body = await self._queue.get()
            try:
                await self._deliver(loop, body)
            finally:
                self._queue.task_done()

    async def _deliver(self, loop: asyncio.AbstractEventLoop, body: bytes) -> None:
        delay = self.first_delay_s
        for attempt in range(1, self.attempts + 1):
            try:
                await loop.run_in_executor(None, self.send, self.url, body, self.timeout_s)
                self._record("sent", "")
                return
            except (OSError, urllib.error.URLError, ValueError) as exc:
                why = str(getattr(exc, "reason", None) or exc)
                if attempt == self.attempts:
                    self._record("failed", why)
                    return
                self._record("retried", why)
            await asyncio.sleep(delay)
            delay *= 2

    def _record(self, result: str, detail: str) -> None:
        if result == "sent":
            self.delivery.sent += 1
        elif result == "retried":
            self.delivery.retried += 1
        else:
            self.delivery.failed += 1
            self.delivery.last_error = detail
        self.on_result(result, detail)
