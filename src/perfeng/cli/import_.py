"""``perfeng import``: another tool's results as a perfeng run document (docs/import.md)."""

from __future__ import annotations

import argparse
import sys

from perfeng.errors import ExitCode


def run(args: argparse.Namespace) -> int:
    from perfeng.workflows.importing import import_file
    from perfeng.workflows.output import check_writable, write_json

    check_writable(args.out)
    imported = import_file(args.file, args.source, sys.argv[1:])
    write_json(args.out, imported.document)
    summary = imported.document["summary"]
    picked = " (picked by --from auto)" if args.source == "auto" else ""
    print(f"read {args.file} as {imported.format.label}{picked}")
    print(
        f"{summary['requests']:,} requests, {summary['errors']:,} errors, "
        f"{len(summary['by_name'])} names, {len(summary['timeseries'])} seconds -> {args.out}"
    )
    for note in imported.document["notes"]:
        print(f"note: {note}")
    return int(ExitCode.OK)
