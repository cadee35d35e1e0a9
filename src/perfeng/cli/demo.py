"""``perfeng demo``: the main job. Start the demo service on 127.0.0.1, assess it under a
ramping mix of its endpoints, write the result and the HTML report, and stop the service.

``perfeng demo serve`` runs the service alone, for one's own experiments.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from perfeng.errors import UsageError

DEFAULT_S = 60.0
QUICK_S = 20.0
# Endpoint weights of the mix: mostly cheap calls, with enough of each behaviour to show it.
MIX = (("fast", 4), ("io", 3), ("cpu", 1), ("lock", 1), ("pool", 2), ("flaky", 1), ("leak", 1))
PEAK_RATE = 300.0  # enough to saturate /lock (200/s alone) and press on /cpu, on two cores


def _scenario(url: str, duration_s: float) -> object:
    from perfeng.engine.workloads import RampingRate
    from perfeng.scenario.model import Check, RequestSpec, Scenario

    ramp = duration_s * 0.4
    workload = RampingRate(
        stages=((ramp, PEAK_RATE), (duration_s - ramp - 2, PEAK_RATE), (2.0, PEAK_RATE / 2)),
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


def _assess(args: argparse.Namespace) -> int:
    from perfeng.cli.load import run_prepared
    from perfeng.demo.server import start_process

    duration = _duration(args)
    out = Path(args.out)
    run_json, html = out / "run.json", out / "report.html"
    service = start_process()
    try:
        print(
            f"perfeng demo: demo service at {service.url}; assessing it for {duration:g}s "
            f"(ramping to {PEAK_RATE:g} req/s over a mix of its endpoints)",
            flush=True,
        )
        options = argparse.Namespace(
            grace="5s", seed=None, out=str(run_json), quiet=False, json=False
        )
        code = run_prepared(options, _scenario(service.url, duration))
    finally:
        service.stop()
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
