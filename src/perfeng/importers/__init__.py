"""Other load tools' results -> perfeng run documents (``perfeng import``).

One sans-IO module per tool (text in, ``Samples`` or ``Summaries`` out); ``sniff`` says which
format a text is in; ``build`` turns the parsed result into the measurements of a document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from perfeng.importers import hey, jmeter, k6, locust, wrk
from perfeng.importers.parsed import ParseError, Samples, Summaries

TOOLS = ("k6", "locust", "jmeter", "wrk", "hey")


@dataclass(frozen=True)
class Format:
    """One file format a tool writes: how to recognise it and how to read it."""

    tool: str
    label: str
    looks_like: Callable[[str], bool]
    parse: Callable[[str], Samples | Summaries]


def _locust_stats(text: str) -> bool:
    return locust.kind_of(text) is not None


FORMATS = (
    Format("k6", "k6 --out json points", k6.looks_like_points, k6.parse_points),
    Format("k6", "k6 end-of-test summary JSON", k6.looks_like_summary, k6.parse_summary),
    Format("jmeter", "JMeter JTL (XML)", jmeter.looks_like_xml, jmeter.parse_xml),
    Format("jmeter", "JMeter JTL (CSV)", jmeter.looks_like_csv, jmeter.parse_csv),
    Format("hey", "hey -o csv", hey.looks_like_csv, hey.parse_csv),
    Format("hey", "hey text output", hey.looks_like_text, hey.parse_text),
    Format("wrk", "wrk --latency text", wrk.looks_like, wrk.parse),
    # Locust's CSVs come as a set: the workflow reads the stats file and its siblings
    Format("locust", "Locust --csv files", _locust_stats, locust.parse),
)


def sniff(text: str) -> Format | None:
    """The format whose signature (header line, JSON keys, first lines) the text has."""
    return next((f for f in FORMATS if f.looks_like(text)), None)


def formats_of(tool: str) -> tuple[Format, ...]:
    return tuple(f for f in FORMATS if f.tool == tool)


__all__ = ["FORMATS", "TOOLS", "Format", "ParseError", "formats_of", "sniff"]
