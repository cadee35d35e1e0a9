"""``perfeng assess``: baseline, capacity, diagnosis and verdict in one command
(workflows/assess.py); writes DIR/assessment.json and DIR/report.html."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfeng.errors import ExitCode, UsageError

MIN_BUDGET_S = 30.0


def run(args: argparse.Namespace) -> int:
    from perfeng.cli.capacity import _fraction, base_scenario
    from perfeng.cli.live import LiveProgress
    from perfeng.cli.load import say_watching, watching_of
    from perfeng.gates import parse_thresholds
    from perfeng.units import parse_duration_s, parse_rate
    from perfeng.workflows.assess import AssessSettings, assess, document_of
    from perfeng.workflows.load import target
    from perfeng.workflows.output import check_writable, write_json

    if not parse_thresholds(args.slo):
        raise UsageError("give at least one --slo, e.g. --slo 'p99<200ms'")
    budget = parse_duration_s(args.budget)
    if budget < MIN_BUDGET_S:
        raise UsageError(f"--budget {args.budget}: an assessment needs at least 30s")
    resolution = _fraction(args.resolution, "--resolution")
    out = Path(args.out)
    result, html = out / "assessment.json", out / "report.html"
    check_writable(str(result))
    live = LiveProgress(sys.stderr, enabled=not args.quiet)
    settings = AssessSettings(
        slos=list(args.slo),
        budget_s=budget,
        start=parse_rate(args.start),
        maximum=parse_rate(args.max),
        resolution=resolution or 0.1,
        on_event=(lambda line: None) if args.quiet else lambda line: print(line, flush=True),
        on_progress=live.update,
        argv=sys.argv[1:],
        target=args.target,
    )
    if not 0 < settings.start <= settings.maximum:
        raise UsageError("the start rate must be above 0 and at most the maximum")
    scenario = base_scenario(args)
    watching = watching_of(args, log=str(out / "target.log"))
    with live:
        if watching is None:
            assessment = assess(scenario, settings)
        else:
            with target(watching, scenario.base_url) as watched:
                if not args.quiet:
                    say_watching(watched)
                assessment = assess(scenario, settings, watched)
    write_json(str(result), document_of(assessment))
    _show(assessment, args.quiet)
    _report(result, html, args.quiet)
    return int(_exit(assessment))


def _show(assessment: object, quiet: bool) -> None:
    if quiet:
        return
    from perfeng.model.watch import to_builtins
    from perfeng.report.terminal import print_findings

    data = to_builtins(assessment)
    assert isinstance(data, dict)
    print(f"\nverdict: perfeng finds that {data['target']} {data['verdict']}")
    print_findings(data, sys.stdout)


def _report(result: Path, html: Path, quiet: bool) -> None:
    from perfeng.cli.report import run as report

    report(argparse.Namespace(inputs=[str(result)], format="html", output=str(html), quiet=quiet))


def _exit(assessment: object) -> ExitCode:
    interrupted = getattr(assessment, "interrupted", None)
    if interrupted == "SIGINT":
        return ExitCode.INTERRUPTED
    if interrupted == "SIGTERM":
        return ExitCode.TERMINATED
    if getattr(assessment, "sustainable_rps", None) is None:
        return ExitCode.THRESHOLD_FAILED
    return ExitCode.OK
