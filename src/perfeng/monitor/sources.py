"""Where error-budget reports read their events: the history database (the monitor's saved
periods) or a Prometheus server's HTTP API (``/api/v1/query_range``)."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from perfeng.errors import ConfigError, TargetUnreachable
from perfeng.gates.budget import Bucket
from perfeng.model import histogram as hdr
from perfeng.model.slo import WINDOW, Objective
from perfeng.monitor.state import MonitorSlo

MAX_RESULTS = 100_000


def period_buckets(document: dict[str, Any], slo: MonitorSlo) -> Bucket | None:
    """One saved period of probes as a bucket of good and bad events for ``slo``."""
    summary = document.get("summary") or {}
    meta = document.get("metadata") or {}
    start, end = meta.get("start_epoch_s"), meta.get("end_epoch_s")
    total = summary.get("requests") or 0
    if not total or start is None or end is None:
        return None
    if slo.threshold_ms is None:
        return Bucket(start, end, total, summary.get("errors") or 0)
    encoded = ((summary.get("histograms") or {}).get("all") or {}).get("latency")
    slow = 0
    if encoded:
        limit_us = slo.threshold_ms * 1000
        slow = sum(n for value, n in hdr.recorded(hdr.decode(encoded)) if value >= limit_us)
    timeouts = (summary.get("errors_by_class") or {}).get("timeout") or 0
    return Bucket(start, end, total, max(slow, timeouts))


def history_buckets(
    store_url: str | None, slo: MonitorSlo, tags: dict[str, str], since_s: float
) -> list[Bucket]:
    from perfeng.store import open_store

    buckets = []
    with open_store(store_url) as store:
        for entry in store.list(limit=MAX_RESULTS, kind="run"):
            if any(entry.tags.get(k) != v for k, v in tags.items()):
                continue
            document = store.get(entry.id)
            bucket = period_buckets(document, slo)
            if bucket is not None and bucket.end_s > since_s:
                buckets.append(bucket)
    return sorted(buckets, key=lambda b: b.start_s)


def prometheus_base(url: str) -> str:
    """``prometheus://HOST:PORT`` (or http(s)://...) as the API's base URL."""
    if url.startswith("prometheus://"):
        url = "http://" + url.removeprefix("prometheus://")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"invalid --from {url!r}: use history or prometheus://HOST:PORT")
    return url.rstrip("/")


def query_range(base: str, query: str, start: float, end: float, step: float) -> list[Any]:
    """The matrix of ``query`` over [start, end]; one line on failure."""
    params = urllib.parse.urlencode(
        {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"}
    )
    url = f"{base}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = _error_of(exc)
        raise ConfigError(f"Prometheus at {base} refused the query: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        raise TargetUnreachable(f"cannot reach Prometheus at {base}: {why}") from None
    except ValueError:
        raise ConfigError(f"Prometheus at {base} answered something that is not JSON") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        raise ConfigError(f"Prometheus at {base} answered an error: {body!r:.200}")
    result = (body.get("data") or {}).get("result")
    return result if isinstance(result, list) else []


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("error") or exc)
    except (ValueError, OSError):
        return str(exc)


def _summed(matrix: list[Any]) -> dict[float, float]:
    """Values by timestamp, summed over the series (NaN, from 0/0, counts as nothing)."""
    sums: dict[float, float] = {}
    for series in matrix:
        for stamp, text in series.get("values") or []:
            value = float(text)
            if math.isfinite(value):
                sums[float(stamp)] = sums.get(float(stamp), 0.0) + value
    return sums


def prometheus_buckets(
    base: str, objective: Objective, now_s: float, step_s: float
) -> list[Bucket]:
    """Buckets of ``step_s`` over the period: event rates over each step, times the step."""
    start = now_s - objective.period_s + step_s
    window = _duration(step_s)
    if objective.error_ratio_query is not None:
        query = objective.error_ratio_query.replace(WINDOW, window)
        ratios = _summed(query_range(base, query, start, now_s, step_s))
        return [Bucket(t - step_s, t, 1.0, 0.0, ratio=r) for t, r in sorted(ratios.items())]
    assert objective.error_query is not None and objective.total_query is not None
    totals = _summed(
        query_range(base, objective.total_query.replace(WINDOW, window), start, now_s, step_s)
    )
    errors = _summed(
        query_range(base, objective.error_query.replace(WINDOW, window), start, now_s, step_s)
    )
    return [
        Bucket(t - step_s, t, rate * step_s, errors.get(t, 0.0) * step_s)
        for t, rate in sorted(totals.items())
        if rate > 0
    ]


def _duration(seconds: float) -> str:
    from perfeng.gates.slo import prometheus_duration

    return prometheus_duration(seconds)
