"""``perfeng demo``: the main job. Start the demo service on 127.0.0.1, diagnose each endpoint
under a rising load (workflows/demo.py), write the assessment and the HTML report, and stop
the service.

``perfeng demo serve`` runs the service alone, for one's own experiments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from perfeng.errors import ExitCode, UsageError


def _seconds(args: argparse.Namespace) -> float:
    """Seconds per endpoint: --duration is the whole demo's load time, split evenly."""
    from perfeng.units import parse_duration_s
    from perfeng.workflows.demo import DEFAULT_S, ENDPOINTS, QUICK_S

    if args.duration is None:
        return QUICK_S if args.quick else DEFAULT_S
    total = parse_duration_s(args.duration)
    if total < 2 * len(ENDPOINTS):
        raise UsageError(f"demo --duration must be at least {2 * len(ENDPOINTS)}s")
    return total / len(ENDPOINTS)


def _assess(args: argparse.Namespace) -> int:
    from perfeng.cli.live import LiveProgress
    from perfeng.demo.server import start_process
    from perfeng.model.watch import to_builtins
    from perfeng.workflows.demo import ENDPOINTS, QUICK_ENDPOINTS, DemoSettings, run_demo
    from perfeng.workflows.output import check_writable, write_json

    seconds = _seconds(args)
    out = Path(args.out)
    result, html = out / "assessment.json", out / "report.html"
    check_writable(str(result))
    live = LiveProgress(sys.stderr, enabled=True)
    service = start_process()
    try:
        print(
            f"perfeng demo: the demo service runs at {service.url} (PID "
            f"{service.process.pid}). Each endpoint gets a rising load while perfeng watches "
            "the service's CPU, memory and threads and profiles it with py-spy; then it says "
            "what limits that endpoint.",
            flush=True,
        )
        settings = DemoSettings(
            seconds=seconds,
            endpoints=QUICK_ENDPOINTS if args.quick else tuple(p for p, _ in ENDPOINTS),
            on_event=lambda line: print(line, flush=True),
            on_progress=live.update,
            argv=sys.argv[1:],
        )
        with live:
            assessment = run_demo(service.url, service.process.pid, settings)
    finally:
        service.stop()
    write_json(str(result), to_builtins(assessment))  # type: ignore[arg-type]
    _print_lessons(assessment)
    _report(result, html)
    return int(ExitCode.INTERRUPTED if assessment.interrupted else ExitCode.OK)


def _print_lessons(assessment: Any) -> None:
    print("\nWhat the demo shows:")
    for item in assessment.lessons:
        print(f"  {item.path:<7} {item.title}")
        if item.lesson:
            print(f"          {item.lesson}")
    for finding in assessment.findings:
        for where in finding.where[:1]:
            place = where.file + (f":{where.line}" if where.line else "")
            code = f" ({where.code})" if where.code else ""
            print(f"  {finding.name}: the profile points at {where.function} in {place}{code}")


def _report(result: Path, html: Path) -> None:
    from perfeng.cli.report import run as report

    report(argparse.Namespace(inputs=[str(result)], format="html", output=str(html)))


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
        f"{' '.join(sorted([*(r for r in ROUTES if r != '/'), '/page']))}); Ctrl-C stops it",
        flush=True,
    )
    run_server(sock, state)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "serve":
        return serve(args.port)
    return _assess(args)
