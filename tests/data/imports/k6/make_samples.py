"""Writes the k6 sample files of this folder (k6 is not installable here: see README.md).

The layouts are the ones k6 documents: the --out json lines ("Metric" and "Point" objects),
handleSummary's data object and the legacy --summary-export file. The figures are made up
but consistent: the two summaries hold the statistics of the points file's requests, with
percentiles by linear interpolation between closest ranks, as k6 computes them.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
START = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)
PHASES = ("http_req_connecting", "http_req_waiting", "http_req_receiving")


def _requests() -> list[dict[str, object]]:
    rng = random.Random(13)
    requests = []
    for index in range(60):
        name = "api" if index % 3 == 0 else "home"
        status, code = 200, None
        if name == "api" and index in (3, 21, 39):
            status = 500
        if index == 57:
            status, code = 0, "1212"  # dial: connection refused
        waiting = round(rng.uniform(2.0, 9.0) * (3 if name == "api" else 1), 6)
        receiving = round(rng.uniform(0.02, 0.3), 6)
        connecting = round(rng.uniform(0.1, 0.3), 6) if index < 5 else 0.0
        end = START + timedelta(milliseconds=50 * index + waiting)
        requests.append(
            {
                "name": name,
                "status": status,
                "code": code,
                "end": end,
                "waiting": waiting,
                "receiving": receiving,
                "connecting": connecting,
                "duration": round(waiting + receiving + 0.05, 6),
            }
        )
    return requests


def _tags(request: dict[str, object]) -> dict[str, object]:
    url = "http://127.0.0.1:8080/" + ("api" if request["name"] == "api" else "")
    tags = {
        "expected_response": "true" if request["status"] == 200 else "false",
        "group": "",
        "method": "GET",
        "name": request["name"],
        "proto": "HTTP/1.1",
        "scenario": "default",
        "status": str(request["status"]),
        "url": url,
    }
    if request["code"]:
        tags["error_code"] = request["code"]
    return tags


def _line(metric: str, request: dict[str, object], value: float) -> str:
    end = request["end"]
    assert isinstance(end, datetime)
    stamp = end.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123+00:00"  # k6 writes nanoseconds
    data = {"time": stamp, "value": value, "tags": _tags(request)}
    return json.dumps({"metric": metric, "type": "Point", "data": data})


def _metric(metric: str, kind: str, contains: str) -> str:
    data = {
        "name": metric,
        "type": kind,
        "contains": contains,
        "thresholds": [],
        "submetrics": None,
    }
    return json.dumps({"type": "Metric", "data": data, "metric": metric})


def _points(requests: list[dict[str, object]]) -> str:
    lines = [
        _metric("http_reqs", "counter", "default"),
        _metric("http_req_duration", "trend", "time"),
    ]
    lines += [_metric(p, "trend", "time") for p in PHASES]
    for request in requests:
        lines.append(_line("http_reqs", request, 1))
        lines.append(_line("http_req_duration", request, request["duration"]))  # type: ignore[arg-type]
        for phase in PHASES:
            lines.append(_line(phase, request, request[phase.removeprefix("http_req_")]))  # type: ignore[arg-type]
    return "\n".join(lines) + "\n"


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = pct / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _trend(values: list[float]) -> dict[str, float]:
    return {
        "avg": sum(values) / len(values),
        "min": min(values),
        "med": _percentile(values, 50),
        "max": max(values),
        "p(90)": _percentile(values, 90),
        "p(95)": _percentile(values, 95),
        "p(99)": _percentile(values, 99),
    }


def main() -> None:
    requests = _requests()
    (HERE / "points.json").write_text(_points(requests))
    durations = [float(r["duration"]) for r in requests]  # type: ignore[arg-type]
    failed = sum(1 for r in requests if r["status"] != 200)
    seconds = 3.06
    trend = _trend(durations)
    rate = len(requests) / seconds
    handle = {
        "root_group": {
            "name": "",
            "path": "",
            "id": "d41d8cd98f00b204e9800998ecf8427e",
            "groups": [],
            "checks": [],
        },
        "options": {
            "summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
            "summaryTimeUnit": "",
            "noColor": False,
        },
        "state": {"isStdOutTTY": False, "isStdErrTTY": False, "testRunDurationMs": seconds * 1000},
        "metrics": {
            "http_req_duration": {"type": "trend", "contains": "time", "values": trend},
            "http_reqs": {
                "type": "counter",
                "contains": "default",
                "values": {"count": len(requests), "rate": rate},
            },
            "http_req_failed": {
                "type": "rate",
                "contains": "default",
                "values": {
                    "rate": failed / len(requests),
                    "passes": failed,
                    "fails": len(requests) - failed,
                },
            },
            "data_received": {
                "type": "counter",
                "contains": "data",
                "values": {"count": 7200, "rate": 7200 / seconds},
            },
        },
    }
    (HERE / "handle_summary.json").write_text(json.dumps(handle, indent=2) + "\n")
    legacy = {
        "root_group": handle["root_group"],
        "metrics": {
            "http_req_duration": trend,
            "http_reqs": {"count": len(requests), "rate": rate},
            "http_req_failed": {
                "passes": failed,
                "fails": len(requests) - failed,
                "value": failed / len(requests),
            },
            "data_received": {"count": 7200, "rate": 7200 / seconds},
        },
    }
    (HERE / "summary_export.json").write_text(json.dumps(legacy, indent=4) + "\n")


if __name__ == "__main__":
    main()
