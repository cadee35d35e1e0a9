"""``perfeng demo``: the main job. Start the demo service on 127.0.0.1, assess it under a
ramping mix of its endpoints, write the result and the HTML report, and stop the service.

``perfeng demo serve`` runs the service alone, for one's own experiments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from perfeng.errors import UsageError

DEFAULT_S = 60.0
QUICK_S = 20.0
# Endpoint weights of the mix: mostly cheap calls, with enough of each behaviour to show it.
MIX = (("fast", 4), ("io", 3), ("cpu", 1), ("lock", 1), ("pool", 2), ("flaky", 1), ("leak", 1))
PEAK_RATE = 300.0  # enough to saturate /lock (200/s alone) and press on /cpu, on two cores
STEP_RATE = 150.0  # each endpoint alone, at 75 % of /lock's and /cpu's ceiling (200/s)


def _scenario(url: str, duration_s: float) -> object:
    from perfeng.engine.workloads import RampingRate
    from perfeng.scenario.model import Check, RequestSpec, Scenario

    ramp, tail = duration_s * 0.4, min(2.0, duration_s * 0.2)
    workload = RampingRate(
        stages=((ramp, PEAK_RATE), (duration_s - ramp - tail, PEAK_RATE), (tail, PEAK_RATE / 2)),
        start_rate=10,
    )
    ok = (Check("status", frozenset({200})),)
    requests = tuple(
        RequestSpec(name=name, url=f"/{name}", weight=weight, checks=ok) for name, weight in MIX
    )
    return Scenario(
        base_url=url,
        requests=requests,
        workloads=(workload,),
        thresholds=("p99<250ms", "error_rate<5%", "p99{name=fast}<50ms"),
        source="perfeng demo",
    )


def _duration(args: argparse.Namespace) -> float:
    from perfeng.units import parse_duration_s

    if args.duration is None:
        return QUICK_S if args.quick else DEFAULT_S
    duration = parse_duration_s(args.duration)
    if duration < 5:
        raise UsageError("demo --duration must be at least 5s")
    return duration


def _report(run_json: Path, html: Path) -> None:
    from perfeng.cli.report import run as report

    report(argparse.Namespace(inputs=[str(run_json)], format="html", output=str(html)))


def _step(url: str, name: str, seconds: float) -> object:
    """One endpoint alone at a steady rate: its own behaviour, without the others' noise."""
    from perfeng.engine.workloads import ConstantRate
    from perfeng.scenario.model import RequestSpec, Scenario

    return Scenario(
        base_url=url,
        requests=(RequestSpec(name=f"step {name}", url=f"/{name}"),),
        workloads=(ConstantRate(rate=STEP_RATE, duration_s=seconds, name=f"step-{name}"),),
        source="perfeng demo",
    )


def _steps(url: str, seconds: float) -> tuple[list[dict[str, Any]], str | None]:
    from perfeng.cli.load import execute

    quiet = argparse.Namespace(grace="2s", seed=None, out=None, quiet=True, json=False)
    documents = []
    for name, _ in MIX:
        document, stop = execute(quiet, _step(url, name, seconds), (), 2.0)
        documents.append(document)
        latency = document["summary"]["latency_ms"]
        print(
            f"  step /{name} at {STEP_RATE:g}/s: p50 {latency['p50']} ms, p99 "
            f"{latency['p99']} ms, errors {document['summary']['errors']}",
            flush=True,
        )
        if stop is not None:
            return documents, stop
    return documents, None


def _combined(documents: list[dict[str, Any]], thresholds: Any) -> dict[str, Any]:
    from perfeng.gates import evaluate_all
    from perfeng.model.merge import merge_documents
    from perfeng.workflows.metadata import collect

    metas = [d["metadata"] for d in documents]
    start = min(m["start_epoch_s"] for m in metas)
    merged = merge_documents(
        documents, collect(start, max(m["end_epoch_s"] for m in metas), sys.argv[1:])
    )
    merged["scenario"] = documents[0].get("scenario", {})
    merged["model"] = "open"
    merged["notes"] = ["a ramping mix of the endpoints, then each endpoint alone ('step ...')"]
    merged["interrupted"] = next(
        (d.get("interrupted") for d in documents if d.get("interrupted")), None
    )
    summary = merged["summary"]
    summary["thresholds"] = [v.to_dict() for v in evaluate_all(thresholds, summary)]
    return merged


def _assess(args: argparse.Namespace) -> int:
    from perfeng.cli.load import execute, finish
    from perfeng.demo.server import start_process
    from perfeng.gates import parse_thresholds

    duration = _duration(args)
    mix_s, step_s = duration / 2, max(duration / 2 / len(MIX), 1.0)
    out = Path(args.out)
    run_json, html = out / "run.json", out / "report.html"
    loud = argparse.Namespace(grace="5s", seed=None, out=str(run_json), quiet=False, json=False)
    service = start_process()
    try:
        print(
            f"perfeng demo: demo service at {service.url}; {mix_s:g}s ramping to "
            f"{PEAK_RATE:g} req/s over a mix of its endpoints, then {step_s:g}s on each "
            f"endpoint alone at {STEP_RATE:g} req/s",
            flush=True,
        )
        scenario: Any = _scenario(service.url, mix_s)
        thresholds = parse_thresholds(scenario.thresholds)
        mix, stop = execute(loud, scenario, thresholds, 5.0)
        steps: list[dict[str, Any]] = []
        if stop is None:
            steps, stop = _steps(service.url, step_s)
    finally:
        service.stop()
    code = finish(loud, _combined([mix, *steps], thresholds), stop)
    _report(run_json, html)
    return code


def serve(port: int) -> int:
    from perfeng.demo.app import ROUTES, Demo
    from perfeng.demo.server import HOST, bind
    from perfeng.demo.server import serve as run_server

    if not 0 <= port <= 65535:
        raise UsageError(f"invalid port {port}: use 0 to 65535")
    sock = bind(port)
    state = Demo()  # calibrates /cpu (a few ms) before the service says it is ready
    bound = sock.getsockname()[1]
    print(
        f"perfeng demo service on http://{HOST}:{bound}/ (endpoints: "
        f"{' '.join(sorted(r for r in ROUTES if r != '/'))}); Ctrl-C stops it",
        flush=True,
    )
    run_server(sock, state)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "serve":
        return serve(args.port)
    return _assess(args)
