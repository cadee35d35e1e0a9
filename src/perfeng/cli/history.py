"""``perfeng history``: add results to the history database, list, show and export them."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from perfeng.errors import ConfigError, ExitCode, UsageError

EXPORT_COLUMNS = (
    "result_id",
    "created_utc",
    "git_commit",
    "branch",
    "host",
    "kind",
    "name",
    "stat",
    "value",
)


def parse_tags(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (``--tag``) as a dict; ``UsageError`` for anything else."""
    tags: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"invalid --tag {item!r}: give KEY=VALUE, e.g. --tag env=ci")
        tags[key.strip()] = value
    return tags


def run(args: argparse.Namespace) -> int:
    handlers = {"add": _add, "list": _list, "show": _show, "export": _export}
    if args.history_command is None:
        raise UsageError("history: give a command: add, list, show or export")
    return handlers[args.history_command](args)


def _open(args: argparse.Namespace, *, reading: bool = True) -> Any:
    from perfeng.store import open_store

    return open_store(args.store, must_exist=reading)


def read_document(path: str) -> dict[str, Any]:
    """A perfeng document (run, bench or capacity) from a file; ``ConfigError`` otherwise
    (also for NaN or an infinity in it, which the store refuses)."""
    from perfeng.model.result import DocumentError, read_json
    from perfeng.store.documents import check_storable

    try:
        document = read_json(path)
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None
    check_storable(document, path)
    return document  # type: ignore[no-any-return]


def _add(args: argparse.Namespace) -> int:
    tags = parse_tags(args.tag)
    # Every file is checked before any is stored, and all are stored in one transaction: a
    # bad file, or a database failure halfway, adds nothing.
    loaded = [read_document(path) for path in args.files]
    with _open(args, reading=False) as store:
        ids = store.add_many(loaded, tags)
        for path, result_id in zip(args.files, ids, strict=True):
            print(f"added {path} as #{result_id} to {store.url}")
    return int(ExitCode.OK)


def _in_range(what: str, value: int) -> None:
    from perfeng.store.database import MAX_INT64

    if not 1 <= value <= MAX_INT64:
        raise UsageError(f"{what} must be a whole number from 1 to {MAX_INT64}, not {value}")


def _list(args: argparse.Namespace) -> int:
    _in_range("--limit", args.limit)
    with _open(args) as store:
        entries = store.list(limit=args.limit, kind=args.kind, branch=args.branch)
    if args.json:
        json.dump([_entry_dict(e) for e in entries], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return int(ExitCode.OK)
    if not entries:
        print("no results stored yet")
        return int(ExitCode.OK)
    header = ("ID", "KIND", "CREATED (UTC)", "COMMIT", "BRANCH", "HOST", "NAMES", "TAGS")
    rows = [header, *(_entry_row(e) for e in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return int(ExitCode.OK)


def _entry_dict(entry: Any) -> dict[str, Any]:
    import dataclasses

    data = dataclasses.asdict(entry)
    data["names"] = list(entry.names)
    return data


def _cell(text: str | None) -> str:
    """A table cell: "-" for nothing, control characters escaped so it stays on its line."""
    from perfeng.store.text import printable

    return printable(text) if text else "-"


def _short(text: str | None, width: int) -> str:
    text = _cell(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def _tags_text(tags: dict[str, str]) -> str:
    return " ".join(f"{_cell(k)}={_cell(v) if v else ''}" for k, v in tags.items())


def _entry_row(entry: Any) -> tuple[str, ...]:
    return (
        str(entry.id),
        _short(entry.kind, 10),
        entry.created_utc[:19].replace("T", " "),
        _cell(entry.git_commit)[:10],
        _short(entry.branch, 24),
        _short(entry.host, 24),
        _short(", ".join(entry.names), 40),
        _tags_text(entry.tags) or "-",
    )


def _show(args: argparse.Namespace) -> int:
    _in_range("the result id", args.id)
    with _open(args) as store:
        document = store.get(args.id)
        entry = store.entry(args.id)
    if args.json:
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(describe(entry, document))
    return int(ExitCode.OK)


def describe(entry: Any, document: dict[str, Any]) -> str:
    """A short human summary of a stored result: where it comes from and its metrics.

    Control characters in names and labels are escaped, so each stays on its line."""
    from perfeng.store.metrics import flatten

    lines = [
        f"#{entry.id} {_cell(entry.kind)}, added {entry.created_utc}",
        f"  commit {_cell(entry.git_commit)}  branch {_cell(entry.branch)}",
        f"  host {_cell(entry.host)}  user {_cell(entry.user)}",
    ]
    if entry.tags:
        lines.append("  tags " + _tags_text(entry.tags))
    by_name: dict[str, list[str]] = {}
    for name, stat, value in flatten(document):
        by_name.setdefault(_cell(name), []).append(f"{stat} {value:.6g}")
    for name, stats in by_name.items():
        lines.append(f"  {name}: " + ", ".join(stats))
    if entry.kind == "run":
        lines.append("  (latency statistics in ms, throughput in requests/s)")
    return "\n".join(lines) + "\n"


def _export(args: argparse.Namespace) -> int:
    from perfeng.store.database import check_stat

    check_stat(args.stat)  # before the database is opened (or created)
    with _open(args) as store:
        rows = store.metric_rows(name=args.name, stat=args.stat, kind=args.kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, column) for column in EXPORT_COLUMNS])
    if args.output in (None, "-"):
        sys.stdout.write(buffer.getvalue())
    else:
        _write_text(args.output, buffer.getvalue(), sys.stderr)
    return int(ExitCode.OK)


def _write_text(path: str, text: str, log: TextIO) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    log.write(f"wrote {text.count(chr(10)) - 1} metric rows to {path}\n")


def check_save_flags(args: argparse.Namespace) -> None:
    """Bad --save flags of ``load`` and ``bench`` fail before the measurement, not after it."""
    if not args.save:
        if args.store or args.tag:
            raise UsageError("--store and --tag go with --save")
        return
    from perfeng.store import resolve_url

    resolve_url(args.store)
    parse_tags(args.tag)


def save_run(document: dict[str, Any], store_url: str | None, tag_items: list[str]) -> int:
    """``perfeng load --save`` and ``bench --save``: append a document to the store; its id."""
    from perfeng.store import open_store

    with open_store(store_url) as store:
        result_id: int = store.add(document, parse_tags(tag_items))
        print(f"saved the result as #{result_id} in {store.url}", file=sys.stderr)
    return result_id
