"""``perfeng merge``: one exact result from several (for distributed runs)."""

from __future__ import annotations

import argparse
import sys

from perfeng.errors import ConfigError, ExitCode


def run(args: argparse.Namespace) -> int:
    from perfeng.gates import evaluate_all, parse_thresholds
    from perfeng.model.merge import merge_documents
    from perfeng.model.result import DocumentError, load_document
    from perfeng.workflows.metadata import collect
    from perfeng.workflows.output import write_json

    thresholds = parse_thresholds(args.threshold)
    try:
        documents = [load_document(path) for path in args.inputs]
        meta = [d["metadata"] for d in documents]
        merged = merge_documents(
            documents,
            collect(
                min(m["start_epoch_s"] for m in meta),
                max(m["end_epoch_s"] for m in meta),
                sys.argv[1:],
            ),
        )
    except (DocumentError, KeyError, TypeError) as exc:
        raise ConfigError(
            str(exc) if isinstance(exc, DocumentError) else f"a result is incomplete: {exc}"
        ) from None
    verdicts = evaluate_all(thresholds, merged["summary"])
    merged["summary"]["thresholds"] = [v.to_dict() for v in verdicts]
    write_json(args.out, merged)
    summary = merged["summary"]
    print(
        f"merged {len(documents)} results: {summary['requests']:,} requests, "
        f"{summary['errors']:,} errors -> {args.out}"
    )
    for verdict in verdicts:
        print(("✓ " if verdict.passed else "✗ ") + verdict.describe())
    failed = any(not v.passed for v in verdicts)
    return int(ExitCode.THRESHOLD_FAILED if failed else ExitCode.OK)
