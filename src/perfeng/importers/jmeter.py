"""JMeter JTL files, CSV or XML -> ``Samples`` (one per sample: exact histograms).

Columns (CSV header) and attributes (XML): ``timeStamp``/``ts`` (epoch ms when the sample
started: JMeter's default ``sampleresult.timestamp.start=true``), ``elapsed``/``t`` (ms),
``label``/``lb``, ``responseCode``/``rc``, ``success``/``s``, ``bytes``/``by``,
``sentBytes``/``sby`` (JMeter 3.1+), ``Latency``/``lt`` (to the first byte, connect included)
and ``Connect``/``ct`` (JMeter 2.13+ when saved). A CSV without a header line is read only in
JMeter 2.13's default column order (12 columns). An XML file whose closing
``</testResults>`` is missing (JMeter stopped before closing it) is read up to its last
whole sample, and a note says so; a sample cut in the middle is refused.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import cast

from perfeng.importers import classes
from perfeng.importers.parsed import ParseError, Request, Samples, Source, check_line_end

_NS_PER_MS = 1_000_000
# JMeter 2.13's default CSV columns, written without a header unless print_field_names=true
DEFAULT_213 = ["timeStamp", "elapsed", "label", "responseCode", "responseMessage",
               "threadName", "dataType", "success", "bytes", "grpThreads", "allThreads",
               "Latency"]  # fmt: skip
_REQUIRED = ("timeStamp", "elapsed", "label", "success")
_COLUMNS = (*_REQUIRED, "responseCode", "responseMessage", "failureMessage", "bytes",
            "sentBytes", "Latency", "Connect")  # fmt: skip
_XML_NAMES = {"ts": "timeStamp", "t": "elapsed", "lb": "label", "rc": "responseCode",
              "rm": "responseMessage", "s": "success", "by": "bytes", "sby": "sentBytes",
              "lt": "Latency", "ct": "Connect"}  # fmt: skip
_SAMPLE_TAGS = ("httpSample", "sample")
_XML_VERSIONS = ("1.1", "1.2")
_NOTES = (
    "per-sample file: histograms, per-name figures and the per-second series are exact"
    " (JMeter records milliseconds)",
    "time to first byte is JMeter's Latency less its Connect time; the rest is receive",
)


def looks_like_csv(text: str) -> bool:
    head = text[:200]
    return (
        head.startswith("timeStamp,")
        or head.startswith("timeStamp\t")
        or bool(re.match(r"1\d{12},\d+,", head))
    )


def looks_like_xml(text: str) -> bool:
    return "<testResults" in text[:500]


def parse_csv(text: str) -> Samples:
    if not looks_like_csv(text):
        raise ParseError(
            "not a JMeter CSV JTL: no 'timeStamp' header nor an epoch-ms first field", 1
        )
    check_line_end(text)
    delimiter = "\t" if text.startswith("timeStamp\t") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    notes = list(_NOTES)
    if text.startswith("timeStamp"):
        header = next(rows)
        first_line = 2
    else:
        header = DEFAULT_213
        first_line = 1
        notes.append("no header line: columns read in JMeter 2.13's default order")
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise ParseError(f"JTL header lacks {', '.join(missing)} (unknown JMeter layout)", 1)
    # only the columns read, by position: a dict of every column per row costs twice as much
    wanted = {name: header.index(name) for name in _COLUMNS if name in header}
    requests = []
    for number, row in enumerate(rows, first_line):
        if not row:
            continue
        if len(row) != len(header):
            raise ParseError(
                f"{len(row)} fields where the header has {len(header)} (truncated file?)", number
            )
        requests.append(_request({name: row[i] for name, i in wanted.items()}, number))
    if not requests:
        raise ParseError("JTL without a single sample", first_line)
    if "Connect" not in header:
        notes.append("no Connect column (JMeter before 3.0): no connect phase")
    return Samples(Source("jmeter", "JMeter JTL (CSV)"), tuple(requests), tuple(notes))


def parse_xml(text: str) -> Samples:
    if not looks_like_xml(text):
        raise ParseError("not a JMeter XML JTL: no <testResults> element", 1)
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    try:
        parser.feed(text)
        requests, version = _samples(parser)
        notes = [*_NOTES, *_closing(parser, text, len(requests))]
    except ET.ParseError as exc:
        raise ParseError(f"not well-formed XML: {exc.msg}", exc.position[0]) from None
    if not requests:
        raise ParseError("JTL without a single sample", 1)
    if not any(r.connect_ns >= 0 for r in requests):
        notes.append("no connect times (ct, JMeter 3.0+): no connect phase")
    source = Source("jmeter", "JMeter JTL (XML)", f"JTL {version}" if version else None)
    return Samples(source, tuple(requests), tuple(notes))


def _samples(parser: ET.XMLPullParser[ET.Element]) -> tuple[list[Request], str | None]:
    """The top-level samples read so far (a sample's sub-samples are parts of it)."""
    requests: list[Request] = []
    depth, version = 0, None
    # start/end events only (as asked): each an (event, element) pair
    events = cast("Iterator[tuple[str, object]]", parser.read_events())
    for event, element in events:
        if not isinstance(element, ET.Element):
            continue
        if event == "start":
            depth += 1
            if depth == 1:
                version = element.get("version")
                _check_version(version)
            continue
        depth -= 1
        if depth == 1 and element.tag in _SAMPLE_TAGS:
            fields = {_XML_NAMES.get(k, k): v for k, v in element.attrib.items()}
            requests.append(_request(fields, 0))
            element.clear()
    return requests, version


def _check_version(version: str | None) -> None:
    if version not in _XML_VERSIONS:
        raise ParseError(f"unknown JTL version {version!r} (reads {', '.join(_XML_VERSIONS)})", 2)


def _closing(parser: ET.XMLPullParser[ET.Element], text: str, samples: int) -> list[str]:
    """[] for a whole file; a note when only the closing tag is missing; else the error."""
    try:
        parser.close()
        return []
    except ET.ParseError as exc:
        tail = text.rstrip()
        if not tail.endswith(("/>", "</httpSample>", "</sample>")):
            raise ParseError(
                "the file ends in the middle of a sample (truncated file?)", exc.position[0]
            ) from None
    return [
        f"the file ends without </testResults> (JMeter stopped before closing it): the"
        f" {samples} whole samples before the end were read"
    ]


def _request(fields: dict[str, str], line: int) -> Request:
    try:
        start = int(fields["timeStamp"]) * _NS_PER_MS
        elapsed = int(fields["elapsed"]) * _NS_PER_MS
        latency = int(fields.get("Latency") or 0) * _NS_PER_MS
        connect = int(fields.get("Connect") or -1)
        bytes_received = int(fields.get("bytes") or 0)
        bytes_sent = int(fields.get("sentBytes") or 0)
    except (KeyError, ValueError) as exc:
        raise ParseError(f"a sample with a missing or non-numeric field: {exc}", line) from None
    if elapsed < 0 or start < 0:
        raise ParseError("a sample with a negative time or elapsed", line)
    code = fields.get("responseCode", "")
    status = int(code) if code.isdigit() else 0
    error = None
    if fields["success"].strip().lower() != "true":
        text = f"{code} {fields.get('responseMessage', '')} {fields.get('failureMessage', '')}"
        error = classes.of_failure(status, text)
    connect_ns = connect * _NS_PER_MS if connect > 0 else -1
    answered = status > 0
    return Request(
        name=fields["label"],
        start_ns=start,
        duration_ns=elapsed,
        status=status,
        error=error,
        bytes_sent=bytes_sent,
        bytes_received=bytes_received,
        connect_ns=connect_ns,
        ttfb_ns=max(latency - max(connect_ns, 0), 0) if answered else -1,
        receive_ns=max(elapsed - latency, 0) if answered else -1,
    )
