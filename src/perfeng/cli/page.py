"""``perfeng page URL``: page loads in headless Chromium, their Web Vitals, budgets and
findings (docs/page.md). Parses, calls the workflow, prints."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from perfeng.errors import ExitCode
from perfeng.units import parse_duration_s


def run(args: argparse.Namespace) -> int:
    from perfeng.cli.history import check_save_flags
    from perfeng.workflows.output import check_writable, write_json
    from perfeng.workflows.page import PagePlan, check_plan, run_page

    plan = PagePlan(
        url=args.url,
        runs=args.runs,
        throttle=args.throttle,
        cpu_slowdown=args.cpu_slowdown,
        timeout_s=parse_duration_s(args.timeout),
        quiet_s=parse_duration_s(args.quiet_window),
        thresholds=tuple(args.threshold),
        budget=args.budget,
        argv=sys.argv[1:],
    )
    check_plan(plan)
    check_save_flags(args)
    for path in (args.out, args.junit):
        if path:
            check_writable(path)

    def progress(index: int, measured: Any) -> None:
        if not args.quiet:
            late = " (did not settle: timed out)" if measured.timed_out else ""
            lcp = "-" if measured.lcp_ms is None else f"{measured.lcp_ms:,.0f} ms"
            print(f"run {index + 1}/{plan.runs}: LCP {lcp}{late}", file=sys.stderr, flush=True)

    document, verdicts = run_page(plan, progress)
    if args.out:
        write_json(args.out, document)
    if args.junit:
        from perfeng.report.junit import render

        with open(args.junit, "w", encoding="utf-8") as out:
            out.write(render(document))
    if not args.quiet:
        from perfeng.report.page_text import render as text

        print(text(document), end="")
        if args.out:
            print(f"result written to {args.out}")
    failed = any(not v.passed for v in verdicts)
    code = ExitCode.THRESHOLD_FAILED if failed else ExitCode.OK
    if document.get("interrupted"):
        print(
            f"perfeng: stopped by {document['interrupted']} after {len(document['runs'])} of"
            f" {plan.runs} runs; the runs measured are kept",
            file=sys.stderr,
        )
        code = ExitCode.TERMINATED if document["interrupted"] == "SIGTERM" else ExitCode.INTERRUPTED
    if args.save and document.get("interrupted"):
        print("perfeng: not saved to the history: the runs were stopped early", file=sys.stderr)
    elif args.save:
        from perfeng.cli.history import save_run

        save_run(document, args.store, args.tag)
    return int(code)
