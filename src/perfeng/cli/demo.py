"""``perfeng demo``: start a built-in target on 127.0.0.1 and load-test it (about 15 s).

The target runs in its own process so it does not share the generator's interpreter. A
realistic demo service with textbook behaviours replaces it in a later version.
"""

from __future__ import annotations

import argparse

from perfeng.errors import UsageError


def _scenario(url: str, duration_s: float) -> object:
    from perfeng.engine.workloads import RampingRate
    from perfeng.scenario.model import Check, RequestSpec, Scenario

    ramp = max(duration_s / 5, 0.5)
    workload = RampingRate(
        stages=((ramp, 400.0), (duration_s - 2 * ramp, 400.0), (ramp, 0.0)), start_rate=50
    )
    requests = (
        RequestSpec(name="home", url="/", weight=3, checks=(Check("status", frozenset({200})),)),
        RequestSpec(
            name="api",
            url="/json",
            checks=(Check("json_path", path="ok", expected=True),),
        ),
        RequestSpec(name="slow", url="/delay?ms=20"),
    )
    return Scenario(
        base_url=url,
        requests=requests,
        workloads=(workload,),
        thresholds=("p99<100ms", "error_rate<1%", "p99{name=home}<50ms"),
        source="perfeng demo",
    )


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
    from perfeng.cli.load import run_prepared
    from perfeng.testing.servers import start_in_process
    from perfeng.units import parse_duration_s

    duration = parse_duration_s(args.duration)
    if duration < 3:
        raise UsageError("demo --duration must be at least 3s")
    with start_in_process("fast") as target:
        print(
            f"perfeng demo: built-in target at {target.url} (pid {target.pid}); "
            f"ramping load for {duration:g}s"
        )
        options = argparse.Namespace(grace="5s", seed=None, out=args.out, quiet=False, json=False)
        return run_prepared(options, _scenario(target.url, duration))
