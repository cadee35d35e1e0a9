"""CSV data files: rows of values for the ``${variable}`` placeholders in requests.

The first row names the columns; every later row is one set of values. Column names must be
valid placeholder names: a column that ``${...}`` cannot name is of no use, and the rule
catches most files that lack a header row (a first row such as ``alice@example.com,secret`` is
data, not names).
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from perfeng.errors import ConfigError
from perfeng.scenario.model import DataSource

# The name part of model._VARIABLE: a column is usable only if ``${column}`` can name it.
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ORDERS: dict[str, Literal["cycle", "random"]] = {"cycle": "cycle", "random": "random"}


def load_csv(path: Path, order: str) -> DataSource:
    """Read ``path`` (UTF-8, header row first) into a ``DataSource`` handed out in ``order``."""
    if order not in _ORDERS:
        raise ConfigError(f"{path}: order must be 'cycle' or 'random', got {order!r}")
    try:
        # utf-8-sig: spreadsheets often save CSV with a byte-order mark before the header.
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = _read_rows(path, csv.reader(file, strict=True))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read data file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: data file is not UTF-8 text") from None
    except csv.Error as error:
        raise ConfigError(f"{path}: invalid CSV: {error}") from None
    return DataSource(str(path), rows, _ORDERS[order])


def _read_rows(path: Path, reader: Iterator[list[str]]) -> tuple[dict[str, str], ...]:
    records = _non_blank(reader)
    first = next(records, None)
    if first is None:
        raise ConfigError(
            f"{path}: data file is empty; its first row must name the columns (e.g. user,password)"
        )
    columns = _columns(path, first[1])
    rows = []
    for row_number, record in records:
        if len(record) != len(columns):
            raise ConfigError(
                f"{path}: row {row_number}: {len(record)} values for {len(columns)} columns "
                f"({', '.join(columns)})"
            )
        rows.append(dict(zip(columns, record, strict=True)))
    if not rows:
        raise ConfigError(f"{path}: data file has a header row but no data rows")
    return tuple(rows)


def _non_blank(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Records numbered from 1 (the header), skipping blank lines (a trailing newline, say).

    Numbers count records, not lines, since a quoted value may span lines."""
    for number, record in enumerate(reader, start=1):
        if any(field.strip() for field in record):
            yield number, record


def _columns(path: Path, header: list[str]) -> list[str]:
    columns = [name.strip() for name in header]
    bad = [name for name in columns if not _COLUMN.fullmatch(name)]
    if bad:
        raise ConfigError(
            f"{path}: the first row must name the columns; {', '.join(map(repr, bad))} "
            "is not a valid name (letters, digits and _, not starting with a digit)"
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise ConfigError(f"{path}: column {', '.join(map(repr, repeated))} appears twice")
    return columns


class RowPicker:
    """Hands data rows to iterations: in file order, round and round, or at random.

    The rows are shared, not copied (this runs once per iteration); callers must not change
    them.
    """

    def __init__(self, source: DataSource, rng: random.Random) -> None:
        if not source.rows:
            raise ValueError(f"{source.path}: no rows to pick from")
        self._rows = source.rows
        self._random = source.order == "random"
        self._rng = rng
        self._next = 0

    def next(self) -> dict[str, str]:
        if self._random:
            return self._rng.choice(self._rows)
        row = self._rows[self._next]
        self._next = (self._next + 1) % len(self._rows)
        return row
