"""``perfeng compare base.json head.json``: is head slower than base, name by name?"""

from __future__ import annotations

import argparse
import json
from typing import Any

from perfeng.errors import ConfigError, ExitCode, UsageError
from perfeng.units import parse_fraction

_KIND_OF_FORMAT = {"perfeng-run": "run", "perfeng-bench": "bench", "perfeng-page": "page"}
_COMMON = {"bench": "benchmark name", "page": "figure"}
_DESCRIBED = {"run": "a load-test result", "bench": "a benchmark result", "page": "a page result"}


def load_comparable(path: str, command: str = "compare") -> tuple[str, dict[str, Any]]:
    """The document's kind (``run`` or ``bench``) and the checked document."""
    from perfeng.model import result
    from perfeng.model.result import DocumentError

    document = result.read_json(path)
    kind = _KIND_OF_FORMAT.get(str(document.get("format"))) if isinstance(document, dict) else None
    if kind == "bench":
        from perfeng.model import bench

        bench.check_bench_document(document, path)
    elif kind == "run":
        result.check_document(document, path)
    elif kind == "page":
        from perfeng.model.page import read_page
        from perfeng.model.watch import ShapeError

        try:
            read_page(document, path)
        except ShapeError as exc:
            raise DocumentError(str(exc)) from None
    elif isinstance(document, dict) and document.get("format") == "perfeng-capacity":
        raise ConfigError(
            f"{path}: a capacity result; {command} takes load-test or benchmark results"
        )
    else:
        raise DocumentError(f"{path}: not a perfeng load-test, benchmark or page result")
    return str(kind), document


def _load_pair(base_path: str, head_path: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    from perfeng.model.result import DocumentError

    try:
        base_kind, base = load_comparable(base_path)
        head_kind, head = load_comparable(head_path)
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None
    if base_kind != head_kind:
        raise ConfigError(
            f"{base_path} is {_DESCRIBED[base_kind]} but {head_path} is {_DESCRIBED[head_kind]}:"
            " compare two of the same kind"
        )
    return base_kind, base, head


def _alpha(text: str) -> float:
    alpha = parse_fraction(text, "--alpha")
    if not 0 < alpha < 1:
        raise UsageError(f"invalid --alpha {text!r}: must be between 0 and 1, e.g. 0.01")
    return alpha


def _min_effect(given: str | None, kind: str, base: dict[str, Any]) -> str:
    """--min-effect as given; else 1 % for counted benchmarks (they have no noise to hide
    a small change in) and 5 % for everything timed."""
    if given is not None:
        return given
    from perfeng.analysis.counted_compare import is_counted

    return "1%" if kind == "bench" and is_counted(base) else "5%"


def run(args: argparse.Namespace) -> int:
    from perfeng.analysis import result_compare

    alpha = _alpha(args.alpha)
    kind, base, head = _load_pair(args.base, args.head)
    min_effect = parse_fraction(_min_effect(args.min_effect, kind, base), "--min-effect", high=10.0)
    compare = {
        "bench": result_compare.compare_benchmarks,
        "page": result_compare.compare_pages,
    }.get(kind, result_compare.compare_runs)
    try:
        comparison = compare(base, head, min_effect=min_effect, alpha=alpha)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"a result is incomplete or inconsistent: {exc}") from None
    if not comparison.rows and not comparison.failed_in_head:
        raise ConfigError(
            f"{args.base} and {args.head} have no"
            f" {_COMMON.get(kind, 'request name')} in common with enough values to compare"
        )
    print(_render(comparison, args.json, args.format), end="")
    if comparison.worse:
        return int(ExitCode.THRESHOLD_FAILED)
    return int(ExitCode.INCONCLUSIVE if comparison.inconclusive else ExitCode.OK)


def _render(comparison: Any, as_json: bool, form: str) -> str:
    from perfeng.analysis.result_compare import as_dict
    from perfeng.report import comparison as renderer

    if as_json:
        return json.dumps(as_dict(comparison), indent=2) + "\n"
    if form == "md":
        return renderer.render_markdown(comparison)
    return renderer.render_text(comparison)
