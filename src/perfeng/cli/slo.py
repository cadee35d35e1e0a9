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
