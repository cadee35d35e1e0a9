"""``perfeng report``: render a result document as HTML, Markdown or JUnit XML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from perfeng.errors import ConfigError, ExitCode, UsageError


def _load(path: str) -> dict[str, Any]:
    from perfeng.model.result import DocumentError, load_document

    try:
        return load_document(path)
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None


def _spectrum(document: dict[str, Any]) -> list[tuple[float, float]]:
    from perfeng.analysis.percentiles import spectrum
    from perfeng.model import histogram as hdr
    from perfeng.model.result import DocumentError

    try:
        histogram = hdr.decode(document["summary"]["histograms"]["all"]["latency"])
    except (KeyError, ValueError, DocumentError) as exc:
        raise ConfigError(f"the result's histograms are damaged: {exc}") from None
    return spectrum(histogram)


def _render(args: argparse.Namespace, documents: list[dict[str, Any]]) -> str:
    if args.format == "md":
        from perfeng.report.markdown import render as render_md

        return render_md(documents[-1])
    if args.format == "junit":
        from perfeng.report.junit import render as render_junit

        return render_junit(documents[-1])
    if len(documents) == 2:
        from perfeng.report.compare_html import render as render_diff

        return render_diff(
            documents[0], documents[1], _spectrum(documents[0]), _spectrum(documents[1])
        )
    from perfeng.report.html import render as render_html

    return render_html(documents[0], _spectrum(documents[0]))


def _capacity_page(path: str) -> str | None:
    """The HTML page of a capacity result, or None when the file is something else."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != "perfeng-capacity":
        return None
    from perfeng.report.capacity_html import render_find

    return render_find(data)


def _assessment_page(path: str) -> str | None:
    """The HTML page of an assessment (or of the demo), or None for other files."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    from perfeng.model.assessment import FORMAT, read_assessment
    from perfeng.model.watch import ShapeError

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        read_assessment(data, path)
    except ShapeError as exc:
        raise ConfigError(str(exc)) from None
    from perfeng.report.assessment_html import render

    return render(data)


def _page_report(path: str, fmt: str) -> str | None:
    """A page document (perfeng page) rendered, or None for other files."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != "perfeng-page":
        return None
    from perfeng.model.page import read_page
    from perfeng.model.watch import ShapeError

    try:
        read_page(data, path)
    except ShapeError as exc:
        raise ConfigError(str(exc)) from None
    if fmt == "junit":
        from perfeng.report.junit import render as junit

        return junit(data)
    if fmt == "md":
        from perfeng.report.page_text import render as text

        return "```\n" + text(data) + "```\n"
    from perfeng.report.page_html import render

    return render(data)


def run(args: argparse.Namespace) -> int:
    page = _page_report(args.inputs[0], args.format) if len(args.inputs) == 1 else None
    if page is not None:
        if args.output or args.format == "html":
            return _write(args.output or "report.html", page)
        sys.stdout.write(page)
        return int(ExitCode.OK)
    page = _assessment_page(args.inputs[0]) if len(args.inputs) == 1 else None
    if page is not None:
        if args.format != "html":
            raise UsageError("an assessment is rendered as HTML; use perfeng diagnose for text")
        return _write(args.output or "report.html", page, getattr(args, "quiet", False))
    page = _capacity_page(args.inputs[0]) if len(args.inputs) == 1 else None
    if page is not None and args.format == "html":
        return _write(args.output or "capacity.html", page)
    if len(args.inputs) > 2:
        raise UsageError("give one result, or two (base and head) to compare")
    if len(args.inputs) == 2 and args.format != "html":
        raise UsageError("comparing two runs is only in the HTML report")
    documents = [_load(path) for path in args.inputs]
    text = _render(args, documents)
    output = args.output or ("report.html" if args.format == "html" else None)
    if output:
        return _write(output, text)
    sys.stdout.write(text)
    return int(ExitCode.OK)


def _write(output: str, text: str, quiet: bool = False) -> int:
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    if not quiet:
        print(f"report written to {output}")
    return int(ExitCode.OK)
