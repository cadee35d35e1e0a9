"""``perfeng diagnose RESULT``: the ranked findings of an existing run result (or of an
assessment's diagnosis run), computed again by analysis/diagnose.py."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from perfeng.errors import ConfigError, ExitCode


def _run_document(path: str) -> dict[str, Any]:
    from perfeng.model.assessment import FORMAT as ASSESSMENT
    from perfeng.model.result import DocumentError, check_document, read_json

    try:
        document = read_json(path)
        if isinstance(document, dict) and document.get("format") == ASSESSMENT:
            runs = document.get("runs") or {}
            document = runs.get("diagnosis") or next(iter(runs.values()), None)
            if document is None:
                raise DocumentError(f"{path}: the assessment holds no run to diagnose")
        check_document(document, path)
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None
    assert isinstance(document, dict)
    return document


def run(args: argparse.Namespace) -> int:
    from perfeng.analysis.diagnose import diagnose
    from perfeng.model.watch import ShapeError, to_builtins
    from perfeng.report.findings import markdown, text
    from perfeng.report.markdown import _cell

    document = _run_document(args.result)
    try:
        findings = [to_builtins(f) for f in diagnose(document, _context(args, document))]
    except ShapeError as exc:
        raise ConfigError(str(exc)) from None
    if args.json:
        json.dump(findings, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.format == "md":
        print("\n".join(markdown(findings, _cell)).strip())  # type: ignore[arg-type]
    else:
        print(text(findings))  # type: ignore[arg-type]
    return int(ExitCode.OK)


def _context(args: argparse.Namespace, document: dict[str, Any]) -> Any:
    from perfeng.analysis.diagnose import context_of

    if not args.slo:
        return context_of(document)
    from perfeng.gates import parse_thresholds
    from perfeng.workflows.assess import slo_context

    return slo_context(parse_thresholds(args.slo), None)
