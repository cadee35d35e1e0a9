"""``perfeng slo rules SPEC``: Prometheus rules for SLOs; ``perfeng slo report``: budgets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfeng.errors import ConfigError, ExitCode


def _spec(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from perfeng.model.slo import SpecError, parse_period_s, read_spec

    try:
        period = parse_period_s(args.period, "--period") if args.period else None
        return read_spec(Path(args.spec), period)
    except SpecError as exc:
        raise ConfigError(str(exc)) from None


def rules(args: argparse.Namespace) -> int:
    from perfeng.monitor.rules import render

    spec = _spec(args)
    text = render(spec)
    if args.out and args.out != "-":
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        count = sum(
            1 for line in text.splitlines() if line.lstrip().startswith(("- record", "- alert"))
        )
        print(
            f"perfeng: {count} rules for {len(spec.objectives)} SLO(s) ({spec.source} spec) "
            f"written to {args.out}; check them with: promtool check rules {args.out}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return int(ExitCode.OK)


def report(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    import time

    from perfeng.model.slo import SpecError, parse_period_s
    from perfeng.report import slo_budget
    from perfeng.workflows.slo_report import from_history, from_prometheus

    try:
        period = parse_period_s(args.period, "--period") if args.period else None
    except SpecError as exc:
        raise ConfigError(str(exc)) from None
    now = time.time()
    if args.source == "history":
        from perfeng.cli.history import parse_tags

        texts = ([args.spec] if args.spec else []) + list(args.slo)
        reports = from_history(texts, args.store, parse_tags(args.tag), period or 30 * 86400.0, now)
    else:
        if not args.spec:
            raise ConfigError("--from prometheus:// needs a spec file (its SLIs are PromQL)")
        reports = from_prometheus(args.spec, args.source, period, now)
    if args.format == "json":
        text = json.dumps([dataclasses.asdict(r) for r in reports], indent=1) + "\n"
    elif args.format == "md":
        text = slo_budget.markdown(reports)
    elif args.format == "html":
        text = slo_budget.page(reports)
    else:
        text = slo_budget.text(reports) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    return int(ExitCode.OK)
