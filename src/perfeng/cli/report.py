"""``perfeng report``: render a result document (Markdown and JUnit today)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfeng.errors import ConfigError, ExitCode, UsageError


def run(args: argparse.Namespace) -> int:
    from perfeng.model.result import DocumentError, load_document

    if args.format == "html":
        raise UsageError(
            "the HTML report is not built yet in this version; use --format md or --format junit"
        )
    if len(args.inputs) != 1:
        raise UsageError("comparing two runs is not built yet; give one result")
    try:
        document = load_document(args.inputs[0])
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None
    if args.format == "md":
        from perfeng.report.markdown import render
    else:
        from perfeng.report.junit import render
    text = render(document)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
    return int(ExitCode.OK)
